import type { EmulatedView, FormInput } from '../emulators/slack/index.ts';
import { DEFAULT_USERS } from '../emulators/slack/index.ts';
import { actionIds, blockIds, callbackIds, optionValues } from '../slack/ids.ts';
import { followChannel, watchRun } from './channel.ts';
import { changeTenant, control } from './entra-changes.ts';
import { signInToGroupsStep } from './sign-in.ts';
import { accepted, responsesTo, viewIf, withValues } from './slack.ts';
import { ADMIN, ADMIN_CHANNEL, type DemoStack, MEMBER } from './stack.ts';
import type { Transcript } from './transcript.ts';
import { waitFor } from './wait.ts';

/**
 * The demo's story, told through the real app: every step is a signed Slack request (slash command,
 * options load, view submission, event) into the running server, or the admin's browser following the
 * sign-in link; what the app does in return is read back from the Slack emulator and printed.
 */

export interface DemoResult {
  synced: number;
  skipped: number;
}

type Option = { text: { text: string }; value: string };
type Choice = { text: string; value: string };
type GroupSearch = { typed: string; pick: string };

const GROUP_SEARCHES: GroupSearch[] = [
  { typed: 'eng', pick: 'Engineering' },
  { typed: 'sal', pick: 'Sales' },
];
const ADDED_GROUP: GroupSearch = { typed: 'mark', pick: 'Marketing' };
/** One of the new hires of step 8 (entra-changes.ts) is promoted while nobody syncs. */
const NEW_TITLE = { who: 'Noor Haddad', title: 'Staff Software Engineer' };

export async function runDemoScript(stack: DemoStack, t: Transcript): Promise<DemoResult> {
  const { client, slack } = stack;
  const admin = `@${ADMIN.name}`;
  const member = `@${MEMBER.name}`;
  const channel = followChannel(stack, t, ADMIN_CHANNEL);

  const { modal, groupsStep } = await signInToGroupsStep(stack, t);

  t.step(3, 'Choose two groups');
  const chosen: Choice[] = [];
  for (const search of GROUP_SEARCHES) chosen.push(await searchGroup(stack, t, groupsStep, search));
  t.act(
    `${admin} picks ${chosen.map((c) => c.text).join(' and ')} (members of nested groups count too) and presses Next`,
  );
  accepted(await client.viewSubmission(groupsStep, { [blockIds.groups]: chosen }), 'the groups step');
  const settingsStep = await waitFor(
    () => viewIf(stack, modal.id, callbackIds.setupSettings),
    'step 3 (mappings & settings)',
  );

  t.step(4, 'Mappings & settings');
  const wrong: Record<string, FormInput> = {
    [blockIds.mapping('externalId')]: 'displayName',
    [blockIds.adminChannel]: ADMIN_CHANNEL.id,
    [blockIds.options]: [optionValues.photoSync, optionValues.hourlySync],
  };
  t.act(
    `${admin} maps Unique Identifier to Display name, picks #${ADMIN_CHANNEL.name}, turns photos on, presses Preview`,
  );
  const refused = accepted(await client.viewSubmission(settingsStep, wrong), 'the settings step');
  const errors = (refused.body as { response_action?: string; errors?: Record<string, string> }).errors;
  if (!errors) throw new Error('a unique identifier that is not unique was accepted');
  t.note('Refused on the field, nothing saved:');
  t.surface(withValues(settingsStep, wrong), errors);
  t.act(`${admin} sets Unique Identifier back to Object ID and presses Preview again`);
  accepted(
    await client.viewSubmission(settingsStep, { ...wrong, [blockIds.mapping('externalId')]: 'id' }),
    'the settings step',
  );

  t.step(5, 'Preview: who would be imported');
  const preview = await waitFor(() => {
    const view = viewIf(stack, modal.id, callbackIds.setupPreview);
    return view && JSON.stringify(view.blocks).includes('Will be imported') ? view : null;
  }, 'the preview');
  t.surface(preview);

  t.step(6, 'Enable: the first sync');
  t.act(`${admin} presses Enable`);
  accepted(await client.viewSubmission(preview), 'Enable');
  t.surface(await waitFor(() => viewIf(stack, modal.id, callbackIds.setupDone), 'the “all set” modal'));
  t.note('The first sync runs in the background; the demo waits for it.');
  await waitFor(
    () => {
      channel.flush();
      return firstSyncFinished(stack);
    },
    'the first sync to finish',
    60_000,
  );
  t.act(`${admin} opens the app’s Home tab`);
  accepted(await client.appHomeOpened(ADMIN.id), 'opening the Home tab');
  const home = await waitFor(() => slack.homeOf(ADMIN.id), 'the Home tab');
  t.surface(home);

  t.step(7, 'Add a group and sync now, from the Home tab');
  t.act(`${admin} clicks Edit groups`);
  accepted(await client.blockAction({ userId: ADMIN.id, actionId: actionIds.editGroups, view: home }), 'Edit groups');
  const edit = await waitFor(() => {
    const view = slack.lastView();
    return view?.callback_id === callbackIds.editGroups ? view : null;
  }, 'the Edit groups modal');
  t.surface(edit);
  const added = await searchGroup(stack, t, edit, ADDED_GROUP);
  t.act(`${admin} adds ${added.text} and presses Save`);
  accepted(await client.viewSubmission(edit, { [blockIds.groups]: [...chosen, added] }), 'saving the groups');
  t.act(`${admin} clicks Sync now: the groups changed, so this is a full sync`);
  await watchRun(channel, async () =>
    accepted(
      await client.blockAction({ userId: ADMIN.id, actionId: actionIds.syncNow, view: slack.homeOf(ADMIN.id) }),
      'Sync now',
    ),
  );

  t.step(8, 'Meanwhile in Entra ID: people join, change jobs and leave');
  const changes = await changeTenant(stack, chosen[0].value);
  t.note(
    `${changes.hired} new hires in ${chosen[0].text}, ${changes.promoted} new job titles, ${changes.left} people left.`,
  );
  t.act(`${admin}: /aad sync`);
  await watchRun(channel, async () => {
    const sync = accepted(
      await client.command('/aad', 'sync', { userId: ADMIN.id, channelId: ADMIN_CHANNEL.id }),
      '/aad sync',
    );
    for (const response of responsesTo(stack, sync.responseUrl)) t.message(response);
  });

  t.step(9, 'Nobody presses Sync now: a change in Entra ID reaches /whois by itself');
  await liveChange(stack, t, member);

  t.step(10, 'Anyone can look people up with /whois');
  const people = await whoisTargets(stack, t);
  for (const [query, why] of [
    [people.exact, 'a name'],
    [people.typo, 'a name with a typo'],
    [people.email, 'an email address'],
  ]) {
    t.act(`${member} (not an admin): /whois ${query}  (${why})`);
    const reply = accepted(
      await client.command('/whois', query, { userId: MEMBER.id, channelId: 'C0GENERAL' }),
      `/whois ${query}`,
    );
    const [answer] = responsesTo(stack, reply.responseUrl);
    if (!answer) throw new Error(`/whois ${query} got no answer`);
    t.message(answer);
  }

  t.step(11, 'Status');
  t.act(`${admin}: /aad status`);
  const status = accepted(
    await client.command('/aad', 'status', { userId: ADMIN.id, channelId: ADMIN_CHANNEL.id }),
    '/aad status',
  );
  for (const response of responsesTo(stack, status.responseUrl)) t.message(response);

  return directoryCounts(stack);
}

/**
 * Near-real-time (README "Change notifications"): an Entra admin gives one of the new hires a new title; Graph
 * notifies the app, which runs a short delta sync by itself; an employee's /whois shows the new title and says
 * the card is live.
 */
async function liveChange(stack: DemoStack, t: Transcript, member: string): Promise<void> {
  const [hire] = await stack.sql<{ graph_id: string; display_name: string }[]>`
    select graph_id, display_name from profiles where active and display_name = ${NEW_TITLE.who}`;
  if (!hire) throw new Error(`${NEW_TITLE.who} is not in the directory`);
  await waitFor(
    async () =>
      (await stack.sql`select 1 from graph_subscriptions where resource = 'users' and status = 'active'`).length > 0,
    'the Graph subscription on /users',
    60_000,
  );
  t.act(`An Entra admin makes ${hire.display_name} “${NEW_TITLE.title}” in the Entra admin center`);
  const started = Date.now();
  await control(stack, 'POST', 'users', [{ id: hire.graph_id, jobTitle: NEW_TITLE.title }]);
  await waitFor(
    async () =>
      (
        await stack.sql`select 1 from profiles where graph_id = ${hire.graph_id} and active and job_title = ${NEW_TITLE.title}`
      ).length > 0,
    'the new title to reach the directory',
    60_000,
  );
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  t.note(
    `${seconds} s later the directory has it: Microsoft Graph sent a change notification, and the app ran a short delta sync of its own.`,
  );
  t.act(`${member} (not an admin): /whois ${hire.display_name}`);
  const reply = accepted(
    await stack.client.command('/whois', hire.display_name, { userId: MEMBER.id, channelId: 'C0GENERAL' }),
    `/whois ${hire.display_name}`,
  );
  const [answer] = responsesTo(stack, reply.responseUrl);
  if (!answer) throw new Error(`/whois ${hire.display_name} got no answer`);
  t.message(answer);
}

/** Types into the group picker of `view` (an options load, as Slack sends while the admin types) and picks one. */
async function searchGroup(stack: DemoStack, t: Transcript, view: EmulatedView, search: GroupSearch): Promise<Choice> {
  const reply = accepted(
    await stack.client.optionsLoad(actionIds.groupsSelect, search.typed, view),
    `the group search "${search.typed}"`,
  );
  const options = ((reply.body as { options?: Option[] }).options ?? []).filter(
    (o) => o.value !== optionValues.searchFailed,
  );
  const names = options.map((o) => o.text.text);
  const shown = `${names.slice(0, 6).join(' · ')}${names.length > 6 ? ' …' : ''}`;
  const count = names.length === 1 ? '1 suggestion' : `${names.length} suggestions`;
  t.act(`@${ADMIN.name} types “${search.typed}”: ${count} (${shown})`);
  const pick = options.find((o) => o.text.text === search.pick);
  if (!pick) throw new Error(`the group search for "${search.typed}" did not offer ${search.pick}`);
  return { text: pick.text.text, value: pick.value };
}

async function firstSyncFinished(stack: DemoStack): Promise<boolean> {
  const rows = await stack.sql<{ status: string }[]>`
    select status from sync_runs where trigger = 'setup' and mode <> 'preview' order by id desc limit 1`;
  return rows.length > 0 && rows[0].status !== 'running';
}

/**
 * Three people from the synced directory, each with a manager and a phone so their cards are full: one
 * asked for by name, one by name with two letters swapped, one by email. They get Slack accounts in the
 * emulated workspace, so their cards link to them.
 */
async function whoisTargets(stack: DemoStack, t: Transcript): Promise<{ exact: string; typo: string; email: string }> {
  const rows = await stack.sql<{ first_name: string; last_name: string; email: string }[]>`
    select first_name, last_name, email from profiles
    where active and manager_external_id is not null and mobile_phone is not null and length(last_name) >= 6
      and last_name ~ '^[A-Za-z]+$' and first_name ~ '^[A-Za-z]+$'
    order by external_id limit 3`;
  if (rows.length < 3) throw new Error('the directory has fewer than three complete profiles');
  const accounts = rows.map((r, i) => ({
    id: `U0PEOPLE${i}`,
    name: `${r.first_name}.${r.last_name}`.toLowerCase(),
    realName: `${r.first_name} ${r.last_name}`,
    email: r.email,
  }));
  stack.slack.setUsers([...DEFAULT_USERS, ...accounts]);
  for (const account of accounts) t.style.users = { ...t.style.users, [account.id]: account.name };
  const [a, b, c] = rows;
  const swapped = `${b.last_name.slice(0, 2)}${b.last_name[3]}${b.last_name[2]}${b.last_name.slice(4)}`;
  return { exact: `${a.first_name} ${a.last_name}`, typo: `${b.first_name} ${swapped}`, email: c.email };
}

/** People in the directory now, and how many the last full sync skipped. */
async function directoryCounts(stack: DemoStack): Promise<DemoResult> {
  const [counts] = await stack.sql<DemoResult[]>`
    select (select count(*)::int from profiles where active) as synced,
           (select ignored_count from sync_runs where mode = 'full' order by id desc limit 1) as skipped`;
  return counts;
}
