import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { Agenda, type Job } from 'agenda';
import type { Sql } from '../../db/client.ts';
import { SCHEDULE_LOCK_CLASS } from '../../db/locks.ts';
import type { RunTrigger } from '../../db/schema.ts';
import { disableSchedule, enableSchedule } from '../../db/sources.ts';
import type { Logger } from '../../logger.ts';
import { DEFAULT_TIMING } from '../engine.ts';
import {
  failInterruptedRun,
  findRunningRun,
  type RunInProgress,
  recordSkippedRun,
  SourceDisabledError,
} from '../runs.ts';
import { chooseJobStore, type OpenedJobStore, openJobStore } from './job-store.ts';
import { isSourceId, loadSourceState, type SourceState } from './source-state.ts';

/** One repeating job per enabled source, and one-off jobs for "Sync now". */
export const SCHEDULED_SYNC_JOB = 'aad-sync:scheduled-sync';
export const SYNC_NOW_JOB = 'aad-sync:sync-now';

/** What a job hands the sync engine. `context` is whatever the caller of `syncNow` wants the run to carry. */
export interface RunRequest {
  sourceId: string;
  trigger: RunTrigger;
  requestedBy?: string;
  context?: Record<string, string>;
  /** Aborted when a shutdown's grace period is over. */
  signal?: AbortSignal;
  /** Aborted when the source is being removed (uninstall): the run stops before it applies anything. */
  cancel?: AbortSignal;
}

/** The part of the engine's result the scheduler reads. */
export interface SyncOutcome {
  status: 'succeeded' | 'failed' | 'held' | 'already_running';
  runId?: number;
  errorCode?: string | null;
  running?: RunInProgress;
}

export type SyncRunner = (request: RunRequest) => Promise<SyncOutcome>;

export type RunResult =
  | { kind: 'ran'; outcome: SyncOutcome }
  | { kind: 'skipped'; reason: 'needs_reauth'; runId: number }
  | { kind: 'skipped'; reason: 'unknown_source' | 'disabled' }
  | { kind: 'crashed'; error: Error };

export type SyncNowResult =
  | { started: true; jobId: string }
  | { started: false; reason: 'already_running'; running: RunInProgress }
  | { started: false; reason: 'needs_reauth' | 'unknown_source' };

export interface StopResult {
  /** Runs that ended on their own while the scheduler waited. */
  completed: number;
  /** Sources whose run outlived the timeout and was recorded as failed. */
  interrupted: string[];
}

export interface SchedulerOptions {
  /** The app's database: sources and sync_runs. */
  sql: Sql;
  /** Same database, for Agenda's job table (unless `mongodbUrl` is set). */
  databaseUrl: string;
  mongodbUrl?: string;
  intervalMs: number;
  runSync: SyncRunner;
  logger: Logger;
  /** How often each replica polls for due jobs (ms); "Sync now" on PostgreSQL does not wait for it. */
  processEvery?: number;
  /** A replica that dies mid-run gives its jobs up after this long; live runs renew it. */
  lockLifetimeMs?: number;
  /** Runs one replica works on at once, per kind of job. */
  concurrency?: number;
  /** A `running` row with an older heartbeat no longer blocks "Sync now" (the engine fails it). */
  staleRunAfterMs?: number;
  /** How long a run may keep going after its abort signal before stop() records it as failed. */
  abortGraceMs?: number;
  /** A run in flight for longer than this (the engine's deadline, plus margin) means the scheduler is wedged. */
  wedgedAfterMs?: number;
  /** Called after every job, whatever happened; failures here are logged and ignored. */
  onRunFinished?: (request: RunRequest, result: RunResult) => void | Promise<void>;
  /** Identifies this replica in Agenda's job rows; defaults to host, pid and a random suffix. */
  instanceName?: string;
}

export interface Scheduler {
  readonly jobStore: 'postgres' | 'mongodb';
  readonly instanceName: string;
  start(): Promise<void>;
  enableSource(sourceId: string, options?: { runSoon?: boolean }): Promise<{ nextRunAt: Date | null }>;
  disableSource(sourceId: string): Promise<void>;
  /**
   * Cancels the source's runs on this replica (uninstall) and waits for them to end, up to `waitMs` (default 10 s).
   * A run elsewhere (another replica, the CLI) stops at its next heartbeat once its run record is gone.
   * Resolves with how many runs were cancelled here.
   */
  cancelRuns(sourceId: string, options?: { waitMs?: number }): Promise<number>;
  syncNow(
    sourceId: string,
    request?: { requestedBy?: string; trigger?: Exclude<RunTrigger, 'schedule'>; context?: Record<string, string> },
  ): Promise<SyncNowResult>;
  nextRunAt(sourceId: string): Promise<Date | null>;
  /** Why this replica's scheduler is wedged: a run still in flight long after any run must have ended. */
  wedged(): string | undefined;
  stop(options?: { timeoutMs?: number }): Promise<StopResult>;
}

export class UnknownSourceError extends Error {
  override name = 'UnknownSourceError';
}

export class SchedulerStateError extends Error {
  override name = 'SchedulerStateError';
}

interface JobData {
  sourceId: string;
  trigger: RunTrigger;
  requestedBy?: string;
  requestedAt?: string;
  context?: Record<string, string>;
}

/** A job this replica is running, until Agenda has saved its end ('complete'). */
interface InFlight {
  sourceId: string;
  dispatchedAt: Date;
  controller: AbortController;
  /** Cancels the run itself, not the job (uninstall); `controller` is the shutdown's. */
  cancel: AbortController;
  /** Until the engine has returned; after that the job only reports its end. */
  syncing: boolean;
  completed: Promise<void>;
  complete: () => void;
}

const asError = (error: unknown) => (error instanceof Error ? error : new Error(String(error)));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function createScheduler(options: SchedulerOptions): Scheduler {
  const { sql, logger, runSync } = options;
  const log = logger.child({ component: 'scheduler' });
  const intervalMs = options.intervalMs;
  const lockLifetimeMs = options.lockLifetimeMs ?? 10 * 60_000;
  const concurrency = options.concurrency ?? 1;
  const staleRunAfterMs = options.staleRunAfterMs ?? 2 * 60_000;
  const abortGraceMs = options.abortGraceMs ?? 5_000;
  const wedgedAfterMs = options.wedgedAfterMs ?? DEFAULT_TIMING.deadlineMs + 15 * 60_000;
  const instanceName = options.instanceName ?? `${os.hostname()}#${process.pid}#${randomBytes(3).toString('hex')}`;
  const choice = chooseJobStore({ databaseUrl: options.databaseUrl, mongodbUrl: options.mongodbUrl });
  const inFlight = new Map<string, InFlight>();
  let store: OpenedJobStore | undefined;
  let agenda: Agenda | undefined;
  let stopping = false;

  const started = (): Agenda => {
    if (!agenda) throw new SchedulerStateError('the scheduler is not running: call start() first');
    return agenda;
  };
  /** Schedule edits and new runs are refused once a shutdown has begun. */
  const accepting = (): Agenda => {
    if (stopping) throw new SchedulerStateError('the scheduler is shutting down');
    return started();
  };

  /** Serialises schedule edits of one source across replicas; the sources update commits with them. */
  const withScheduleLock = <T>(sourceId: string, edit: (tx: Sql, sourceId: string) => Promise<T>): Promise<T> =>
    sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(${SCHEDULE_LOCK_CLASS}, hashtext(${sourceId}))`;
      return edit(tx as unknown as Sql, sourceId);
    }) as Promise<T>;

  const scheduledJobs = async (sourceId?: string) =>
    (await started().queryJobs({ name: SCHEDULED_SYNC_JOB, data: sourceId ? { sourceId } : undefined })).jobs;

  async function saveSchedule(sourceId: string, runSoon: boolean): Promise<Date | null> {
    const job = await started()
      .create<JobData>(SCHEDULED_SYNC_JOB, { sourceId, trigger: 'schedule' })
      .repeatEvery(intervalMs, { skipImmediate: !runSoon })
      .unique({ 'data.sourceId': sourceId })
      .save();
    return job.attrs.nextRunAt ?? null;
  }

  async function removeJobs(sourceId: string): Promise<number> {
    const current = started();
    const removed = await Promise.all(
      [SCHEDULED_SYNC_JOB, SYNC_NOW_JOB].map((name) => current.cancel({ name, data: { sourceId } })),
    );
    return removed[0] + removed[1];
  }

  async function finish(request: RunRequest, result: RunResult): Promise<void> {
    const fields = { sourceId: request.sourceId, trigger: request.trigger, requestedBy: request.requestedBy };
    if (result.kind === 'crashed') log.error({ ...fields, err: result.error }, 'sync run crashed');
    else if (result.kind === 'skipped') log.warn({ ...fields, reason: result.reason }, 'sync run skipped');
    else if (result.outcome.status === 'succeeded')
      log.info({ ...fields, runId: result.outcome.runId }, 'sync run ended');
    else log.warn({ ...fields, ...result.outcome }, 'sync run did not succeed');
    try {
      await options.onRunFinished?.(request, result);
    } catch (error) {
      log.error({ ...fields, err: asError(error) }, 'onRunFinished failed');
    }
  }

  /** Reasons not to call the engine at all. */
  async function gate(job: Job<JobData>, request: RunRequest): Promise<RunResult | undefined> {
    let source = await loadSourceState(sql, request.sourceId);
    const scheduled = job.attrs.name === SCHEDULED_SYNC_JOB;
    if (scheduled && !source?.syncEnabled) {
      // enableSource saves the job before its transaction commits, so a job due at once can fire while the
      // source still reads as disabled: decide under the schedule lock, once that edit is over. A leftover
      // schedule (source deleted, or disabled while this replica held the job) is dropped there.
      source = await withScheduleLock(request.sourceId, dropScheduleIfDisabled);
    }
    if (!source || (scheduled && !source.syncEnabled)) {
      return { kind: 'skipped', reason: source ? 'disabled' : 'unknown_source' };
    }
    if (source.status === 'needs_reauth') {
      return { kind: 'skipped', reason: 'needs_reauth', runId: await recordSkippedRun(sql, request) };
    }
    return undefined;
  }

  async function runJob(job: Job<JobData>): Promise<void> {
    const { sourceId, trigger, requestedBy, context } = job.attrs.data;
    const controller = new AbortController();
    const cancel = new AbortController();
    const request: RunRequest = {
      sourceId,
      trigger,
      requestedBy,
      context,
      signal: controller.signal,
      cancel: cancel.signal,
    };
    let complete = () => {};
    const completed = new Promise<void>((resolve) => {
      complete = resolve;
    });
    const entry: InFlight = {
      sourceId,
      dispatchedAt: new Date(),
      controller,
      cancel,
      syncing: true,
      completed,
      complete,
    };
    inFlight.set(String(job.attrs._id), entry);
    // Agenda kills and re-offers a job whose lock is not renewed within lockLifetime; a sync may run longer.
    const keepAlive = setInterval(() => {
      job.touch().catch((error) => log.debug({ sourceId, err: asError(error) }, 'could not renew the job lock'));
    }, lockLifetimeMs / 3);
    keepAlive.unref();
    let result: RunResult;
    try {
      result = (await gate(job, request)) ?? { kind: 'ran', outcome: await runSync(request) };
    } catch (error) {
      result =
        error instanceof SourceDisabledError
          ? { kind: 'skipped', reason: 'disabled' }
          : { kind: 'crashed', error: asError(error) };
    } finally {
      clearInterval(keepAlive);
      entry.syncing = false;
    }
    if (controller.signal.aborted) {
      // Cut short by a shutdown: Agenda saves this when the handler returns, so another replica runs it next.
      job.attrs.nextRunAt = new Date();
    } else if (job.attrs.name === SYNC_NOW_JOB) {
      // Removed here rather than with Agenda's removeOnComplete, which deletes after emitting 'complete' and
      // so makes drain() wait for its whole timeout.
      await job.remove().catch((error) => log.warn({ sourceId, err: asError(error) }, 'could not remove a done job'));
    }
    // Never rethrow: a failed run is the engine's record to keep, and the schedule must carry on.
    await finish(request, result);
  }

  function onComplete(job: Job | { attrs?: undefined }): void {
    const id = job.attrs ? String(job.attrs._id) : undefined;
    const entry = id === undefined ? undefined : inFlight.get(id);
    if (!entry || id === undefined) return;
    inFlight.delete(id);
    entry.complete();
  }

  /** The source as it is once no schedule edit is under way; its schedule is dropped unless it is enabled. */
  async function dropScheduleIfDisabled(tx: Sql, sourceId: string): Promise<SourceState | undefined> {
    const source = await loadSourceState(tx, sourceId);
    if (!source?.syncEnabled) await started().cancel({ name: SCHEDULED_SYNC_JOB, data: { sourceId } });
    return source;
  }

  /** Brings job rows in line with `sources.sync_enabled`: after a restart, a new job store, or a changed interval. */
  async function reconcile(): Promise<void> {
    const enabled = (await sql<{ id: string }[]>`select id from sources where sync_enabled`).map((row) => row.id);
    const scheduled = (await scheduledJobs()).map((job) => (job.data as JobData).sourceId);
    for (const sourceId of new Set([...enabled, ...scheduled])) {
      await withScheduleLock(sourceId, async (tx) => {
        const [row] = await tx<{ sync_enabled: boolean }[]>`select sync_enabled from sources where id = ${sourceId}`;
        const current = await scheduledJobs(sourceId);
        if (!row?.sync_enabled) {
          if (current.length > 0) await started().cancel({ name: SCHEDULED_SYNC_JOB, data: { sourceId } });
          return;
        }
        // Two replicas racing Agenda's non-atomic unique() could have left twins: keep the oldest schedule.
        const [keep, ...extra] = current;
        if (extra.length > 0) await started().cancel({ ids: extra.map((job) => job._id) });
        if (!keep) await saveSchedule(sourceId, true);
        else if (String(keep.repeatInterval) !== String(intervalMs)) await saveSchedule(sourceId, false);
      });
    }
  }

  return {
    get jobStore() {
      return choice.kind;
    },
    instanceName,

    async start() {
      if (stopping) throw new SchedulerStateError('a stopped scheduler cannot be started again');
      if (agenda) return;
      store = await openJobStore(choice, (error) => log.warn({ err: error }, 'job store connection error'));
      const created = new Agenda({
        backend: store.backend,
        name: instanceName,
        processEvery: options.processEvery ?? 10_000,
        defaultLockLifetime: lockLifetimeMs,
      });
      created.on('error', (error: Error) => log.warn({ err: error }, 'agenda error'));
      // Remote 'complete' notifications (other replicas' jobs) carry no attrs and are ignored.
      created.on('complete', onComplete);
      for (const name of [SCHEDULED_SYNC_JOB, SYNC_NOW_JOB]) {
        created.define<JobData>(name, runJob, { concurrency, lockLimit: concurrency });
      }
      try {
        await created.start();
        agenda = created;
        await reconcile();
      } catch (error) {
        agenda = undefined;
        await created.stop(false).catch(() => {});
        await store.close().catch(() => {});
        throw error;
      }
      log.info({ jobStore: choice.kind, instanceName, intervalMs }, 'scheduler started');
    },

    async enableSource(sourceId, { runSoon = true } = {}) {
      accepting();
      if (!isSourceId(sourceId)) throw new UnknownSourceError(`no source with id ${sourceId}`);
      return withScheduleLock(sourceId, async (tx) => {
        const [before] = await tx<{ sync_enabled: boolean }[]>`
          select sync_enabled from sources where id = ${sourceId} for update`;
        if (!before) throw new UnknownSourceError(`no source with id ${sourceId}`);
        await enableSchedule(tx, sourceId);
        const [existing] = await scheduledJobs(sourceId);
        // Enabling an enabled source keeps its rhythm instead of starting an extra run.
        const nextRunAt =
          before.sync_enabled && existing ? (existing.nextRunAt ?? null) : await saveSchedule(sourceId, runSoon);
        log.info({ sourceId, nextRunAt }, 'source enabled');
        return { nextRunAt };
      });
    },

    async disableSource(sourceId) {
      accepting();
      if (!isSourceId(sourceId)) throw new UnknownSourceError(`no source with id ${sourceId}`);
      await withScheduleLock(sourceId, async (tx) => {
        if (!(await disableSchedule(tx, sourceId))) throw new UnknownSourceError(`no source with id ${sourceId}`);
        const removed = await removeJobs(sourceId);
        log.info({ sourceId, removedJobs: removed }, 'source disabled');
      });
    },

    async cancelRuns(sourceId, { waitMs = 10_000 } = {}) {
      const runs = [...inFlight.values()].filter((run) => run.sourceId === sourceId);
      // Only a run still in the engine can be cancelled; one reporting its end is just waited for.
      const syncing = runs.filter((run) => run.syncing);
      for (const run of syncing) run.cancel.abort(new Error('the source is being removed'));
      if (runs.length === 0) return 0;
      log.info(
        { sourceId, cancelled: syncing.length, ending: runs.length - syncing.length },
        'cancelling the source’s runs',
      );
      await Promise.race([Promise.all(runs.map((run) => run.completed)), sleep(waitMs)]);
      return syncing.length;
    },

    async syncNow(sourceId, { requestedBy, trigger = 'manual', context } = {}) {
      const current = accepting();
      if (!isSourceId(sourceId)) return { started: false, reason: 'unknown_source' };
      // One decision per source at a time, on every replica: whoever holds the source's schedule lock checks
      // for a running or queued run and queues one if there is none, so simultaneous callers all see the
      // first one's run (and who asked for it) instead of queueing runs back to back.
      return withScheduleLock(sourceId, async (tx): Promise<SyncNowResult> => {
        const source = await loadSourceState(tx, sourceId);
        if (!source) return { started: false, reason: 'unknown_source' };
        if (source.status === 'needs_reauth') return { started: false, reason: 'needs_reauth' };
        const run = await findRunningRun(tx, sourceId, staleRunAfterMs);
        if (run.live) return { started: false, reason: 'already_running', running: run.live };
        const jobs = (await current.queryJobs({ name: SYNC_NOW_JOB, data: { sourceId } })).jobs;
        const waiting = jobs.find((job) => job.nextRunAt !== null || justPickedUp(job, run.deadSince));
        if (waiting) {
          const data = waiting.data as JobData;
          const queued: RunInProgress = {
            runId: null,
            mode: null,
            startedAt: data.requestedAt ? new Date(data.requestedAt) : new Date(),
            trigger: data.trigger,
            requestedBy: data.requestedBy ?? null,
          };
          return { started: false, reason: 'already_running', running: queued };
        }
        // Any job still locked belongs to a run that ended, or died with its replica: Agenda would run that one
        // again once its lock expired, as an unasked-for extra sync.
        const orphans = jobs.filter((job) => job.lockedAt);
        if (orphans.length > 0) await current.cancel({ ids: orphans.map((job) => job._id) });
        // Saved before the lock is released: the next caller finds it waiting (or running).
        const job = await current.now<JobData>(SYNC_NOW_JOB, {
          sourceId,
          trigger,
          requestedBy,
          requestedAt: new Date().toISOString(),
          context,
        });
        log.info({ sourceId, trigger, requestedBy }, 'sync queued');
        return { started: true, jobId: String(job.attrs._id) };
      });
    },

    wedged() {
      const oldest = Math.min(...[...inFlight.values()].map((run) => run.dispatchedAt.getTime()));
      if (!Number.isFinite(oldest) || Date.now() - oldest <= wedgedAfterMs) return undefined;
      return `a sync run has been in flight since ${new Date(oldest).toISOString()}, past every run's deadline: restart this replica`;
    },

    async nextRunAt(sourceId) {
      const [job] = await scheduledJobs(sourceId);
      return job?.nextRunAt ?? null;
    },

    async stop({ timeoutMs = 30_000 } = {}) {
      const current = agenda;
      if (!current || stopping || !store) return { completed: 0, interrupted: [] };
      stopping = true;
      log.info({ running: inFlight.size, timeoutMs }, 'scheduler stopping');
      const drained = await current.drain({ timeout: timeoutMs, closeConnection: false });
      const late = [...inFlight.entries()];
      for (const [, run] of late) run.controller.abort(new Error('the app is shutting down'));
      if (late.length > 0) await Promise.race([Promise.all(late.map(([, run]) => run.completed)), sleep(abortGraceMs)]);
      const interrupted: string[] = [];
      try {
        const abandoned = new Set<string>();
        for (const [jobId, run] of late) {
          if (!inFlight.has(jobId)) continue; // the runner ended the run itself once aborted
          abandoned.add(jobId);
          const runId = await failInterruptedRun(sql, run.sourceId, run.dispatchedAt);
          if (runId !== undefined) interrupted.push(run.sourceId);
          log.warn({ sourceId: run.sourceId, runId }, 'sync run interrupted by shutdown');
        }
        await releaseLocks(current, abandoned);
      } finally {
        agenda = undefined;
        await store.close();
        // pg's pool.end() resolves before its sockets close; a database stopped right after would error on them.
        await sleep(100);
      }
      log.info({ completed: drained.completed, interrupted }, 'scheduler stopped');
      return { completed: drained.completed, interrupted };
    },
  };

  /**
   * drain() leaves locked both the jobs this replica took ahead of their time and the runs it abandoned.
   * Unlocking them (abandoned ones due at once) lets another replica take them now, not when the lock expires.
   */
  async function releaseLocks(current: Agenda, abandoned: Set<string>): Promise<void> {
    const { jobs } = await current.queryJobs({ names: [SCHEDULED_SYNC_JOB, SYNC_NOW_JOB] });
    for (const job of jobs) {
      if (!job.lockedAt || job.lastModifiedBy !== instanceName) continue;
      const nextRunAt = abandoned.has(String(job._id)) ? new Date() : job.nextRunAt;
      await current.db.saveJobState({ ...job, lockedAt: undefined, nextRunAt }, { lastModifiedBy: instanceName });
    }
  }
}

/**
 * Agenda clears a one-off job's nextRunAt as it starts it, a moment before the run records itself as running:
 * a job locked in the last few seconds and not finished since counts as the run in progress, unless the run
 * it started has died already (its `running` row, begun after the lock, has no live process). A lock older
 * than that belongs to a run that recorded itself (then its run row answers) or to a replica that died.
 */
const PICKUP_GRACE_MS = 10_000;

function justPickedUp(job: { lockedAt?: Date; lastFinishedAt?: Date }, deadRunStart: Date | undefined): boolean {
  const lockedAt = job.lockedAt?.getTime();
  if (lockedAt === undefined || Date.now() - lockedAt > PICKUP_GRACE_MS) return false;
  if (deadRunStart && deadRunStart.getTime() >= lockedAt) return false;
  return !job.lastFinishedAt || job.lastFinishedAt.getTime() < lockedAt;
}
