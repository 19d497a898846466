import { and, asc, eq, gt, sql } from 'drizzle-orm';
import { randomToken } from '../crypto.ts';
import type { Db } from '../db/client.ts';
import { type RunTrigger, type SyncRun, syncRuns } from '../db/schema.ts';
import type { Logger } from '../logger.ts';
import type { ProgressReport, SyncProgress } from '../sync/index.ts';

import { loadRun, NO_COUNTS, type RunInProgress } from '../sync/runs.ts';
import type { RunRequest, RunResult, Scheduler } from '../sync/scheduler/scheduler.ts';
import type { SyncObserver, SyncStart } from './contract.ts';
import type { Refusal, RunProgress, RunReport } from './model.ts';
import { runReport } from './reports.ts';

/**
 * "Sync now" from Slack goes through the scheduler's queue, so whichever replica picks the job runs it.
 * A watch follows that run for the admin who asked: from the engine's progress callback when it runs in
 * this process, or by reading its `sync_runs` row (heartbeat counts) when another replica took it.
 */

export interface RunWatchOptions {
  db: Db;
  scheduler: Pick<Scheduler, 'syncNow'>;
  logger: Logger;
  /** How often a run on another replica is looked at. */
  pollMs?: number;
  /** How long to wait for the queued job to start before telling the admin it is queued. */
  startTimeoutMs?: number;
}

export interface RunWatch {
  /** Queues a run and resolves once it has started (or was refused); `observer` then hears its progress and end. */
  start(input: {
    sourceId: string;
    trigger: Exclude<RunTrigger, 'schedule'>;
    requestedBy: string;
    observer: SyncObserver;
  }): Promise<SyncStart>;
  /** The scheduler runner's progress target for `request`, when someone here watches it. */
  progressFor(request: RunRequest): SyncProgress | undefined;
  /** Called for every finished job (the scheduler's onRunFinished). */
  runFinished(request: RunRequest, result: RunResult): Promise<void>;
  /** Stops following every run. */
  close(): void;
}

const WATCH_KEY = 'watch';

interface Watch {
  sourceId: string;
  trigger: RunTrigger;
  requestedBy: string;
  /** The source's newest run id when the job was queued: the watched run is the first after it. */
  after: number;
  observer: SyncObserver;
  /** The engine runs it in this process. */
  local: boolean;
  run: SyncRun | null;
  decided: boolean;
  decide(start: SyncStart): void;
  /** Local events in order: the start lookup, progress, the end. */
  chain: Promise<void>;
}

export function runProgress(run: SyncRun, report: ProgressReport): RunProgress {
  const photos = report.phase === 'photos';
  return {
    runId: run.id,
    mode: run.mode,
    trigger: run.trigger,
    requestedBy: run.requestedBy,
    startedAt: run.startedAt,
    phase: report.phase === 'done' ? 'applying' : report.phase,
    read: report.read,
    written: photos ? 0 : report.written,
    total: report.expected ?? null,
    photos: photos ? report.written : 0,
  };
}

/** The run another request is waiting on; a job still queued has no row yet, so it is described from the job. */
async function runningReport(db: Db, running: RunInProgress): Promise<RunReport> {
  const row = running.runId !== null ? await loadRun(db, running.runId) : undefined;
  if (row) return runReport(row);
  return {
    id: 0,
    trigger: running.trigger,
    requestedBy: running.requestedBy,
    mode: 'full',
    status: 'running',
    startedAt: running.startedAt,
    finishedAt: null,
    counts: { ...NO_COUNTS },
    ignored: [],
    errorCode: null,
    errorMessage: null,
  };
}

export function createRunWatch(options: RunWatchOptions): RunWatch {
  const { db, logger } = options;
  const pollMs = options.pollMs ?? 1_000;
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  const watches = new Map<string, Watch>();
  let closed = false;

  async function watchedRun(watch: Watch): Promise<SyncRun | undefined> {
    const [run] = await db
      .select()
      .from(syncRuns)
      .where(
        and(
          eq(syncRuns.sourceId, watch.sourceId),
          gt(syncRuns.id, watch.after),
          eq(syncRuns.trigger, watch.trigger),
          eq(syncRuns.requestedBy, watch.requestedBy),
        ),
      )
      .orderBy(asc(syncRuns.id))
      .limit(1);
    return run;
  }

  const started = (watch: Watch, run: SyncRun) => {
    watch.run = run;
    watch.decide({ started: true, run: runReport(run) });
  };

  const end = (key: string, watch: Watch, run: SyncRun) => {
    watches.delete(key);
    if (!watch.decided) started(watch, run);
    watch.observer.finished(runReport(run));
  };

  /** Follows a run another replica executes; stops as soon as the engine reports here instead. */
  async function follow(key: string, watch: Watch, deadline: number): Promise<void> {
    while (!closed && watches.get(key) === watch && !watch.local) {
      await new Promise((resolve) => setTimeout(resolve, pollMs).unref());
      if (closed || watches.get(key) !== watch || watch.local) return;
      const run = await watchedRun(watch).catch((error: unknown) => {
        logger.warn({ err: error, sourceId: watch.sourceId }, 'could not look up a queued sync');
        return undefined;
      });
      if (watch.local) return;
      if (!run) {
        if (Date.now() > deadline && !watch.decided) {
          watches.delete(key);
          watch.decide({ started: false, reason: 'disabled_by_error', refusal: { code: 'not_started_yet' } });
        }
        continue;
      }
      if (run.status !== 'running') {
        end(key, watch, run);
        return;
      }
      if (!watch.decided) started(watch, run);
      else watch.observer.progress(runProgress(run, { phase: 'reading', read: run.readCount, written: 0 }));
    }
  }

  function enqueue(watch: Watch, work: () => Promise<void>): void {
    watch.chain = watch.chain.then(work).catch((error: unknown) => {
      logger.error({ err: error, sourceId: watch.sourceId }, 'could not report a sync to the admin who started it');
    });
  }

  return {
    async start({ sourceId, trigger, requestedBy, observer }) {
      const [{ after }] = await db
        .select({ after: sql<number>`coalesce(max(${syncRuns.id}), 0)`.mapWith(Number) })
        .from(syncRuns)
        .where(eq(syncRuns.sourceId, sourceId));
      const key = randomToken(12);
      let decide: (start: SyncStart) => void = () => {};
      const decision = new Promise<SyncStart>((resolve) => {
        decide = resolve;
      });
      const watch: Watch = {
        sourceId,
        trigger,
        requestedBy,
        after,
        observer,
        local: false,
        run: null,
        decided: false,
        decide(start) {
          if (this.decided) return;
          this.decided = true;
          decide(start);
        },
        chain: Promise.resolve(),
      };
      watches.set(key, watch);
      let queued: Awaited<ReturnType<Scheduler['syncNow']>>;
      try {
        queued = await options.scheduler.syncNow(sourceId, { requestedBy, trigger, context: { [WATCH_KEY]: key } });
      } catch (error) {
        watches.delete(key);
        throw error;
      }
      if (!queued.started) {
        watches.delete(key);
        if (queued.reason === 'already_running') {
          return { started: false, reason: 'running', run: await runningReport(db, queued.running) };
        }
        return queued.reason === 'needs_reauth'
          ? { started: false, reason: 'needs_reauth', refusal: { code: 'reauth_first' } }
          : { started: false, reason: 'not_set_up', refusal: { code: 'not_set_up' } };
      }
      void follow(key, watch, Date.now() + startTimeoutMs);
      return decision;
    },

    progressFor(request) {
      const key = request.context?.[WATCH_KEY];
      const watch = key === undefined ? undefined : watches.get(key);
      if (!watch) return undefined;
      watch.local = true;
      return {
        onProgress(report) {
          // The end is reported by runFinished, with the recorded run.
          if (report.phase === 'done') return;
          if (watch.run) {
            watch.observer.progress(runProgress(watch.run, report));
            return;
          }
          enqueue(watch, async () => {
            if (watch.run) return;
            const run = await watchedRun(watch);
            if (run) started(watch, run);
          });
        },
      };
    },

    async runFinished(request, result) {
      const key = request.context?.[WATCH_KEY];
      const watch = key === undefined ? undefined : watches.get(key);
      if (!watch || key === undefined) return;
      enqueue(watch, async () => {
        if (result.kind === 'ran' && result.outcome.status === 'already_running') {
          watches.delete(key);
          const running = result.outcome.running;
          if (running) watch.decide({ started: false, reason: 'running', run: await runningReport(db, running) });
          else watch.decide({ started: false, reason: 'disabled_by_error', refusal: { code: 'not_started_yet' } });
          return;
        }
        const runId =
          result.kind === 'ran'
            ? result.outcome.runId
            : result.kind === 'skipped' && result.reason === 'needs_reauth'
              ? result.runId
              : undefined;
        const run = runId !== undefined ? await loadRun(db, runId) : (watch.run ?? (await watchedRun(watch)));
        if (run && run.status !== 'running') {
          end(key, watch, run);
          return;
        }
        watches.delete(key);
        const refusal: Refusal =
          result.kind === 'skipped' && result.reason === 'needs_reauth'
            ? { code: 'reauth_first' }
            : result.kind === 'crashed'
              ? { code: 'could_not_run', detail: result.error.message }
              : { code: 'turned_off_meanwhile' };
        const reason =
          result.kind === 'skipped' && result.reason === 'needs_reauth' ? 'needs_reauth' : 'disabled_by_error';
        watch.decide({ started: false, reason, refusal });
      });
      await watch.chain;
    },

    close() {
      closed = true;
      watches.clear();
    },
  };
}
