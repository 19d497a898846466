import type { EmulatedView } from '../emulators/slack/index.ts';
import { actionIds, blockIds, callbackIds } from '../slack/ids.ts';
import { DemoBrowser, pageText } from './browser.ts';
import { accepted, viewIf } from './slack.ts';
import { ADMIN, ADMIN_CHANNEL, type DemoStack } from './stack.ts';
import type { Transcript } from './transcript.ts';
import { waitFor } from './wait.ts';

/** `/aad setup` and the Microsoft sign-in in the admin's browser, up to the wizard's step 2 (Groups). */
export async function signInToGroupsStep(
  stack: DemoStack,
  t: Transcript,
): Promise<{ modal: EmulatedView; groupsStep: EmulatedView }> {
  const { client, slack } = stack;
  const admin = `@${ADMIN.name}`;
  t.step(1, 'An admin starts the setup');
  t.act(`${admin} in #${ADMIN_CHANNEL.name}: /aad setup`);
  accepted(await client.command('/aad', 'setup', { userId: ADMIN.id, channelId: ADMIN_CHANNEL.id }), '/aad setup');
  const modal = slack.lastView();
  if (!modal || modal.callback_id !== callbackIds.setupAuthorize) throw new Error('/aad setup opened no setup modal');
  t.surface(modal);

  t.step(2, 'Sign in with Microsoft');
  const link = signInLink(modal);
  t.act(`${admin} clicks “Sign in with Microsoft”; the browser goes:`);
  const hops = await new DemoBrowser().open(link);
  for (const hop of hops)
    t.note(`${hop.method} ${shortUrl(hop.url)}: ${hop.status}${hop.location ? `  → ${shortUrl(hop.location)}` : ''}`);
  const page = hops[hops.length - 1];
  if (page.status !== 200) throw new Error(`the sign-in ended on a ${page.status} page: ${pageText(page.text)}`);
  t.note(`The page: ${pageText(page.text)}`);
  const groupsStep = await waitFor(
    () => viewIf(stack, modal.id, callbackIds.setupGroups),
    'the setup modal to move on to step 2',
  );
  t.line('  The modal in Slack moved on by itself:');
  t.surface(groupsStep);

  return { modal, groupsStep };
}

function signInLink(view: EmulatedView): string {
  const block = view.blocks.find((b) => b.block_id === blockIds.authorizeActions) as
    | { elements?: { action_id?: string; url?: string }[] }
    | undefined;
  const url = block?.elements?.find((e) => e.action_id === actionIds.authorizeLink)?.url;
  if (!url) throw new Error('the setup modal shows no sign-in link');
  return url;
}

/** Addresses without their query: codes, state and PKCE challenges are not for a transcript. */
function shortUrl(url: string): string {
  const u = new URL(url);
  const path = u.pathname.length > 40 ? `${u.pathname.slice(0, 28)}…` : u.pathname;
  return `${u.origin}${path}${u.search ? '?…' : ''}`;
}
