import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { EmulatedMessage, EmulatedView } from '../../src/emulators/slack/index.ts';
import { actionIds, blockIds, callbackIds, optionValues } from '../../src/slack/ids.ts';
import {
  ADMIN,
  ADMIN_CHANNEL,
  type AppFixture,
  authorizeUrl,
  expectWithinSlackLimits,
  MEMBER,
  openSetup,
  setUpSource,
  startAppFixture,
  viewText,
} from '../helpers/app.ts';
import { TestBrowser } from '../helpers/browser.ts';

/**
 * What the server refuses, and that a refusal changes nothing: a member who is not an admin on every
 * admin surface, requests whose Slack signature is wrong or old, and sign-in links that were used,
 * expired, or opened by someone else's browser.
 */

let f: AppFixture;
let sourceId: string;

beforeAll(async () => {
  f = await startAppFixture({ mode: 'delegated', seed: 'app-refusals' });
  sourceId = await setUpSource(f);
});
afterAll(() => f?.stop());
beforeEach(() => f.slack.reset());

/** Everything a refusal must leave alone. */
async function snapshot() {
  const [source] = await f.db.sql`select * from sources where id = ${sourceId}`;
  const [counts] = await f.db.sql`
    select (select count(*)::int from sync_runs) as runs, (select count(*)::int from oauth_requests) as links,
      (select count(*)::int from source_groups) as groups, (select count(*)::int from agenda_jobs) as jobs,
      (select count(*)::int from profiles where active) as people`;
  return { source, counts };
}

const NOT_ADMIN = 'Only workspace admins can use /aad. Nothing was changed.';

describe('a member who is not an admin', () => {
  it('is refused on every /aad subcommand', async () => {
    const before = await snapshot();
    for (const text of ['', 'help', 'setup', 'sync', 'status', 'enable', 'disable', 'nonsense']) {
      const reply = await f.client.command('/aad', text, { userId: MEMBER });
      expect(reply.status).toBe(200);
      expect(reply.body, `/aad ${text}`).toMatchObject({ response_type: 'ephemeral', text: NOT_ADMIN });
    }
    expect(f.slack.calls('views.open')).toEqual([]);
    expect(await snapshot()).toEqual(before);
  });

  it('is refused on every button of the Home tab and of alerts', async () => {
    const before = await snapshot();
    await f.client.appHomeOpened(MEMBER);
    const home = f.slack.homeOf(MEMBER)!;
    expect(viewText(home)).toContain('/whois');
    const homeButtons = [
      actionIds.setupOpen,
      actionIds.syncNow,
      actionIds.enable,
      actionIds.disable,
      actionIds.photoSync,
      actionIds.editGroups,
      actionIds.editSettings,
      actionIds.reauthorize,
    ];
    for (const actionId of homeButtons) {
      await f.client.blockAction({
        userId: MEMBER,
        actionId,
        view: home,
        value: actionId === actionIds.photoSync ? 'on' : sourceId,
      });
    }
    const opened = f.slack
      .calls('views.open')
      .map((c) => c.args.view as { callback_id: string; title: { text: string } });
    expect(opened).toHaveLength(homeButtons.length);
    for (const view of opened) expect(JSON.stringify(view)).toContain('Only Slack workspace admins');

    const alert: EmulatedMessage = {
      channel: ADMIN_CHANNEL,
      ts: '1700000000.000100',
      text: 'alert',
      blocks: [],
      user: 'U0AADBOT',
    };
    const alertButtons = [
      actionIds.approveRemovals,
      actionIds.rejectRemovals,
      actionIds.reauthorize,
      actionIds.syncNow,
      actionIds.editGroups,
    ];
    for (const actionId of alertButtons) {
      await f.client.blockAction({ userId: MEMBER, actionId, message: alert, value: '1' });
    }
    const answers = f.slack.responses().map((r) => r.body);
    expect(answers).toHaveLength(alertButtons.length);
    for (const answer of answers)
      expect(answer).toMatchObject({ response_type: 'ephemeral', replace_original: false, text: NOT_ADMIN });
    expect(await snapshot()).toEqual(before);
    expectWithinSlackLimits(f.slack);
  });

  it('cannot submit the wizard or the edit modals, nor search groups', async () => {
    const before = await snapshot();
    // Modals an admin has open; the member's copies of them are refused as they are submitted.
    const setup = await openSetup(f.client, f.slack);
    const afterOpen = await snapshot();
    const forms: [string, Record<string, unknown>][] = [
      [callbackIds.setupGroups, { [blockIds.groups]: [] }],
      [callbackIds.setupSettings, { [blockIds.adminChannel]: 'C0GENERAL' }],
      [callbackIds.setupPreview, {}],
      [callbackIds.editGroups, { [blockIds.groups]: [] }],
      [callbackIds.editSettings, { [blockIds.adminChannel]: 'C0GENERAL' }],
    ];
    for (const [callbackId] of forms) {
      const view: EmulatedView = { ...setup, callback_id: callbackId, blocks: [], state: { values: {} } };
      const reply = await f.client.viewSubmission(view, {}, MEMBER);
      expect(reply.body, callbackId).toMatchObject({ response_action: 'update' });
      expect(JSON.stringify(reply.body)).toContain('Only Slack workspace admins');
    }
    for (const actionId of [actionIds.setupRetry, actionIds.setupBackToSettings]) {
      await f.client.blockAction({ userId: MEMBER, actionId, view: setup });
      expect(JSON.stringify(f.slack.calls('views.open').at(-1)!.args.view)).toContain('Only Slack workspace admins');
    }
    const search = await f.client.optionsLoad(actionIds.groupsSelect, 'a', setup, MEMBER);
    expect(search.body).toEqual({
      options: [
        {
          text: { type: 'plain_text', text: 'Only workspace admins can search', emoji: true },
          value: optionValues.notAllowed,
        },
      ],
    });
    expect(await snapshot()).toEqual(afterOpen);
    expect(afterOpen.source).toEqual(before.source);
  });
});

describe('requests Slack did not sign', () => {
  it('answers 401 to a wrong or old signature and runs no listener', async () => {
    const before = await snapshot();
    const forged = await f.client.withBadSignature().command('/aad', 'setup', { userId: ADMIN });
    expect(forged.status).toBe(401);
    const replayed = await f.client.withTimestampOffset(-6 * 60).command('/aad', 'sync', { userId: ADMIN });
    expect(replayed.status).toBe(401);
    await f.client.appHomeOpened(ADMIN);
    const home = f.slack.homeOf(ADMIN)!;
    f.slack.reset();
    const click = await f.client
      .withBadSignature()
      .blockAction({ userId: ADMIN, actionId: actionIds.disable, view: home });
    expect(click.status).toBe(401);
    expect(f.slack.calls()).toEqual([]);
    expect(await snapshot()).toEqual(before);
  });
});

describe('sign-in links', () => {
  /** A fresh `/aad setup` link of the admin, and the source's sign-in as it is before anyone uses it. */
  async function freshLink() {
    const modal = await openSetup(f.client, f.slack);
    const [source] = await f.db
      .sql`select tenant_id, token_cache, authorized_by_slack_user, authorized_at from sources`;
    return { modal, url: authorizeUrl(modal), source };
  }

  async function expectNothingStored(was: Record<string, unknown>, modal: EmulatedView) {
    const [source] = await f.db
      .sql`select tenant_id, token_cache, authorized_by_slack_user, authorized_at from sources`;
    expect(source).toEqual(was);
    expect(f.slack.view(modal.id)!.callback_id).toBe(callbackIds.setupAuthorize);
  }

  it('refuses a link that was already used', async () => {
    const { modal, url } = await freshLink();
    const browser = new TestBrowser();
    const opened = await browser.open(url);
    expect(opened.status).toBe(303);
    const signedIn = await browser.get(opened.location!);
    const done = await browser.get(signedIn.location!);
    expect(done.status).toBe(200);
    expect(f.slack.view(modal.id)!.callback_id).toBe(callbackIds.setupGroups);
    const [after] = await f.db.sql`select tenant_id, token_cache, authorized_by_slack_user, authorized_at from sources`;

    const again = await new TestBrowser().open(url);
    expect(again.status).toBe(409);
    expect(again.text).toContain('already been used');
    const replay = await browser.get(signedIn.location!);
    expect(replay.status).toBe(409);
    const [now] = await f.db.sql`select tenant_id, token_cache, authorized_by_slack_user, authorized_at from sources`;
    expect(now).toEqual(after);
  });

  it('refuses an expired link', async () => {
    const { modal, url, source } = await freshLink();
    await f.db.sql`update oauth_requests set expires_at = now() - interval '1 minute' where consumed_at is null`;
    const page = await new TestBrowser().open(url);
    expect(page.status).toBe(410);
    expect(page.text).toContain('expired');
    await expectNothingStored(source, modal);
  });

  it('refuses to finish another admin’s sign-in in a different browser', async () => {
    const { modal, url, source } = await freshLink();
    const admins = new TestBrowser();
    const opened = await admins.open(url);
    const atMicrosoft = await admins.get(opened.location!);
    const callback = atMicrosoft.location!;

    const someoneElse = new TestBrowser();
    const reopened = await someoneElse.open(url);
    expect(reopened.status).toBe(409);
    const stolen = await someoneElse.get(callback);
    expect(stolen.status).toBe(403);
    expect(stolen.text).toContain('different browser');
    await expectNothingStored(source, modal);

    // The admin's own browser still finishes it.
    expect((await admins.get(callback)).status).toBe(200);
    expect(f.slack.view(modal.id)!.callback_id).toBe(callbackIds.setupGroups);
  });
});
