import type { Sql } from '../../db/client.ts';
import type { RunTrigger, SourceStatus } from '../../db/schema.ts';

/** The run a caller is told about when a sync is already under way. `runId` is null while it waits to start. */
export interface SyncInProgress {
  runId: number | null;
  startedAt: Date;
  trigger: RunTrigger;
  requestedBy: string | null;
}

export interface SourceState {
  status: SourceStatus;
  syncEnabled: boolean;
}

/** Error codes the scheduler writes into `sync_runs` (the engine writes the others). */
export const SKIPPED_NEEDS_REAUTH = 'skipped_needs_reauth';
export const INTERRUPTED_BY_SHUTDOWN = 'interrupted';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Source ids are uuids; anything else names no source (and would be a type error in a query). */
export const isSourceId = (sourceId: string) => UUID.test(sourceId);

export async function loadSourceState(sql: Sql, sourceId: string): Promise<SourceState | undefined> {
  if (!isSourceId(sourceId)) return undefined;
  const [row] = await sql<{ status: SourceStatus; sync_enabled: boolean }[]>`
    select status, sync_enabled from sources where id = ${sourceId}`;
  return row && { status: row.status, syncEnabled: row.sync_enabled };
}

/** A run whose heartbeat is older than `staleAfterMs` is dead; the engine fails it when the next run starts. */
export async function findRunningRun(
  sql: Sql,
  sourceId: string,
  staleAfterMs: number,
): Promise<SyncInProgress | undefined> {
  const [row] = await sql<{ id: string; started_at: Date; trigger: RunTrigger; requested_by: string | null }[]>`
    select id, started_at, trigger, requested_by from sync_runs
    where source_id = ${sourceId} and status = 'running'
      and heartbeat_at > now() - ${staleAfterMs} * interval '1 millisecond'`;
  return (
    row && { runId: Number(row.id), startedAt: row.started_at, trigger: row.trigger, requestedBy: row.requested_by }
  );
}

const REAUTH_MESSAGE =
  'Skipped: Microsoft authorization for this source was lost, so the sync did not contact Entra ID. ' +
  'Reauthorize to resume syncing; the directory keeps the data of the last successful sync.';

/**
 * Records that a run was skipped because the source needs reauthorization, so `/aad status` shows why
 * nothing is syncing. A streak of skips is one row (its `details.skipped` counts them, `finished_at` is the
 * latest) rather than one row an hour.
 */
export async function recordSkippedRun(
  sql: Sql,
  run: { sourceId: string; trigger: RunTrigger; requestedBy?: string },
): Promise<number> {
  const [updated] = await sql<{ id: string }[]>`
    update sync_runs set finished_at = now(), heartbeat_at = now(),
      details = details || jsonb_build_object('skipped', coalesce((details->>'skipped')::int, 1) + 1)
    where id = (select id from sync_runs where source_id = ${run.sourceId} order by started_at desc, id desc limit 1)
      and error_code = ${SKIPPED_NEEDS_REAUTH}
    returning id`;
  if (updated) return Number(updated.id);
  const [inserted] = await sql<{ id: string }[]>`
    insert into sync_runs (source_id, trigger, requested_by, mode, status, finished_at, error_code, error_message, details)
    select id, ${run.trigger}, ${run.requestedBy ?? null},
      case when users_delta_link is null then 'full' else 'delta' end,
      'failed', now(), ${SKIPPED_NEEDS_REAUTH}, ${REAUTH_MESSAGE}, '{"skipped": 1}'::jsonb
    from sources where id = ${run.sourceId}
    returning id`;
  return Number(inserted.id);
}

/**
 * Fails the run a shutdown left behind. The update waits for any transaction still holding the row, so a
 * run whose apply committed first keeps its own status; everything else the engine staged is discarded.
 */
export async function failInterruptedRun(sql: Sql, sourceId: string, dispatchedAt: Date): Promise<number | undefined> {
  const [row] = await sql<{ id: string }[]>`
    update sync_runs set status = 'failed', finished_at = now(), error_code = ${INTERRUPTED_BY_SHUTDOWN},
      error_message = 'The app shut down before this sync finished. Nothing from it was applied; the next sync starts afresh.'
    where source_id = ${sourceId} and status = 'running' and started_at >= ${dispatchedAt}
    returning id`;
  return row ? Number(row.id) : undefined;
}
