import type { RespondFn, webApi } from '@slack/bolt';
import type { SyncObserver } from '../../services/contract.ts';
import type { Actor, RunProgress, RunReport } from '../../services/model.ts';
import type { ListenerDeps } from '../deps.ts';
import { callbackIds } from '../ids.ts';
import {
  channelSink,
  createProgressReporter,
  fallbackSink,
  type ProgressSink,
  responseUrlSink,
} from '../progress-reporter.ts';
import { type MessagePayload, modal } from '../views/kit.ts';
import { refusalText } from '../views/refusals.ts';
import { alreadyRunningMessage, notSetUpMessage, problemMessage, syncStartedMessage } from '../views/replies.ts';
import { slackErrorCode } from '../web-errors.ts';

/**
 * "Sync now", from `/aad sync` or a button: start a run unless one is going, and follow it with one live
 * message in the admin channel (or, from the command, in the admin's own reply when the channel is out
 * of reach).
 */

/** How to answer the admin on the surface they used. */
export interface SyncReplies {
  say(payload: MessagePayload): Promise<unknown>;
  /** Where progress goes when the admin channel cannot be used; null: nowhere. */
  fallback: ProgressSink | null;
  /** Whether to say "Sync started" when progress is shown in the channel. */
  announceStart: boolean;
}

/** Answers through the response URL: the command's ephemeral reply, which progress may then replace. */
export function commandReplies(respond: RespondFn): SyncReplies {
  return {
    say: (payload) => respond({ response_type: 'ephemeral', replace_original: false, ...payload }),
    fallback: responseUrlSink((payload) => respond({ response_type: 'ephemeral', ...payload })),
    announceStart: true,
  };
}

/** A button on a message (an alert): ephemeral answers, never touching the alert itself. */
export function messageButtonReplies(respond: RespondFn): SyncReplies {
  return { ...commandReplies(respond), fallback: null };
}

/**
 * A button on the Home tab: problems in a small modal; the refreshed Home shows the running sync (and who
 * started it), so a modal whose trigger ran out (3 s: many presses at once on a busy replica) loses nothing.
 */
export function homeButtonReplies(
  client: Pick<webApi.WebClient, 'views'>,
  triggerId: string,
  logger: ListenerDeps['logger'],
): SyncReplies {
  return {
    say: (payload) =>
      client.views
        .open({
          trigger_id: triggerId,
          view: modal({ callbackId: callbackIds.notice, title: 'Sync now', blocks: payload.blocks }),
        })
        .catch((error: unknown) => {
          if (slackErrorCode(error) !== 'expired_trigger_id') throw error;
          logger.info(
            { text: payload.text },
            'Sync now: the notice came too late for its trigger; the Home tab says it',
          );
        }),
    fallback: null,
    announceStart: false,
  };
}

export const initialProgress = (run: RunReport): RunProgress => ({
  runId: run.id,
  mode: run.mode,
  trigger: run.trigger,
  requestedBy: run.requestedBy,
  startedAt: run.startedAt,
  phase: 'starting',
  read: 0,
  written: 0,
  total: null,
  photos: 0,
});

const unobserved: SyncObserver = { progress: () => {}, finished: () => {} };

/** The live message of a run in the admin channel, or in `fallback` when the channel is out of reach. */
function channelProgress(
  deps: ListenerDeps,
  client: Pick<webApi.WebClient, 'chat' | 'conversations'>,
  channel: string | null,
  fallback: ProgressSink | null,
) {
  const inChannel = channel ? channelSink(client, channel) : null;
  const sink = inChannel && fallback ? fallbackSink(inChannel, fallback) : (inChannel ?? fallback);
  const reporter = sink ? createProgressReporter({ sink, logger: deps.logger }) : null;
  return { inChannel, reporter };
}

/**
 * Enable, with the first sync of a new source (trigger 'setup') followed in the admin channel as "Sync
 * now" is, or in the admin's direct messages with the app when it cannot post there. The outcome comes at
 * once (a modal must be answered within 3 s); `shown` settles once the first message is up.
 */
export async function enableWithProgress(
  deps: ListenerDeps,
  client: Pick<webApi.WebClient, 'chat' | 'conversations'>,
  actor: Actor,
): Promise<{ outcome: Awaited<ReturnType<ListenerDeps['services']['enable']>>; shown: Promise<void> }> {
  const source = await deps.services.status(actor.teamId);
  const { reporter } = channelProgress(deps, client, source?.adminChannel ?? null, channelSink(client, actor.userId));
  const outcome = await deps.services.enable(actor, reporter ?? undefined);
  const firstSync = outcome.ok ? outcome.firstSync : undefined;
  if (!firstSync || !reporter) return { outcome, shown: Promise.resolve() };
  const shown = firstSync.then(async (start) => {
    if (!start.started) return;
    await reporter.start(initialProgress(start.run)).catch((error: unknown) => {
      deps.logger.warn({ err: error, runId: start.run.id }, 'could not show the first sync');
    });
  });
  return { outcome, shown };
}

/** Starts a run, or tells the admin why not (one is running: who started it). */
export async function startSync(
  deps: ListenerDeps,
  client: Pick<webApi.WebClient, 'chat' | 'conversations'>,
  actor: Actor,
  replies: SyncReplies,
): Promise<void> {
  const source = await deps.services.status(actor.teamId);
  if (!source) {
    await replies.say(notSetUpMessage());
    return;
  }
  const channel = source.adminChannel;
  const { inChannel, reporter } = channelProgress(deps, client, channel, replies.fallback);

  const start = await deps.services.syncNow(actor, reporter ?? unobserved);
  if (!start.started) {
    await replies.say(
      start.reason === 'running' ? alreadyRunningMessage(start.run) : problemMessage(refusalText(start.refusal)),
    );
    return;
  }
  try {
    await reporter?.start(initialProgress(start.run));
  } catch (error) {
    deps.logger.warn({ err: error, runId: start.run.id }, 'could not show sync progress');
    await replies.say(syncStartedMessage(null));
    return;
  }
  const shownInChannel = inChannel?.where() !== null && inChannel !== null;
  if (replies.announceStart && shownInChannel) await replies.say(syncStartedMessage(channel));
  else if (replies.announceStart && !reporter) await replies.say(syncStartedMessage(null));
}
