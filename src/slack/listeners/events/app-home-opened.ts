import type { Middleware, SlackEventMiddlewareArgs } from '@slack/bolt';
import { homeView } from '../../views/home.ts';
import type { ListenerDeps } from '../deps.ts';

/** Publishes the Home tab: the dashboard for admins, the `/whois` guide for everyone else. */
export function appHomeOpened(deps: ListenerDeps): Middleware<SlackEventMiddlewareArgs<'app_home_opened'>> {
  return async ({ event, client, context }) => {
    if (event.tab !== 'home') return;
    const teamId = context.teamId ?? '';
    const [admin, source] = await Promise.all([
      deps.adminCheck.isAdmin(client, event.user),
      deps.services.status(teamId),
    ]);
    const view = admin
      ? homeView({ audience: 'admin', source })
      : homeView({
          audience: 'member',
          directoryReady: source !== null && source.activeProfiles > 0,
          people: source?.activeProfiles ?? null,
        });
    await client.views.publish({ user_id: event.user, view });
  };
}
