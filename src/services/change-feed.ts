import type { Logger } from '../logger.ts';
import { Debouncer, type FireOutcome } from '../sync/notifications/debouncer.ts';
import {
  createNotificationReceiver,
  type NotificationOutcome,
  type NotificationReceiver,
} from '../sync/notifications/receiver.ts';
import {
  type ChangeFeedState,
  changeFeedState,
  forgetSubscription,
  type MaintenanceResult,
  maintainSubscriptions,
  reauthorizeSubscription,
  type SubscriptionDeps,
  stopSubscriptions,
} from '../sync/notifications/subscriptions.ts';
import type { SyncNowResult } from '../sync/scheduler/scheduler.ts';

/**
 * Near-real-time sync (README "Change notifications"): Graph subscriptions kept alive by a periodic
 * upkeep (one replica at a time), notifications verified by the receiver, and per-source debouncing into
 * delta runs through the scheduler's ordinary lock. Hourly runs go on regardless: they are the backstop
 * when PUBLIC_URL is unreachable, a permission is missing, or a notification was lost.
 */

export interface ChangeFeedOptions extends SubscriptionDeps {
  syncNow(sourceId: string, request: { trigger: 'notification' }): Promise<SyncNowResult>;
  count(outcome: NotificationOutcome, n: number): void;
  logger: Logger;
  /** How long notifications gather before one delta run is asked for (default 3 s). */
  debounceMs?: number;
  /** How often each replica checks whether subscriptions need creating or renewing (default 60 s). */
  upkeepEveryMs?: number;
}

export interface ChangeFeed {
  receiver: NotificationReceiver;
  start(): void;
  /** Check subscriptions soon (a source was set up, enabled or changed its groups). */
  nudge(): void;
  /** One upkeep now; resolves with what it did (tests, and `nudge`). */
  upkeep(): Promise<MaintenanceResult>;
  /** Stop change notifications for a source (uninstall, disable). */
  stopSource(sourceId: string): Promise<void>;
  state(sourceId: string): Promise<ChangeFeedState>;
  /** Runs asked for by notifications so far, and notifications that asked. */
  stats(): { notifications: number; runsStarted: number };
  stop(): Promise<void>;
}

const DEBOUNCE_MS = 3_000;
const UPKEEP_EVERY_MS = 60_000;

export function createChangeFeed(options: ChangeFeedOptions): ChangeFeed {
  const { logger } = options;
  const fire = async (sourceId: string): Promise<FireOutcome> => {
    const result = await options.syncNow(sourceId, { trigger: 'notification' });
    if (result.started) return 'started';
    return result.reason === 'already_running' ? 'busy' : 'skipped';
  };
  const debouncer = new Debouncer(fire, options.debounceMs ?? DEBOUNCE_MS, (error, sourceId) =>
    logger.warn({ err: error, sourceId }, 'could not start the sync a change notification asked for'),
  );
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<MaintenanceResult> | undefined;
  let again = false;
  let stopped = false;
  let started = false;

  const upkeep = (): Promise<MaintenanceResult> => {
    if (running) {
      again = true;
      return running;
    }
    running = maintainSubscriptions(options)
      .catch((error: unknown) => {
        logger.warn({ err: error }, 'Graph subscription upkeep failed');
        return { ran: false, created: 0, renewed: 0, removed: 0, refused: 0 };
      })
      .finally(() => {
        running = undefined;
        if (again && !stopped) {
          again = false;
          void upkeep();
        }
      });
    return running;
  };

  const receiver = createNotificationReceiver({
    sql: options.sql,
    encryptionKey: options.encryptionKey,
    count: options.count,
    changed: (known) => debouncer.touch(known.sourceId),
    lifecycle: async (known, event) => {
      logger.info({ sourceId: known.sourceId, resource: known.resource, event }, 'Graph lifecycle notification');
      if (event === 'reauthorizationRequired') await reauthorizeSubscription(options, known);
      if (event === 'subscriptionRemoved') {
        await forgetSubscription(options.sql, known.subscriptionId);
        void upkeep();
      }
      // Removed or missed: changes may have gone unheard, so a delta run catches up.
      if (event === 'subscriptionRemoved' || event === 'missed') debouncer.touch(known.sourceId);
    },
  });

  return {
    receiver,
    start() {
      started = true;
      void upkeep();
      timer = setInterval(() => void upkeep(), options.upkeepEveryMs ?? UPKEEP_EVERY_MS);
      timer.unref();
    },
    // A feed never started (turned off) makes no subscriptions, whatever runs finish.
    nudge: () => {
      if (started && !stopped) void upkeep();
    },
    upkeep,
    stopSource: (sourceId) => stopSubscriptions(options, sourceId),
    state: (sourceId) => changeFeedState(options.sql, sourceId),
    stats: () => ({ notifications: debouncer.stats.touches, runsStarted: debouncer.stats.started }),
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      await debouncer.close();
      await running;
    },
  };
}
