import { desc, eq } from 'drizzle-orm';
import type { Db, Sql } from '../db/client.ts';
import { type RunMode, type RunStatus, type RunTrigger, type SyncRun, syncRuns } from '../db/schema.ts';
import type { IgnoredReason } from './ignored.ts';

/**
 * Run records in `sync_runs`. The partial unique index `sync_runs_one_running_per_source` is the lock:
 * whoever inserts the 'running' row for a source runs it, on any replica. A running row whose heartbeat
 * went quiet belongs to a process that stopped; the next starter fails it and takes over.
 */

export interface RunCounts {
  read: number;
  created: number;
  updated: number;
  unchanged: number;
  removed: number;
  ignored: number;
  photos: number;
}

export const NO_COUNTS: RunCounts = {
  read: 0,
  created: 0,
  updated: 0,
  unchanged: 0,
  removed: 0,
  ignored: 0,
  photos: 0,
};

export interface RunningRun {
  runId: number;
  startedAt: Date;
  heartbeatAt: Date;
  trigger: RunTrigger;
  requestedBy: string | null;
  mode: RunMode;
}

export type StartResult =
  | { started: true; runId: number; startedAt: Date; tookOverRunId?: number }
  | { started: false; running: RunningRun };

/** A scheduled run of a source whose syncing was disabled (its first write found out). */
export class SourceDisabledError extends Error {
  override name = 'SourceDisabledError';
}

const LOCK_INDEX = 'sync_runs_one_running_per_source';

function isLockConflict(error: unknown): boolean {
  const e = error as { code?: string; constraint_name?: string };
  return e?.code === '23505' && e.constraint_name === LOCK_INDEX;
}

export async function startRun(
  sql: Sql,
  input: { sourceId: string; trigger: RunTrigger; requestedBy: string | null; mode: RunMode },
  staleAfterMs: number,
): Promise<StartResult> {
  let tookOverRunId: number | undefined;
  // Each pass either starts, reports the live run, or clears a dead one; a dead one is cleared at most once.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      // A scheduled run checks that syncing is still enabled in this very write: `/aad disable` answered
      // before it means no run, however close the tick was.
      const [row] = await sql`
        insert into sync_runs (source_id, trigger, requested_by, mode, status)
        select ${input.sourceId}, ${input.trigger}, ${input.requestedBy}, ${input.mode}, 'running'
        where ${input.trigger} <> 'schedule' or exists (select 1 from sources where id = ${input.sourceId} and sync_enabled)
        returning id, started_at`;
      if (!row)
        throw new SourceDisabledError(`syncing source ${input.sourceId} is disabled: the scheduled run did not start`);
      return { started: true, runId: Number(row.id), startedAt: row.started_at, tookOverRunId };
    } catch (error) {
      if (!isLockConflict(error)) throw error;
    }
    const [running] = await sql`
      select id, started_at, heartbeat_at, trigger, requested_by, mode,
             heartbeat_at < now() - make_interval(secs => ${staleAfterMs / 1000}) as stale
      from sync_runs where source_id = ${input.sourceId} and status = 'running'`;
    if (!running) continue;
    if (!running.stale) {
      return {
        started: false,
        running: {
          runId: Number(running.id),
          startedAt: running.started_at,
          heartbeatAt: running.heartbeat_at,
          trigger: running.trigger,
          requestedBy: running.requested_by,
          mode: running.mode,
        },
      };
    }
    const cleared = await sql`
      update sync_runs set status = 'failed', finished_at = now(), error_code = 'stale',
        error_message = ${`The process running this sync stopped (last sign of life ${running.heartbeat_at.toISOString()}); nothing it read was applied.`}
      where id = ${running.id} and status = 'running'
        and heartbeat_at < now() - make_interval(secs => ${staleAfterMs / 1000})`;
    if (cleared.count === 1) tookOverRunId = Number(running.id);
  }
  throw new Error(`could not start a sync run for source ${input.sourceId}: the run lock kept changing hands`);
}

/**
 * Proves the run is alive every `everyMs` and publishes how far it got. When the row is no longer
 * 'running' (another process judged it dead), `onLost` fires so the run stops before applying.
 */
export function startHeartbeat(
  sql: Sql,
  runId: number,
  everyMs: number,
  read: () => number,
  onLost: () => void,
  onError: (error: unknown) => void,
): () => void {
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      const result = await sql`
        update sync_runs set heartbeat_at = now(), read_count = ${read()} where id = ${runId} and status = 'running'`;
      if (result.count === 0) onLost();
    } catch (error) {
      onError(error);
    } finally {
      busy = false;
    }
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

export interface RunEnd {
  status: Exclude<RunStatus, 'running'>;
  mode: RunMode;
  counts: RunCounts;
  ignoredExamples: IgnoredReason[];
  details: Record<string, unknown>;
  errorCode?: string;
  errorMessage?: string;
}

/**
 * Closes a running run; false when it was not running any more (taken over as stale). Runs inside the run's
 * own transaction, where now() is the time the run began: the clock says when it ended.
 */
export async function recordRunEnd(sql: Sql, runId: number, end: RunEnd): Promise<boolean> {
  const c = end.counts;
  const result = await sql`
    update sync_runs set status = ${end.status}, mode = ${end.mode}, finished_at = clock_timestamp(),
      heartbeat_at = clock_timestamp(),
      read_count = ${c.read}, created_count = ${c.created}, updated_count = ${c.updated},
      unchanged_count = ${c.unchanged}, removed_count = ${c.removed}, ignored_count = ${c.ignored},
      photos_count = ${c.photos}, ignored_examples = ${sql.json(end.ignoredExamples as never)},
      details = details || ${sql.json(end.details as never)},
      error_code = ${end.errorCode ?? null}, error_message = ${end.errorMessage ?? null}
    where id = ${runId} and status = 'running'`;
  return result.count === 1;
}

export async function getRunStatus(db: Db, runId: number): Promise<SyncRun | undefined> {
  const [run] = await db.select().from(syncRuns).where(eq(syncRuns.id, runId));
  return run;
}

/** The source's latest runs, newest first. */
export async function listRecentRuns(db: Db, sourceId: string, limit = 10): Promise<SyncRun[]> {
  return db
    .select()
    .from(syncRuns)
    .where(eq(syncRuns.sourceId, sourceId))
    .orderBy(desc(syncRuns.startedAt), desc(syncRuns.id))
    .limit(limit);
}
