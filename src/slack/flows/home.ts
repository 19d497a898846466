import type { webApi } from '@slack/bolt';
import type { ListenerDeps } from '../deps.ts';
import { isOrgInstallation } from '../installation-key.ts';
import { homeView } from '../views/home.ts';

/** Publishes the Home tab for one person: the dashboard for admins, the `/whois` guide for everyone else. */
export async function publishHome(
  deps: ListenerDeps,
  client: Pick<webApi.WebClient, 'views' | 'users'>,
  /** The installation (workspace, or org for an org-wide install). */
  teamId: string,
  userId: string,
): Promise<void> {
  const [admin, source] = await Promise.all([
    deps.adminCheck.isAdmin(client, userId, { orgWide: isOrgInstallation(teamId), recent: true }),
    deps.services.status(teamId),
  ]);
  const view = admin
    ? homeView({ audience: 'admin', source })
    : homeView({
        audience: 'member',
        directoryReady: source !== null && source.activeProfiles > 0,
        people: source?.activeProfiles ?? null,
      });
  await client.views.publish({ user_id: userId, view });
}
