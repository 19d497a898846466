import type { Logger } from '../logger.ts';
import type { SyncObserver } from '../services/contract.ts';
import type { RunProgress, RunReport } from '../services/model.ts';
import { ChannelAccessError, type ChatClient, postMessageAt } from './channel-post.ts';
import type { MessagePayload } from './views/kit.ts';
import { progressMessage, summaryMessage } from './views/progress.ts';
import { retryAfterSeconds } from './web-errors.ts';

/**
 * The live progress message of a sync: one message, updated at most every few seconds while the run
 * goes, then replaced by the summary. A 429 from Slack skips updates until its Retry-After has passed;
 * the summary waits for it instead, so the last word always lands.
 */

/** Where the message lives. `show` returns false when it can take no more updates. */
export interface ProgressSink {
  show(payload: MessagePayload, final: boolean): Promise<boolean>;
}

/** A regular message in a channel (or a user id: the app's DM), updated with `chat.update`. */
export function channelSink(
  client: ChatClient,
  channel: string,
): ProgressSink & { where(): { channel: string; ts: string } | null } {
  let posted: { channel: string; ts: string } | null = null;
  return {
    async show(payload) {
      if (posted === null) posted = await postMessageAt(client, channel, payload);
      else await client.chat.update({ ...posted, ...payload });
      return true;
    },
    where: () => posted,
  };
}

/** Slack allows 5 posts per response URL: keep the last for the summary. */
export const RESPONSE_URL_USES = 5;

/** The ephemeral reply of the command itself, replaced through its response URL. */
export function responseUrlSink(
  respond: (payload: MessagePayload & { replace_original: boolean }) => Promise<unknown>,
): ProgressSink {
  let used = 0;
  return {
    async show(payload, final) {
      if (used >= RESPONSE_URL_USES || (!final && used >= RESPONSE_URL_USES - 1)) return false;
      used += 1;
      await respond({ ...payload, replace_original: used > 1 });
      return true;
    },
  };
}

/** Uses `primary` unless its first message cannot reach the channel; then `fallback` for the whole run. */
export function fallbackSink(
  primary: ProgressSink,
  fallback: ProgressSink,
): ProgressSink & { usingFallback(): boolean } {
  let active: ProgressSink | null = null;
  return {
    async show(payload, final) {
      if (active) return active.show(payload, final);
      try {
        const shown = await primary.show(payload, final);
        active = primary;
        return shown;
      } catch (error) {
        if (!(error instanceof ChannelAccessError)) throw error;
        active = fallback;
        return fallback.show(payload, final);
      }
    },
    usingFallback: () => active === fallback,
  };
}

export interface ProgressReporterOptions {
  sink: ProgressSink;
  /** Shortest time between two updates; Slack's chat.update allows about 50 a minute per workspace. */
  minIntervalMs?: number;
  logger: Logger;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface ProgressReporter extends SyncObserver {
  /** Shows the first state of the run; rejects when the message cannot be shown at all. */
  start(initial: RunProgress): Promise<void>;
  /** Resolves once the summary is shown (or given up on after Slack kept refusing). */
  settled(): Promise<void>;
}

export const PROGRESS_INTERVAL_MS = 3000;
const SUMMARY_ATTEMPTS = 3;

export function createProgressReporter(options: ProgressReporterOptions): ProgressReporter {
  const { sink, logger } = options;
  const interval = options.minIntervalMs ?? PROGRESS_INTERVAL_MS;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let started = false;
  let finished = false;
  let exhausted = false;
  let lastShownAt = Number.NEGATIVE_INFINITY;
  let pausedUntil = 0;
  let inFlight: Promise<void> | null = null;
  let final: Promise<void> | null = null;
  /** The first message while it is being posted: a run may end before it is there, and the summary must come after it. */
  let opening: Promise<void> | null = null;

  function noteFailure(error: unknown) {
    const wait = retryAfterSeconds(error);
    if (wait !== undefined) pausedUntil = now() + wait * 1000;
    else logger.warn({ err: error }, 'could not update the sync progress message');
  }

  async function showSummary(run: RunReport) {
    if (inFlight) await inFlight;
    for (let attempt = 1; attempt <= SUMMARY_ATTEMPTS; attempt++) {
      try {
        await sink.show(summaryMessage(run), true);
        return;
      } catch (error) {
        const wait = retryAfterSeconds(error);
        if (wait === undefined || attempt === SUMMARY_ATTEMPTS) {
          logger.warn({ err: error, runId: run.id }, 'could not show the sync summary');
          return;
        }
        await sleep(wait * 1000);
      }
    }
  }

  return {
    async start(initial) {
      // The run ended before anyone called start: its summary is the only message.
      if (final) return final;
      opening = sink.show(progressMessage(initial), false).then(() => {
        lastShownAt = now();
        started = true;
      });
      await opening;
    },

    progress(progress) {
      const t = now();
      if (!started || finished || exhausted || inFlight || t - lastShownAt < interval || t < pausedUntil) return;
      lastShownAt = t;
      inFlight = sink
        .show(progressMessage(progress), false)
        .then((shown) => {
          exhausted = !shown;
        }, noteFailure)
        .finally(() => {
          inFlight = null;
        });
    },

    finished(run) {
      finished = true;
      final ??= (opening ?? Promise.resolve()).then(
        () => showSummary(run),
        () => showSummary(run),
      );
    },

    async settled() {
      if (final) await final;
      else if (inFlight) await inFlight;
    },
  };
}
