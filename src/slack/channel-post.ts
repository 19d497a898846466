import type { webApi } from '@slack/bolt';
import type { MessagePayload } from './views/kit.ts';
import { slackErrorCode } from './web-errors.ts';

/**
 * Posting into the admin channel: the app joins a public channel by itself the first time
 * (`channels:join`), and reports a private channel it was not invited to as `ChannelAccessError` so the
 * caller can tell the admins.
 */

export type ChatClient = Pick<webApi.WebClient, 'chat' | 'conversations'>;

export class ChannelAccessError extends Error {
  constructor(
    readonly channel: string,
    readonly reason: string,
  ) {
    super(`cannot post in ${channel}: ${reason}`);
    this.name = 'ChannelAccessError';
  }
}

const NO_ACCESS = new Set(['not_in_channel', 'channel_not_found']);

/** Posts `payload` to `channel` (joining it if public) and returns the message's `ts`. */
export async function postToChannel(
  client: ChatClient,
  channel: string,
  payload: MessagePayload & { thread_ts?: string },
): Promise<string> {
  return (await postMessageAt(client, channel, payload)).ts;
}

/**
 * As `postToChannel`, with the channel Slack put the message in: a user id as `channel` posts to the
 * app's direct messages with them, whose own `D…` id is what `chat.update` needs later.
 */
export async function postMessageAt(
  client: ChatClient,
  channel: string,
  payload: MessagePayload & { thread_ts?: string },
): Promise<{ channel: string; ts: string }> {
  const at = (posted: { channel?: string; ts?: string }) => ({ channel: posted.channel ?? channel, ts: posted.ts! });
  try {
    return at(await client.chat.postMessage({ channel, ...payload }));
  } catch (error) {
    const code = slackErrorCode(error);
    if (!code || !NO_ACCESS.has(code)) throw error;
  }
  try {
    await client.conversations.join({ channel });
  } catch (error) {
    // Private channels (and channels the bot cannot see) need an /invite from a member.
    throw new ChannelAccessError(channel, slackErrorCode(error) ?? 'join failed');
  }
  return at(await client.chat.postMessage({ channel, ...payload }));
}
