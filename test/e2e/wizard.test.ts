import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { actionIds, blockIds, callbackIds, optionValues } from '../../src/slack/ids.ts';
import {
  ADMIN,
  ADMIN_CHANNEL,
  type AppFixture,
  authorizeUrl,
  clearData,
  expectWithinSlackLimits,
  finishedRuns,
  openSetup,
  SIGNING_SECRET,
  signInThroughBrowser,
  sourceRow,
  startAppFixture,
  viewText,
} from '../helpers/app.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * The setup wizard end to end, in both authorization modes, through the real server: `/aad setup`, the
 * admin's browser through the Entra emulator's sign-in (or admin consent) to `/azure/callback`, the
 * modal moving on by itself, group type-ahead, settings with a refused and then an accepted mapping,
 * the preview, Enable, the first sync, and `/whois` finding someone it imported.
 */

let f: AppFixture;

beforeAll(async () => {
  f = await startAppFixture({ mode: 'delegated', seed: 'app-wizard' });
});
afterAll(() => f?.stop());
beforeEach(async () => {
  f.slack.reset();
  await f.entra.control('POST', 'reset');
});

/** A group with a few members that the search finds by the first word of its name. */
function someGroup() {
  const groups = [...f.entra.emulator.tenant.groups.values()];
  const group = groups.find((g) => g.members.size >= 5 && /^[A-Za-z]{3,}/.test(g.displayName)) ?? groups[0];
  return { id: group.id, name: group.displayName, word: group.displayName.split(/\W+/)[0] };
}

async function wizard(mode: 'delegated' | 'application') {
  const setup = await openSetup(f.client, f.slack);
  expect(viewText(setup)).toContain('Sign in with Microsoft');
  const url = authorizeUrl(setup);
  expect(url.startsWith(`${f.publicUrl}/azure/authorize/`)).toBe(true);

  const { page, hops } = await signInThroughBrowser(url);
  const microsoft = new URL(hops[0].location!);
  expect(microsoft.origin).toBe(f.entra.emulator.authorityHost);
  expect(microsoft.pathname).toMatch(mode === 'application' ? /adminconsent$/ : /oauth2\/v2\.0\/authorize$/);
  expect(page.status, page.text).toBe(200);
  expect(page.text).toContain(mode === 'application' ? 'Admin consent is granted' : 'Signed in as');
  expect(page.text).toContain('moved on to step 2');

  // The callback moved the waiting modal on by itself.
  const groupsStep = f.slack.view(setup.id)!;
  expect(groupsStep.callback_id).toBe(callbackIds.setupGroups);
  expect(f.slack.calls('views.update').at(-1)?.args.view_id).toBe(setup.id);

  const group = someGroup();
  const search = await f.client.optionsLoad(actionIds.groupsSelect, group.word, groupsStep);
  const options = (search.body as { options: { text: { text: string }; value: string }[] }).options;
  expect(options.length).toBeGreaterThan(0);
  expect(options.length).toBeLessThanOrEqual(100);
  expect(options.map((o) => o.value)).toContain(group.id);
  expect(options.every((o) => o.value !== optionValues.searchFailed)).toBe(true);

  await f.client.viewSubmission(groupsStep, { [blockIds.groups]: [{ text: group.name, value: group.id }] });
  const settingsStep = f.slack.view(setup.id)!;
  expect(settingsStep.callback_id).toBe(callbackIds.setupSettings);
  const source = await sourceRow(f.db);
  expect(await f.db.sql`select group_id, display_name from source_groups where source_id = ${source.id}`).toEqual([
    { group_id: group.id, display_name: group.name },
  ]);

  // A unique identifier that is not unique: refused on its field, nothing saved.
  const refused = await f.client.viewSubmission(settingsStep, {
    [blockIds.mapping('externalId')]: 'displayName',
    [blockIds.adminChannel]: ADMIN_CHANNEL,
  });
  expect(refused.body).toMatchObject({
    response_action: 'errors',
    errors: { [blockIds.mapping('externalId')]: expect.stringContaining('not unique') },
  });
  expect((await f.db.sql`select admin_channel from sources where id = ${source.id}`)[0].admin_channel).toBeNull();

  await f.client.viewSubmission(settingsStep, {
    [blockIds.mapping('externalId')]: 'id',
    [blockIds.adminChannel]: ADMIN_CHANNEL,
    [blockIds.options]: [optionValues.hourlySync],
  });
  const [saved] = await f.db.sql`select admin_channel, mapping, auto_sync, sync_enabled from sources`;
  expect(saved).toMatchObject({ admin_channel: ADMIN_CHANNEL, auto_sync: true, sync_enabled: false });
  expect(saved.mapping.externalId).toBe('id');

  // The preview is computed after the ack and lands on the same modal.
  const preview = await waitFor(
    () => {
      const view = f.slack.view(setup.id)!;
      return view.callback_id === callbackIds.setupPreview && view.submit ? view : null;
    },
    { what: 'the preview' },
  );
  const previewRuns = await f.db.sql`select mode, status, created_count from sync_runs where source_id = ${source.id}`;
  expect(previewRuns).toEqual([{ mode: 'preview', status: 'succeeded', created_count: expect.any(Number) }]);
  const expected = previewRuns[0].created_count as number;
  expect(expected).toBeGreaterThan(0);
  expect(viewText(preview)).toContain(String(expected));
  expect(await f.db.sql`select count(*)::int as n from profiles`).toEqual([{ n: 0 }]);

  await f.client.viewSubmission(preview);
  const done = f.slack.view(setup.id)!;
  expect(done.callback_id).toBe(callbackIds.setupDone);

  const runs = await finishedRuns(f.db, source.id, 1);
  expect(runs.filter((r) => r.mode !== 'preview')).toMatchObject([
    { trigger: 'setup', requested_by: ADMIN, mode: 'full', status: 'succeeded', created_count: expected },
  ]);
  const [after] = await f.db.sql`select status, sync_enabled from sources where id = ${source.id}`;
  expect(after).toEqual({ status: 'active', sync_enabled: true });
  const imported = await f.db.sql<{ email: string; first_name: string; last_name: string }[]>`
    select email, first_name, last_name from profiles where source_id = ${source.id} and active order by email`;
  expect(imported).toHaveLength(expected);

  // Someone it imported, found by /whois (any member of the workspace may ask).
  const someone = imported[0];
  await f.client.command('/whois', someone.email, { userId: 'U0MEMBER' });
  const card = f.slack.responses().at(-1)!;
  expect(JSON.stringify(card.body)).toContain(someone.email);

  // The Home tab of the admin shows the dashboard.
  await waitFor(() => f.slack.homeOf(ADMIN), { what: 'the Home tab' });
  expectWithinSlackLimits(f.slack);
  return source.id;
}

describe('the group type-ahead', () => {
  it('answers within Slack’s time with one option saying why, when Graph is slow or refuses', async () => {
    await clearData(f.db);
    const setup = await openSetup(f.client, f.slack);
    await signInThroughBrowser(authorizeUrl(setup));
    const groupsStep = f.slack.view(setup.id)!;
    const only = async (query: string) =>
      ((await f.client.optionsLoad(actionIds.groupsSelect, query, groupsStep)).body as { options: unknown[] }).options;

    await f.entra.control('POST', 'faults', { latencyMs: 2_500 });
    expect(await only('sales')).toEqual([
      {
        text: { type: 'plain_text', text: 'Entra ID is slow to answer: type again', emoji: true },
        value: optionValues.searchFailed,
      },
    ]);
    await f.entra.control('POST', 'faults', { latencyMs: 0 });
    await f.entra.control('POST', 'revoke', { immediate: true });
    expect(await only('sales')).toEqual([
      {
        text: { type: 'plain_text', text: 'The Microsoft sign-in expired: Reauthorize first', emoji: true },
        value: optionValues.searchFailed,
      },
    ]);
    // Picking the placeholder is refused on the field; nothing is saved.
    const refused = await f.client.viewSubmission(groupsStep, {
      [blockIds.groups]: [{ text: 'x', value: optionValues.searchFailed }],
    });
    expect(refused.body).toMatchObject({ response_action: 'errors' });
    expect(await f.db.sql`select * from source_groups`).toEqual([]);
  });
});

describe('the setup wizard', () => {
  it('works end to end with a delegated sign-in', async () => {
    await clearData(f.db);
    const sourceId = await wizard('delegated');
    const [row] = await f.db
      .sql`select auth_mode, authorized_by_upn, authorized_by_slack_user from sources where id = ${sourceId}`;
    expect(row).toEqual({
      auth_mode: 'delegated',
      authorized_by_upn: f.entra.emulator.adminUpn,
      authorized_by_slack_user: ADMIN,
    });
  });

  it('works end to end with admin consent (application mode)', async () => {
    await clearData(f.db);
    await f.restart('application');
    const sourceId = await wizard('application');
    const [row] = await f.db.sql`select auth_mode, tenant_id, authorized_by_upn from sources where id = ${sourceId}`;
    expect(row).toEqual({
      auth_mode: 'application',
      tenant_id: f.entra.emulator.tenantId,
      authorized_by_upn: f.entra.emulator.adminUpn,
    });
    const logs = f.logs.join('');
    expect(logs).toContain('authorization completed');
    for (const secret of [f.entra.emulator.clientSecret, SIGNING_SECRET, f.slack.botToken]) {
      expect(logs).not.toContain(secret);
    }
  });
});
