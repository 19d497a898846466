import type { Logger } from '../logger.ts';
import type { AlertPoster } from '../services/alerts.ts';
import { ChannelAccessError, type ChatClient, postToChannel } from './channel-post.ts';
import { alertMessage, cannotPostMessage, recoveredReply } from './views/alerts.ts';
import { slackErrorCode } from './web-errors.ts';

/**
 * Alerts in the admin channel (DESIGN §6): the first failure of a streak posts, later failures and
 * resolutions update that same message, and a success replies "recovered" in its thread. The caller
 * keeps `AlertRef` with the source (`alert_channel`, `alert_ts`) between runs.
 */

export interface AlertPosterOptions {
  client: ChatClient;
  logger: Logger;
}

export function createAlertPoster({ client, logger }: AlertPosterOptions): AlertPoster {
  async function tellAdmins(channel: string, admins: string[]) {
    for (const admin of admins) {
      try {
        await client.chat.postMessage({ channel: admin, ...cannotPostMessage(channel) });
      } catch (error) {
        logger.warn({ err: error, admin, channel }, 'could not tell an admin that alerts cannot be posted');
      }
    }
  }

  return {
    async show(channel, alert, current, tellIfNoAccess) {
      const payload = alertMessage(alert);
      if (current && current.channel === channel) {
        try {
          await client.chat.update({ channel, ts: current.ts, ...payload });
          return { ok: true, ref: current, posted: 'updated' };
        } catch (error) {
          // Deleted by someone, or too old to edit: start a new message rather than lose the alert.
          if (!['message_not_found', 'cant_update_message', 'edit_window_closed'].includes(slackErrorCode(error) ?? ''))
            throw error;
        }
      }
      try {
        const ts = await postToChannel(client, channel, payload);
        return { ok: true, ref: { channel, ts }, posted: 'new' };
      } catch (error) {
        if (!(error instanceof ChannelAccessError)) throw error;
        logger.warn({ channel, reason: error.reason }, 'cannot post alerts in the admin channel');
        await tellAdmins(channel, tellIfNoAccess);
        return { ok: false, reason: 'no_channel_access', channel };
      }
    },

    async recovered(ref, alert, data) {
      await client.chat.postMessage({ channel: ref.channel, thread_ts: ref.ts, ...recoveredReply(data) });
      const resolved = alert.resolution
        ? alert
        : {
            ...alert,
            resolution: { kind: 'resolved' as const, by: null, at: data.run.finishedAt ?? data.run.startedAt },
          };
      try {
        await client.chat.update({ channel: ref.channel, ts: ref.ts, ...alertMessage(resolved) });
      } catch (error) {
        logger.warn({ err: error, ref }, 'could not mark the alert resolved');
      }
    },
  };
}
