import { desc, eq } from 'drizzle-orm';
import type { Db, Sql } from '../db/client.ts';
import { type RunMode, type RunStatus, type RunTrigger, type SyncRun, syncRuns } from '../db/schema.ts';
import type { IgnoredReason } from './ignored.ts';
import { type RunLease, runLockHeld, takeRunLease } from './run-lease.ts';

/**
 * Run records in `sync_runs`: every write to that table is here (the engine's, the scheduler's, the
 * held-run answers). The partial unique index `sync_runs_one_running_per_source` is the lock:
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

/**
 * The run a caller is told about when a sync is already under way, from the engine's lock or the
 * scheduler's queue. `runId` is null while a queued job waits to start.
 */
export interface RunInProgress {
  runId: number | null;
  /** null while queued: the engine chooses the mode when the run starts. */
  mode: RunMode | null;
  startedAt: Date;
  trigger: RunTrigger;
  requestedBy: string | null;
}

type Refused = { started: false; running: RunInProgress & { runId: number; mode: RunMode } };
type Inserted = { started: true; runId: number; startedAt: Date; tookOverRunId?: number };

/** Started: the run holds `lease` until it ends. */
export type StartResult = (Inserted & { lease: RunLease }) | Refused;

/** A scheduled run of a source whose syncing was disabled (its first write found out). */
export class SourceDisabledError extends Error {
  override name = 'SourceDisabledError';
}

const LOCK_INDEX = 'sync_runs_one_running_per_source';

/** Marks, in `details`, a run that holds the run lock while it lives; older versions' runs only beat. */
const HOLDS_LOCK = { runLock: true };

function isLockConflict(error: unknown): boolean {
  const e = error as { code?: string; constraint_name?: string };
  return e?.code === '23505' && e.constraint_name === LOCK_INDEX;
}

interface RunningRow {
  id: string;
  started_at: Date;
  heartbeat_at: Date;
  trigger: RunTrigger;
  requested_by: string | null;
  mode: RunMode;
  holds_lock: boolean;
  /** The heartbeat is older than the stale bound asked for. */
  quiet: boolean;
}

const runningRow = async (sql: Sql, sourceId: string, staleAfterMs = 0): Promise<RunningRow | undefined> =>
  (
    await sql<RunningRow[]>`
      select id, started_at, heartbeat_at, trigger, requested_by, mode, details ? 'runLock' as holds_lock,
        heartbeat_at < now() - make_interval(secs => ${staleAfterMs / 1000}) as quiet
      from sync_runs where source_id = ${sourceId} and status = 'running'`
  )[0];

const inProgress = (row: RunningRow): RunInProgress & { runId: number; mode: RunMode } => ({
  runId: Number(row.id),
  startedAt: row.started_at,
  mode: row.mode,
  trigger: row.trigger,
  requestedBy: row.requested_by,
});

/**
 * Starts a run: takes the source's run lock (its lease, held until the run ends), then inserts the `running`
 * row. Whoever holds the lock is alive, so a lock held elsewhere means "already running"; a `running` row
 * found while holding the lock belongs to a dead process and is failed on the spot. Rows of older versions,
 * which hold no lock, are dead only once their heartbeat is older than `staleAfterMs`.
 */
export async function startRun(
  sql: Sql,
  input: { sourceId: string; trigger: RunTrigger; requestedBy: string | null; mode: RunMode },
  staleAfterMs: number,
): Promise<StartResult> {
  // The lock's holder may be between taking it and inserting its row, or between ending its run and unlocking.
  for (let attempt = 0; attempt < 50; attempt++) {
    const lease = await takeRunLease(sql, input.sourceId);
    if (lease) {
      try {
        const result = await insertRunningRow(sql, input, staleAfterMs);
        if (result.started) return { ...result, lease };
        await lease.release();
        return result;
      } catch (error) {
        await lease.release();
        throw error;
      }
    }
    const running = await runningRow(sql, input.sourceId);
    if (running) return { started: false, running: inProgress(running) };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`could not start a sync run for source ${input.sourceId}: the run lock kept changing hands`);
}

/** Under the run lock: records the run, failing a dead run's leftover row first. */
async function insertRunningRow(
  sql: Sql,
  input: { sourceId: string; trigger: RunTrigger; requestedBy: string | null; mode: RunMode },
  staleAfterMs: number,
): Promise<Inserted | Refused> {
  let tookOverRunId: number | undefined;
  // Each pass either starts, reports the live run, or clears a dead one; a dead one is cleared at most once.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      // A scheduled run checks that syncing is still enabled in this very write: `/aad disable` answered
      // before it means no run, however close the tick was.
      const [row] = await sql`
        insert into sync_runs (source_id, trigger, requested_by, mode, status, details)
        select ${input.sourceId}, ${input.trigger}, ${input.requestedBy}, ${input.mode}, 'running', ${sql.json(HOLDS_LOCK)}
        where ${input.trigger} <> 'schedule' or exists (select 1 from sources where id = ${input.sourceId} and sync_enabled)
        returning id, started_at`;
      if (!row)
        throw new SourceDisabledError(`syncing source ${input.sourceId} is disabled: the scheduled run did not start`);
      return { started: true, runId: Number(row.id), startedAt: row.started_at, tookOverRunId };
    } catch (error) {
      if (!isLockConflict(error)) throw error;
    }
    const running = await runningRow(sql, input.sourceId, staleAfterMs);
    if (!running) continue;
    if (!running.holds_lock && !running.quiet) return { started: false, running: inProgress(running) };
    const cleared = await sql`
      update sync_runs set status = 'failed', finished_at = now(), error_code = 'stale',
        error_message = ${`The process running this sync stopped (last sign of life ${running.heartbeat_at.toISOString()}); nothing it read was applied.`}
      where id = ${running.id} and status = 'running'
        and (details ? 'runLock' or heartbeat_at < now() - make_interval(secs => ${staleAfterMs / 1000}))`;
    if (cleared.count === 1) tookOverRunId = Number(running.id);
  }
  throw new Error(`could not start a sync run for source ${input.sourceId}: the run lock kept changing hands`);
}

/**
 * Publishes every `everyMs` that the run is alive and how far it got, through `sql` (the run's lease
 * connection, which a beat also keeps from being closed as idle). When the row is no longer 'running'
 * (another process judged it dead), `onLost` fires so the run stops before applying.
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

export async function loadRun(db: Pick<Db, 'select'>, runId: number): Promise<SyncRun | undefined> {
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

/** Error codes the scheduler writes into `sync_runs` (the engine writes the others). */
export const SKIPPED_NEEDS_REAUTH = 'skipped_needs_reauth';
export const INTERRUPTED_BY_SHUTDOWN = 'interrupted';

/**
 * The source's `running` row, if any: `live` when its process is alive (it holds the run lock, or, a run of
 * an older version holding none, its heartbeat is younger than `staleAfterMs`), else only when the dead run
 * began. A dead run is failed when the next one starts.
 */
export async function findRunningRun(
  sql: Sql,
  sourceId: string,
  staleAfterMs: number,
): Promise<{ live?: RunInProgress; deadSince?: Date }> {
  const [row] = await sql<
    { id: string; mode: RunMode; started_at: Date; trigger: RunTrigger; requested_by: string | null; alive: boolean }[]
  >`
    select id, mode, started_at, trigger, requested_by,
      case when details ? 'runLock' then ${runLockHeld(sql)}
        else heartbeat_at > now() - ${staleAfterMs} * interval '1 millisecond' end as alive
    from sync_runs r where source_id = ${sourceId} and status = 'running'`;
  if (!row) return {};
  if (!row.alive) return { deadSince: row.started_at };
  return {
    live: {
      runId: Number(row.id),
      mode: row.mode,
      startedAt: row.started_at,
      trigger: row.trigger,
      requestedBy: row.requested_by,
    },
  };
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

/** The engine chose (or fell back to) another mode than the one the run started with. */
export async function setRunMode(sql: Sql, runId: number, mode: RunMode): Promise<void> {
  await sql`update sync_runs set mode = ${mode} where id = ${runId} and status = 'running'`;
}

/** An admin's answer to a held run, kept in the held run's `details.decision`. */
export interface HeldDecision {
  kind: 'approved' | 'rejected';
  by: string;
  at: string;
  /** Approved: the run that applied it. */
  runId?: number;
}

/** Records the decision unless someone else decided first (two admins clicking at once). */
export async function claimHeldDecision(sql: Sql, runId: number, decision: HeldDecision): Promise<boolean> {
  const result = await sql`
    update sync_runs set details = details || ${sql.json({ decision } as never)}
    where id = ${runId} and not (details ? 'decision')`;
  return result.count === 1;
}

/** Replaces the recorded decision (null: forgets it, so the question can be answered again). */
export async function replaceHeldDecision(sql: Sql, runId: number, decision: HeldDecision | null): Promise<void> {
  const details = decision ? sql`details || ${sql.json({ decision } as never)}` : sql`details - 'decision'`;
  await sql`update sync_runs set details = ${details} where id = ${runId}`;
}
