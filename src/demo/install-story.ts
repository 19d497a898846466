import { SLACK_INSTALL_PATH } from '../slack/install.ts';
import { DemoBrowser, pageText } from './browser.ts';
import { DEMO_SPACES } from './spaces.ts';
import type { DemoStack } from './stack.ts';
import type { Transcript } from './transcript.ts';

/**
 * The demo's second story (`aad-sync demo --story install`): one deployment installed by OAuth into a workspace
 * and, org-wide, into an Enterprise Grid org; each installation kept apart with its token sealed; an org member who
 * only administers one workspace refused; then one workspace removes the app and everything of it goes.
 */

export interface InstallStoryResult {
  installed: number;
  left: number;
}

const ALPHA = DEMO_SPACES.find((s) => s.teamId === 'T0ALPHA')!;
const ORG = DEMO_SPACES.find((s) => s.enterpriseId !== undefined)!;
const ALPHA_ADMIN = ALPHA.users.find((u) => u.isPrimaryOwner)!;
const ORG_OWNER = ORG.users.find((u) => u.orgRole === 'owner')!;
const ORG_WORKSPACE_ADMIN = ORG.users.find((u) => u.isAdmin && !u.orgRole)!;

/** "Add to Slack" in a browser; Slack's page is told which workspace or org the person chose, and who they are. */
async function addToSlack(stack: DemoStack, t: Transcript, team: string, user: string): Promise<string> {
  const browser = new DemoBrowser();
  const start = await browser.get(`${stack.publicUrl}${SLACK_INSTALL_PATH}`);
  if (!start.location) throw new Error(`${SLACK_INSTALL_PATH} answered ${start.status} instead of sending to Slack`);
  t.note(`${start.status} ${SLACK_INSTALL_PATH}  → Slack's authorize page (a signed state, kept in a cookie)`);
  const choice = new URL(start.location);
  choice.searchParams.set('team', team);
  choice.searchParams.set('user', user);
  const hops = await browser.open(choice.toString());
  for (const hop of hops) t.note(`${hop.status} ${new URL(hop.url).pathname}${hop.location ? '  → the app' : ''}`);
  const page = hops[hops.length - 1];
  if (page.status !== 200) throw new Error(`the install ended on a ${page.status} page: ${pageText(page.text)}`);
  return pageText(page.text);
}

export async function runInstallStory(stack: DemoStack, t: Transcript): Promise<InstallStoryResult> {
  t.step(1, 'Add to Slack: a workspace');
  t.act(`@${ALPHA_ADMIN.name}, owner of workspace ${ALPHA.teamId}, opens ${stack.publicUrl}${SLACK_INSTALL_PATH}`);
  t.note(`The page: ${await addToSlack(stack, t, ALPHA.teamId, ALPHA_ADMIN.id)}`);

  t.step(2, 'Add to Slack: a whole Enterprise Grid org');
  t.act(`@${ORG_OWNER.name}, owner of org ${ORG.enterpriseId}, installs it for every workspace of the org`);
  t.note(`The page: ${await addToSlack(stack, t, ORG.enterpriseId!, ORG_OWNER.id)}`);

  t.step(3, 'Each installation is kept apart, its bot token sealed');
  const rows = await stack.sql<{ id: string; is_enterprise_install: boolean; bot_token: string }[]>`
    select id, is_enterprise_install, bot_token from slack_installations order by id`;
  for (const row of rows) {
    const kind = row.is_enterprise_install ? 'org-wide (one directory for the org)' : 'workspace';
    t.note(`${row.id}: ${kind}, bot token stored as ${row.bot_token.slice(0, 12)}… (AES-256-GCM)`);
  }

  t.step(4, 'Only the org’s owners and admins administer the org’s directory');
  const who = `@${ORG_WORKSPACE_ADMIN.name}`;
  t.act(`${who}, admin of workspace ${ORG_WORKSPACE_ADMIN.teamId} only: /aad status`);
  const refused = await stack.client.command('/aad', 'status', { userId: ORG_WORKSPACE_ADMIN.id });
  t.note(`aad-sync: ${(refused.body as { text?: string }).text ?? refused.text}`);
  t.act(`@${ORG_OWNER.name}, org owner, in workspace ${ORG_OWNER.teamId}: /aad status`);
  const allowed = await stack.client.command('/aad', 'status', { userId: ORG_OWNER.id });
  const answer = stack.slack.responses().findLast((r) => r.id === allowed.responseUrl.split('/').pop());
  t.note(`aad-sync: ${String(answer?.body.text ?? (allowed.body as { text?: string }).text)}`);

  t.step(5, 'The workspace removes the app');
  t.act(`Slack sends app_uninstalled and tokens_revoked for ${ALPHA.teamId}`);
  await stack.client.uninstall(ALPHA.teamId);
  const [left] = await stack.sql<{ installations: number; sources: number }[]>`
    select (select count(*)::int from slack_installations) as installations,
      (select count(*)::int from sources where slack_team_id = ${ALPHA.teamId}) as sources`;
  t.note(
    `Its token and everything synced for it are deleted at once; ${left.installations} installation left (the org).`,
  );
  return { installed: rows.length, left: left.installations };
}
