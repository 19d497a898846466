import type { Sql } from '../../src/db/client.ts';
import type { RunRequest, SyncOutcome, SyncRunner } from '../../src/sync/scheduler/scheduler.ts';

/**
 * A stand-in for the sync engine that takes the engine's real lock: a `sync_runs` row in status `running`,
 * which the partial unique index `sync_runs_one_running_per_source` allows once per source. It "works" for
 * `durationMs` (writing a marker row inside one transaction, as the engine applies in one), then succeeds.
 * An aborted signal makes it fail the run instead, unless `ignoreAbort` is set.
 */
export function createLockRunner(
  sql: Sql,
  options: {
    durationMs: number;
    ignoreAbort?: boolean;
    failWith?: string;
    onStart?: (request: RunRequest, runId: number) => void;
  },
): SyncRunner & { calls: RunRequest[] } {
  const calls: RunRequest[] = [];
  const runner = async (request: RunRequest): Promise<SyncOutcome> => {
    calls.push(request);
    let runId: number;
    try {
      const [row] = await sql<{ id: string }[]>`
        insert into sync_runs (source_id, trigger, requested_by, mode, status)
        values (${request.sourceId}, ${request.trigger}, ${request.requestedBy ?? null}, 'delta', 'running')
        returning id`;
      runId = Number(row.id);
    } catch (error) {
      if ((error as { code?: string }).code !== '23505') throw error;
      const [row] = await sql<{ id: string; started_at: Date; trigger: RunRequest['trigger']; requested_by: string }[]>`
        select id, started_at, trigger, requested_by from sync_runs
        where source_id = ${request.sourceId} and status = 'running'`;
      return {
        status: 'already_running',
        running: {
          runId: Number(row.id),
          mode: null,
          startedAt: row.started_at,
          trigger: row.trigger,
          requestedBy: row.requested_by,
        },
      };
    }
    options.onStart?.(request, runId);
    const aborted = await work(options.durationMs, options.ignoreAbort ? undefined : request.signal);
    if (aborted || options.failWith) {
      await sql`update sync_runs set status = 'failed', finished_at = clock_timestamp(),
        error_code = ${aborted ? 'cancelled' : options.failWith!} where id = ${runId}`;
      return { status: 'failed', runId, errorCode: aborted ? 'cancelled' : options.failWith };
    }
    // Applies only while the run is still its own: a run failed behind its back (a shutdown) changes nothing.
    const applied = await sql.begin(async (tx) => {
      const [mine] = await tx`update sync_runs set status = 'succeeded', finished_at = clock_timestamp()
        where id = ${runId} and status = 'running' returning id`;
      if (mine) await tx`insert into sync_runs_applied (run_id) values (${runId})`;
      return Boolean(mine);
    });
    if (!applied) return { status: 'failed', runId, errorCode: 'interrupted' };
    return { status: 'succeeded', runId };
  };
  return Object.assign(runner, { calls });
}

/** Table the lock runner "applies" into, so a test can see that a run's effects landed whole or not at all. */
export async function createAppliedTable(sql: Sql): Promise<void> {
  await sql`create table if not exists sync_runs_applied (run_id bigint primary key references sync_runs(id))`;
}

function work(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(true);
    const timer = setTimeout(() => resolve(false), ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export async function insertSource(sql: Sql, fields: { status?: string; syncEnabled?: boolean } = {}): Promise<string> {
  const [row] = await sql<{ id: string }[]>`
    insert into sources (slack_team_id, tenant_id, status, sync_enabled)
    values ('T0TEST', 'contoso', ${fields.status ?? 'active'}, ${fields.syncEnabled ?? false})
    returning id`;
  return row.id;
}
