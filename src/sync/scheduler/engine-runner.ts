import { runSync, type SyncDeps } from '../engine.ts';
import type { SyncProgress } from '../progress.ts';
import type { RunRequest, SyncRunner } from './scheduler.ts';

/**
 * The scheduler's runner in production: the sync engine. `progressFor` lets the caller of "Sync now" follow
 * the run wherever it executes, from what it put in `context` (e.g. the Slack message to update).
 * The engine ignores the shutdown's abort signal; a run cut off by a shutdown is failed by the scheduler, and the
 * engine's heartbeat then sees its run was taken away and applies nothing. A cancelled run (uninstall) ends itself
 * at the engine's next check, recorded as `cancelled`, nothing applied.
 */
export function engineRunner(
  deps: SyncDeps,
  progressFor?: (request: RunRequest) => SyncProgress | undefined,
): SyncRunner {
  return (request) =>
    runSync(deps, {
      sourceId: request.sourceId,
      trigger: request.trigger,
      requestedBy: request.requestedBy,
      progress: progressFor?.(request),
      signal: request.cancel,
    });
}
