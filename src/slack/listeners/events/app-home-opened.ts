import type { Middleware, SlackEventMiddlewareArgs } from '@slack/bolt';
import type { ListenerDeps } from '../../deps.ts';
import { publishHome } from '../../flows/home.ts';
import { installationKey } from '../../installation-key.ts';

export function appHomeOpened(deps: ListenerDeps): Middleware<SlackEventMiddlewareArgs<'app_home_opened'>> {
  return async ({ event, client, context }) => {
    if (event.tab !== 'home') return;
    await publishHome(deps, client, installationKey(context) ?? '', event.user);
  };
}
