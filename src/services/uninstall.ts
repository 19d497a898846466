import type { Sql } from '../db/client.ts';
import { forgetInstallationSources } from '../db/sources.ts';
import type { Logger } from '../logger.ts';

/**
 * A workspace or Grid org removed the app (`app_uninstalled`, `tokens_revoked`; they may come in either order, and
 * each may be retried). Slack asks apps to delete tokens at once and the workspace's data per their policy; ours is
 * to keep nothing: tokens first, then each source's schedule and Graph subscriptions are stopped, then its people,
 * photos, runs, groups, pending sign-ins and settings are deleted. Other installations are not touched. One audit
 * line with counts, never names. Forgetting twice is harmless; reinstalling starts clean.
 */

export interface UninstallOptions {
  sql: Sql;
  /** Deletes the installation's Slack tokens (OAuth mode); true when there were any. */
  forgetTokens(installation: string): Promise<boolean>;
  /** Removes the source's scheduled syncs (the scheduler's disable). */
  stopSchedule(sourceId: string): Promise<void>;
  /**
   * Seam for Graph change notifications (issue 17): stops the source's subscriptions before its rows go.
   * Left unset while the product has no subscriptions.
   */
  stopGraphSubscriptions?: (sourceId: string) => Promise<void>;
  logger: Logger;
}

export interface Forgotten {
  tokens: boolean;
  sources: number;
  people: number;
  photos: number;
  runs: number;
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
      for (const { id } of owned) {
        // A schedule or subscription that cannot be stopped must not keep the data alive: log and go on.
        await options
          .stopSchedule(id)
          .catch((error: unknown) => logger.warn({ err: error, sourceId: id }, 'could not stop a schedule'));
        await options
          .stopGraphSubscriptions?.(id)
          .catch((error: unknown) => logger.warn({ err: error, sourceId: id }, 'could not stop Graph subscriptions'));
      }
      const counts = await forgetInstallationSources(sql, installation);
      const forgotten = { tokens, ...counts };
      // The other of the two events (or a retry) finds nothing left: one audit line per uninstall.
      if (tokens || counts.sources > 0)
        logger.info({ audit: 'slack_uninstall', installation, reason, ...forgotten }, 'installation forgotten');
      return forgotten;
    },
  };
}
