import type { webApi } from '@slack/bolt';
import type { SlackIdentityLookup } from '../directory/slack-identity.ts';

type WebClient = webApi.WebClient;

/** "Nobody has this id / email" is an answer; anything else (rate limit, network) is an error to retry later. */
function isNotFound(error: unknown): boolean {
  const data = (error as { code?: string; data?: { error?: string } }).data;
  return (
    (error as { code?: string }).code === 'slack_webapi_platform_error' &&
    (data?.error === 'users_not_found' || data?.error === 'user_not_found')
  );
}

/** `users.info` and `users.lookupByEmail` (scopes `users:read`, `users:read.email`) as the directory asks them. */
export function slackIdentityLookup(client: WebClient): SlackIdentityLookup {
  return {
    async lookupSlackUserEmail(userId) {
      try {
        const { user } = await client.users.info({ user: userId });
        return user?.deleted ? undefined : user?.profile?.email || undefined;
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },
    async lookupByEmail(email) {
      try {
        const { user } = await client.users.lookupByEmail({ email });
        return user?.deleted ? undefined : user?.id || undefined;
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },
  };
}
