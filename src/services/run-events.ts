import type { Db } from '../db/client.ts';
import type { RunMode, RunStatus, RunTrigger } from '../db/schema.ts';
import type { Logger } from '../logger.ts';
import type { SyncProgress } from '../sync/progress.ts';
import { loadRun, SKIPPED_NEEDS_REAUTH } from '../sync/runs.ts';
import type { RunRequest, RunResult, Scheduler } from '../sync/scheduler/scheduler.ts';
import type { RunAlerts, RunEnd } from './alerts.ts';
import type { CompletedAuthorization } from './authorization.ts';

import { createRunWatch, type RunWatch } from './run-watch.ts';

/**
 * What follows the end of a run, whoever started it, and the return of a lost sign-in. Every run end is
 * counted (metrics), then told to the admin who watches it (Sync now, the first sync), then to the admin
 * channel (alerts). A restored sign-in resolves the alert and starts a sync (DESIGN §1).
 *
 * The scheduler needs this object's progress and end hooks before the run watch can exist (the watch
 * queues jobs on the scheduler): `attach` closes that circle once the scheduler is built.
 */

export interface RunEventsOptions {
  db: Db;
  alerts: Pick<RunAlerts, 'runEnded' | 'reauthorized'>;
  /** Counts a finished run (the /metrics histogram); gets only runs that reached the engine. */
  countRun(run: {
    mode: RunMode;
    status: Exclude<RunStatus, 'running'>;
    trigger: RunTrigger;
    durationMs: number;
  }): void;
  logger: Logger;
}

export interface RunEvents {
  /** The scheduler's runner asks who follows `request` here (see RunWatch.progressFor). */
  progressFor(request: RunRequest): SyncProgress | undefined;
  /** The scheduler's `onRunFinished`: a queued or scheduled run ended. */
  runFinished(request: RunRequest, result: RunResult): Promise<void>;
  /** A run the admin services ran themselves (a preview, an approved held run) ended. */
  runEnded(sourceId: string, end: RunEnd): Promise<void>;
  /** The sign-in of a source was restored by `by` (Slack user id). */
  reauthorized(sourceId: string, by: string): Promise<void>;
  /** Follows the runs of `scheduler`; returns the run watch the admin services start runs with. */
  attach(scheduler: Pick<Scheduler, 'syncNow'>): RunWatch;
  close(): void;
}

/** The end a scheduler result stands for; null when no run of that source ended (nothing to count or alert). */
export function endOf(result: RunResult): RunEnd | null {
  if (result.kind === 'crashed') return { crashed: result.error };
  if (result.kind === 'skipped') return result.reason === 'needs_reauth' ? { runId: result.runId } : null;
  return result.outcome.status === 'already_running' || result.outcome.runId === undefined
    ? null
    : { runId: result.outcome.runId };
}

export function createRunEvents(options: RunEventsOptions): RunEvents {
  const { db, alerts, logger } = options;
  let watch: RunWatch | undefined;
  let scheduler: Pick<Scheduler, 'syncNow'> | undefined;

  /** Counts a finished run; a failed lookup costs the count, never the admin's report. */
  async function count(end: RunEnd) {
    if (!('runId' in end)) return;
    const run = await loadRun(db, end.runId).catch((error: unknown) => {
      logger.warn({ err: error, runId: end.runId }, 'could not count a finished sync');
      return undefined;
    });
    // A run skipped for a lost sign-in never reached the engine: not a sync to time.
    if (!run || run.status === 'running' || run.errorCode === SKIPPED_NEEDS_REAUTH) return;
    options.countRun({
      mode: run.mode,
      status: run.status,
      trigger: run.trigger,
      durationMs: (run.finishedAt ?? new Date()).getTime() - run.startedAt.getTime(),
    });
  }

  return {
    progressFor: (request) => watch?.progressFor(request),

    async runFinished(request, result) {
      const end = endOf(result);
      // Counted before the admin hears "Sync finished", so /metrics never lags behind what Slack says.
      if (end) await count(end);
      await watch?.runFinished(request, result);
      if (end) await alerts.runEnded(request.sourceId, end);
    },

    async runEnded(sourceId, end) {
      await count(end);
      await alerts.runEnded(sourceId, end);
    },

    async reauthorized(sourceId, by) {
      try {
        await alerts.reauthorized(sourceId, by);
        if (!scheduler) throw new Error('no scheduler attached');
        const queued = await scheduler.syncNow(sourceId, { trigger: 'manual', requestedBy: by });
        if (!queued.started) logger.info({ sourceId, reason: queued.reason }, 'no sync after reauthorizing');
      } catch (error) {
        logger.error({ err: error, sourceId }, 'could not start the sync after reauthorizing');
      }
    },

    attach(target) {
      scheduler = target;
      watch = createRunWatch({ db, scheduler: target, logger });
      return watch;
    },

    close() {
      watch?.close();
    },
  };
}

/**
 * The callback route's follow-up. The routes are built before the Slack app (the app takes them), and the
 * alerts and the modal need the app's client, so both are connected once Slack is up, before it serves.
 */
export function authorizationFollowUp() {
  let connected:
    | { events: Pick<RunEvents, 'reauthorized'>; show: (result: CompletedAuthorization) => Promise<boolean> }
    | undefined;
  return {
    /** The reauthorize rule, then the admin's modal; resolves to whether the admin was told in Slack. */
    async completed(result: CompletedAuthorization): Promise<boolean> {
      const request = result.request;
      if (!request || !connected) return false;
      if (result.ok && request.purpose === 'reauthorize')
        await connected.events.reauthorized(request.sourceId, request.slackUserId);
      return connected.show(result);
    },
    connect(events: Pick<RunEvents, 'reauthorized'>, show: (result: CompletedAuthorization) => Promise<boolean>) {
      connected = { events, show };
    },
  };
}
