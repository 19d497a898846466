import type { RespondFn, webApi } from '@slack/bolt';
import type { Actor, RunProgress, RunReport } from '../../model.ts';
import {
  channelSink,
  createProgressReporter,
  fallbackSink,
  type ProgressSink,
  responseUrlSink,
} from '../../progress-reporter.ts';
import type { MessagePayload } from '../../views/kit.ts';
import { alreadyRunningMessage, notSetUpMessage, problemMessage, syncStartedMessage } from '../../views/replies.ts';
import type { ListenerDeps } from '../deps.ts';

/**
 * "Sync now", from `/aad sync` or a button: start a run unless one is going, and follow it with one live
 * message in the admin channel (or, when the app cannot post there, in the admin's ephemeral reply).
 */

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

export async function startSync(
  deps: ListenerDeps,
  client: Pick<webApi.WebClient, 'chat' | 'conversations'>,
  actor: Actor,
  respond: RespondFn,
): Promise<void> {
  const reply = (payload: MessagePayload) =>
    respond({ response_type: 'ephemeral', replace_original: false, ...payload });
  const source = await deps.services.status(actor.teamId);
  if (!source) {
    await reply(notSetUpMessage());
    return;
  }
  const viaResponse = responseUrlSink((payload) => respond({ response_type: 'ephemeral', ...payload }));
  const channel = source.adminChannel;
  const sink: ProgressSink & { usingFallback?(): boolean } = channel
    ? fallbackSink(channelSink(client, channel), viaResponse)
    : viaResponse;
  const reporter = createProgressReporter({ sink, logger: deps.logger });

  const start = await deps.services.syncNow(actor, reporter);
  if (!start.started) {
    await reply(start.reason === 'running' ? alreadyRunningMessage(start.run) : problemMessage(start.message));
    return;
  }
  try {
    await reporter.start(initialProgress(start.run));
  } catch (error) {
    deps.logger.warn({ err: error, runId: start.run.id }, 'could not show sync progress');
    await reply(syncStartedMessage(null));
    return;
  }
  if (channel && !sink.usingFallback?.()) await reply(syncStartedMessage(channel));
}
