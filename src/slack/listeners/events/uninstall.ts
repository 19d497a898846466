import type { Middleware, SlackEventMiddlewareArgs } from '@slack/bolt';
import type { ListenerDeps } from '../../deps.ts';
import { installationKey } from '../../installation-key.ts';

/**
 * `app_uninstalled` and `tokens_revoked` (Bolt delivers both without authorizing: the tokens are gone). Either
 * one forgets the installation; the second finds nothing left. A `tokens_revoked` for user tokens only leaves
 * the bot working, and aad-sync holds no user tokens, so it changes nothing.
 */
export function uninstalled(
  deps: ListenerDeps,
): Middleware<SlackEventMiddlewareArgs<'app_uninstalled'> | SlackEventMiddlewareArgs<'tokens_revoked'>> {
  return async ({ event, context }) => {
    const installation = installationKey(context);
    if (!installation || !deps.uninstall) return;
    if (event.type === 'tokens_revoked' && (event.tokens.bot ?? []).length === 0) return;
    await deps.uninstall.forget(installation, event.type);
  };
}
