import type { Sql } from '../db/client.ts';
import { forgetInstallationSources } from '../db/sources.ts';
import type { Logger } from '../logger.ts';

/**
 * A workspace or Grid org removed the app (`app_uninstalled`, `tokens_revoked`; they may come in either order, and
 * each may be retried). Slack asks apps to delete tokens at once and the workspace's data per their policy; ours is
 * to keep nothing: tokens first; then, per source, its schedule is stopped, a run in progress is cancelled and its
 * Graph subscriptions are deleted (no new run, no more notifications); then its people, photos, runs, groups,
 * pending sign-ins and settings are deleted. Other installations are not touched. One audit line with counts,
 * never names. Forgetting twice is harmless; reinstalling starts clean.
 *
 * A run cannot leave half its writes behind: it applies in one transaction that first checks its run record is
 * still `running`. A run on this replica is cancelled and awaited before the delete; a run elsewhere (another
 * replica, the CLI) finds its record deleted at its next heartbeat and stops, or its apply finds it and rolls back;
 * an apply already committing holds the source row, so the delete waits for it and then removes what it wrote.
 */

export interface UninstallOptions {
  sql: Sql;
  /** Deletes the installation's Slack tokens (OAuth mode); true when there were any. */
  forgetTokens(installation: string): Promise<boolean>;
  /** Removes the source's scheduled syncs (the scheduler's disable). */
  stopSchedule(sourceId: string): Promise<void>;
  /** Deletes the source's Graph change-notification subscriptions, in Graph and in our table. */
  stopGraphSubscriptions(sourceId: string): Promise<void>;
  /** Cancels the source's run in progress on this replica and waits for it to end; how many were cancelled. */
  cancelRuns(sourceId: string): Promise<number>;
  logger: Logger;
}

export interface Forgotten {
  tokens: boolean;
  sources: number;
  people: number;
  photos: number;
  runs: number;
  /** Runs in progress here that were cancelled before the delete. */
  cancelledRuns: number;
}

export interface UninstallService {
  forget(installation: string, reason: 'app_uninstalled' | 'tokens_revoked'): Promise<Forgotten>;
}

export function createUninstallService(options: UninstallOptions): UninstallService {
  const { sql, logger } = options;
  return {
    async forget(installation, reason) {
      const tokens = await options.forgetTokens(installation);
      const owned = await sql<{ id: string }[]>`select id from sources where slack_team_id = ${installation}`;
      let cancelledRuns = 0;
      for (const { id } of owned) {
        // A schedule, subscription or run that cannot be stopped must not keep the data alive: log and go on.
        const attempt = <T>(what: string, step: () => Promise<T>, otherwise: T) =>
          step().catch((error: unknown) => {
            logger.warn({ err: error, sourceId: id }, `could not ${what}`);
            return otherwise;
          });
        // No new scheduled run, then the run that may be writing is stopped, then Graph stops notifying (a
        // notification in between can only ask for a run of a source about to go, which then finds it gone).
        await attempt('stop a schedule', () => options.stopSchedule(id), undefined);
        cancelledRuns += await attempt('cancel a running sync', () => options.cancelRuns(id), 0);
        await attempt('stop Graph subscriptions', () => options.stopGraphSubscriptions(id), undefined);
      }
      const counts = await forgetInstallationSources(sql, installation);
      const forgotten = { tokens, ...counts, cancelledRuns };
      // The other of the two events (or a retry) finds nothing left: one audit line per uninstall.
      if (tokens || counts.sources > 0)
        logger.info({ audit: 'slack_uninstall', installation, reason, ...forgotten }, 'installation forgotten');
      return forgotten;
    },
  };
}
