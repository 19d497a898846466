import { randomUUID } from 'node:crypto';
import type { EmulatedView, FormInput, RecordedCall } from '../emulators/slack/index.ts';
import { DEFAULT_USERS, formValues } from '../emulators/slack/index.ts';
import { actionIds, blockIds, callbackIds, optionValues } from '../slack/ids.ts';
import { DemoBrowser, pageText } from './browser.ts';
import { renderMessage } from './render.ts';
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

export async function runDemoScript(stack: DemoStack, t: Transcript): Promise<DemoResult> {
  const { client, slack } = stack;
  const admin = `@${ADMIN.name}`;
  const member = `@${MEMBER.name}`;
  const channel = followChannel(stack, t, ADMIN_CHANNEL.id);

  const { modal, groupsStep } = await signInToGroupsStep(stack, t);

  t.step(3, 'Choose two groups');
  const chosen: Choice[] = [];
  for (const search of GROUP_SEARCHES) chosen.push(await searchGroup(stack, t, groupsStep, search));
  t.act(
    `${admin} picks ${chosen.map((c) => c.text).join(' and ')} (members of nested groups count too) and presses Next`,
  );
  await client.viewSubmission(groupsStep, { [blockIds.groups]: chosen });
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
  const refused = await client.viewSubmission(settingsStep, wrong);
  const errors = (refused.body as { response_action?: string; errors?: Record<string, string> }).errors;
  if (!errors) throw new Error('a unique identifier that is not unique was accepted');
  t.note('Refused on the field, nothing saved:');
  t.surface(withValues(settingsStep, wrong), errors);
  t.act(`${admin} sets Unique Identifier back to Object ID and presses Preview again`);
  await client.viewSubmission(settingsStep, { ...wrong, [blockIds.mapping('externalId')]: 'id' });

  t.step(5, 'Preview: who would be imported');
  const preview = await waitFor(() => {
    const view = viewIf(stack, modal.id, callbackIds.setupPreview);
    return view && JSON.stringify(view.blocks).includes('Will be imported') ? view : null;
  }, 'the preview');
  t.surface(preview);

  t.step(6, 'Enable: the first sync');
  t.act(`${admin} presses Enable`);
  await client.viewSubmission(preview);
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
  await client.appHomeOpened(ADMIN.id);
  const home = await waitFor(() => slack.homeOf(ADMIN.id), 'the Home tab');
  t.surface(home);

  t.step(7, 'Add a group and sync now, from the Home tab');
  t.act(`${admin} clicks Edit groups`);
  await client.blockAction({ userId: ADMIN.id, actionId: actionIds.editGroups, view: home });
  const edit = await waitFor(() => {
    const view = slack.lastView();
    return view?.callback_id === callbackIds.editGroups ? view : null;
  }, 'the Edit groups modal');
  t.surface(edit);
  const added = await searchGroup(stack, t, edit, ADDED_GROUP);
  t.act(`${admin} adds ${added.text} and presses Save`);
  await client.viewSubmission(edit, { [blockIds.groups]: [...chosen, added] });
  t.act(`${admin} clicks Sync now: the groups changed, so this is a full sync`);
  await watchRun(channel, () =>
    client.blockAction({ userId: ADMIN.id, actionId: actionIds.syncNow, view: slack.homeOf(ADMIN.id) }),
  );

  t.step(8, 'Meanwhile in Entra ID: people join, change jobs and leave');
  const changes = await changeTenant(stack, chosen[0].value);
  t.note(
    `${changes.hired} new hires in ${chosen[0].text}, ${changes.promoted} new job titles, ${changes.left} people left.`,
  );
  t.act(`${admin}: /aad sync`);
  await watchRun(channel, async () => {
    const sync = await client.command('/aad', 'sync', { userId: ADMIN.id, channelId: ADMIN_CHANNEL.id });
    for (const response of responsesTo(stack, sync.responseUrl)) t.message(response);
  });

  t.step(9, 'Anyone can look people up with /whois');
  const people = await whoisTargets(stack, t);
  for (const [query, why] of [
    [people.exact, 'a name'],
    [people.typo, 'a name with a typo'],
    [people.email, 'an email address'],
  ]) {
    t.act(`${member} (not an admin): /whois ${query}  (${why})`);
    const reply = await client.command('/whois', query, { userId: MEMBER.id, channelId: 'C0GENERAL' });
    const [answer] = responsesTo(stack, reply.responseUrl);
    if (!answer) throw new Error(`/whois ${query} got no answer`);
    t.message(answer);
  }

  t.step(10, 'Status');
  t.act(`${admin}: /aad status`);
  const status = await client.command('/aad', 'status', { userId: ADMIN.id, channelId: ADMIN_CHANNEL.id });
  for (const response of responsesTo(stack, status.responseUrl)) t.message(response);

  return directoryCounts(stack);
}

/** `/aad setup` and the Microsoft sign-in in the admin's browser, up to the wizard's step 2 (Groups). */
export async function signInToGroupsStep(
  stack: DemoStack,
  t: Transcript,
): Promise<{ modal: EmulatedView; groupsStep: EmulatedView }> {
  const { client, slack } = stack;
  const admin = `@${ADMIN.name}`;
  t.step(1, 'An admin starts the setup');
  t.act(`${admin} in #${ADMIN_CHANNEL.name}: /aad setup`);
  await client.command('/aad', 'setup', { userId: ADMIN.id, channelId: ADMIN_CHANNEL.id });
  const modal = slack.lastView();
  if (!modal || modal.callback_id !== callbackIds.setupAuthorize) throw new Error('/aad setup opened no setup modal');
  t.surface(modal);

  t.step(2, 'Sign in with Microsoft');
  const link = signInLink(modal);
  t.act(`${admin} clicks “Sign in with Microsoft”; the browser goes:`);
  const hops = await new DemoBrowser().open(link);
  for (const hop of hops)
    t.note(`${hop.status} ${shortUrl(hop.url)}${hop.location ? `  → ${shortUrl(hop.location)}` : ''}`);
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

/** Types into the group picker of `view` (an options load, as Slack sends while the admin types) and picks one. */
async function searchGroup(stack: DemoStack, t: Transcript, view: EmulatedView, search: GroupSearch): Promise<Choice> {
  const reply = await stack.client.optionsLoad(actionIds.groupsSelect, search.typed, view);
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

/** Starts a sync with `start` and prints the admin channel until its summary is there. */
async function watchRun(channel: ReturnType<typeof followChannel>, start: () => Promise<unknown>): Promise<void> {
  const before = channel.summaries();
  await start();
  await waitFor(() => channel.summaries() > before, `the sync summary in #${ADMIN_CHANNEL.name}`, 60_000);
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

function viewIf(stack: DemoStack, id: string, callbackId: string): EmulatedView | null {
  const view = stack.slack.view(id);
  return view?.callback_id === callbackId ? view : null;
}

/** The modal as it looks with `inputs` filled in (Slack keeps them on screen when it shows errors). */
function withValues(view: EmulatedView, inputs: Record<string, FormInput>): EmulatedView {
  return { ...view, state: { values: formValues(view, inputs) } };
}

function responsesTo(stack: DemoStack, responseUrl: string) {
  return stack.slack
    .responses()
    .filter((r) => responseUrl.endsWith(`/${r.id}`))
    .map((r) => r.body as { text?: string; blocks?: unknown[] });
}

async function firstSyncFinished(stack: DemoStack): Promise<boolean> {
  const rows = await stack.sql<{ status: string }[]>`
    select status from sync_runs where trigger = 'setup' and mode <> 'preview' order by id desc limit 1`;
  return rows.length > 0 && rows[0].status !== 'running';
}

/**
 * Prints what the app posts to a channel, as it happens: a new message in full, a progress update as its
 * one-line text, the final summary in full.
 */
function followChannel(stack: DemoStack, t: Transcript, channelId: string) {
  let seen = 0;
  let summaries = 0;
  const posts = () =>
    stack.slack
      .calls()
      .filter((c) => ['chat.postMessage', 'chat.update'].includes(c.method) && c.answer.ok === true)
      .filter((c) => c.args.channel === channelId || c.answer.channel === channelId);
  const shown = new Map<string, string[]>();
  const show = (call: RecordedCall) => {
    const message = call.args as { text?: string; blocks?: unknown[]; ts?: string };
    const ts = String(message.ts ?? call.answer.ts ?? '');
    const lines = renderMessage(message, t.style).split('\n');
    const before = shown.get(ts);
    shown.set(ts, lines);
    const progress = message.text?.startsWith('Syncing from Entra ID') ?? false;
    if (call.method === 'chat.update' && progress && before) {
      // A progress tick: only what changed, on one line.
      const changed = lines.filter((l) => !before.includes(l)).map((l) => l.replace(/^┃ ?/, ''));
      if (changed.length > 0) t.note(`↻ ${changed.filter(Boolean).join(' · ')}`);
    } else {
      t.line(`  In #${channelName(channelId)}${call.method === 'chat.update' ? ', the message is updated:' : ':'}`);
      t.message(message);
    }
    if (/^Sync (finished|failed|held)/.test(message.text ?? '')) summaries += 1;
  };
  function flush() {
    const all = posts();
    for (const call of all.slice(seen)) show(call);
    seen = all.length;
  }
  return {
    flush,
    /** Summaries shown so far (after printing whatever is new). */
    summaries: () => {
      flush();
      return summaries;
    },
  };
}

const channelName = (id: string) => (id === ADMIN_CHANNEL.id ? ADMIN_CHANNEL.name : id);

/** Entra changes for the incremental sync: three new hires in `groupId`, five promotions, two departures. */
async function changeTenant(stack: DemoStack, groupId: string) {
  const group = stack.entra.tenant.groups.get(groupId);
  if (!group) throw new Error('the chosen group is gone from the emulator');
  const members = [...group.members]
    .map((id) => stack.entra.tenant.users.get(id))
    .filter((u) => u?.mail && u.surname && u.accountEnabled);
  const hires = ['Noor Haddad', 'Mateo Rossi', 'Ingrid Dahl'].map((name) => {
    const [givenName, surname] = name.split(' ');
    const local = `${givenName}.${surname}`.toLowerCase();
    return {
      id: randomUUID(),
      displayName: name,
      givenName,
      surname,
      mail: `${local}@contoso.com`,
      userPrincipalName: `${local}@contoso.com`,
      jobTitle: 'Software Engineer',
      department: 'Engineering',
      accountEnabled: true,
    };
  });
  const promoted = members.slice(0, 5).map((u) => ({ id: u!.id, jobTitle: `Senior ${u!.jobTitle ?? 'Engineer'}` }));
  const leaving = members.slice(5, 7).map((u) => u!.id);
  await control(stack, 'POST', 'users', [...hires, ...promoted]);
  await control(stack, 'POST', `groups/${groupId}/members`, { add: hires.map((h) => h.id) });
  for (const id of leaving) await control(stack, 'DELETE', `users/${id}`);
  return { hired: hires.length, promoted: promoted.length, left: leaving.length };
}

async function control(stack: DemoStack, method: string, path: string, body?: unknown): Promise<void> {
  const response = await fetch(`${stack.entra.graphBaseUrl}/_emulator/${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok)
    throw new Error(`the emulator refused ${method} ${path}: ${response.status} ${await response.text()}`);
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
