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
  try {
    const posted = await client.chat.postMessage({ channel, ...payload });
    return posted.ts!;
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
  const posted = await client.chat.postMessage({ channel, ...payload });
  return posted.ts!;
}
