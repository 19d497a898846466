import { webApi } from '@slack/bolt';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { formValues, type SlackEmulator, startSlackEmulator } from '../../../src/emulators/slack/index.ts';
import { blockIds } from '../../../src/slack/ids.ts';
import { alertMessage } from '../../../src/slack/views/alerts.ts';
import { noticeModal } from '../../../src/slack/views/notice.ts';
import { groupsModal, settingsModal } from '../../../src/slack/views/setup.ts';
import { DEFAULT_MAPPING } from '../../../src/sync/mapping.ts';
import { T0 } from '../../slack/fixtures.ts';
import { slackError, webClientFor } from '../../slack/harness.ts';

let emulator: SlackEmulator;
let web: ReturnType<typeof webClientFor>;

beforeAll(async () => {
  emulator = await startSlackEmulator();
  web = webClientFor(emulator);
});
afterAll(() => emulator?.close());
beforeEach(() => emulator.reset());

const modal = noticeModal('Hello', 'Hi there');
const alert = alertMessage({
  sourceId: 's',
  code: 'graph_unavailable',
  message: null,
  count: 1,
  firstAt: T0,
  lastAt: T0,
});

describe('recording', () => {
  it('records method, token and arguments with blocks and views decoded', async () => {
    emulator.setChannels([{ id: 'C1', name: 'ops', isPrivate: false, members: [emulator.botUserId] }]);
    await web.chat.postMessage({ channel: 'C1', ...alert });
    const [call] = emulator.calls('chat.postMessage');
    expect(call.token).toBe(emulator.botToken);
    expect(call.args.channel).toBe('C1');
    expect(call.args.blocks).toEqual(alert.blocks);
    expect(emulator.calls().map((c) => c.method)).toEqual(['chat.postMessage']);
  });

  it('refuses a wrong token and unknown methods like Slack', async () => {
    const stranger = new webApi.WebClient('xoxb-nope', { slackApiUrl: emulator.apiUrl, retryConfig: { retries: 0 } });
    expect(await slackError(stranger.auth.test())).toBe('invalid_auth');
    expect(await slackError(web.apiCall('admin.teams.frobnicate'))).toBe('unknown_method');
    expect(await web.auth.test()).toMatchObject({
      ok: true,
      user_id: emulator.botUserId,
      bot_id: emulator.botId,
      team_id: emulator.teamId,
    });
  });
});

describe('views', () => {
  it('opens a modal once per trigger, which expires and cannot be reused', async () => {
    const trigger = emulator.issueTrigger('U0ADMIN');
    const opened = await web.views.open({ trigger_id: trigger, view: modal });
    expect(opened.view).toMatchObject({
      id: expect.stringMatching(/^V/),
      hash: expect.any(String),
      callback_id: 'notice',
    });
    expect(emulator.lastView()).toMatchObject({ id: opened.view!.id, user_id: 'U0ADMIN', type: 'modal' });
    expect(await slackError(web.views.open({ trigger_id: trigger, view: modal }))).toBe('exchanged_trigger_id');
    expect(await slackError(web.views.open({ trigger_id: '1.2.unknown', view: modal }))).toBe('invalid_trigger_id');
    const late = emulator.issueTrigger('U0ADMIN');
    emulator.expireTriggers();
    expect(await slackError(web.views.open({ trigger_id: late, view: modal }))).toBe('expired_trigger_id');
  });

  it('expires triggers after the configured time on its own clock', async () => {
    let now = 1_000_000;
    const timed = await startSlackEmulator({ now: () => now });
    try {
      const client = new webApi.WebClient(timed.botToken, { slackApiUrl: timed.apiUrl, retryConfig: { retries: 0 } });
      const trigger = timed.issueTrigger('U0ADMIN');
      now += 3001;
      expect(await slackError(client.views.open({ trigger_id: trigger, view: modal }))).toBe('expired_trigger_id');
    } finally {
      await timed.close();
    }
  });

  it('updates by id with optimistic hashes, and not a closed modal', async () => {
    const { view } = await web.views.open({ trigger_id: emulator.issueTrigger('U0ADMIN'), view: modal });
    const updated = await web.views.update({
      view_id: view!.id!,
      hash: view!.hash!,
      view: noticeModal('Second', 'Now'),
    });
    expect(updated.view?.hash).not.toBe(view!.hash);
    expect(emulator.view(view!.id!)?.title).toMatchObject({ text: 'Second' });
    expect(await slackError(web.views.update({ view_id: view!.id!, hash: view!.hash!, view: modal }))).toBe(
      'hash_conflict',
    );
    expect(await slackError(web.views.update({ view_id: 'V0NOPE', view: modal }))).toBe('not_found');
    emulator.closeView(view!.id!);
    expect(await slackError(web.views.update({ view_id: view!.id!, view: modal }))).toBe('not_found');
  });

  it('updates by external id and refuses a duplicate one', async () => {
    const first = { ...modal, external_id: 'setup:1' };
    await web.views.open({ trigger_id: emulator.issueTrigger('U0ADMIN'), view: first });
    const updated = await web.views.update({ external_id: 'setup:1', view: noticeModal('By external id', 'ok') });
    expect(updated.view?.title).toMatchObject({ text: 'By external id' });
    expect(await slackError(web.views.open({ trigger_id: emulator.issueTrigger('U0OWNER'), view: first }))).toBe(
      'duplicate_external_id',
    );
  });

  it('pushes at most two views onto a modal', async () => {
    await web.views.open({ trigger_id: emulator.issueTrigger('U0ADMIN'), view: modal });
    await web.views.push({ trigger_id: emulator.issueTrigger('U0ADMIN'), view: modal });
    const second = await web.views.push({ trigger_id: emulator.issueTrigger('U0ADMIN'), view: modal });
    expect(second.view?.previous_view_id).toEqual(expect.stringMatching(/^V/));
    expect(await slackError(web.views.push({ trigger_id: emulator.issueTrigger('U0ADMIN'), view: modal }))).toBe(
      'push_limit_reached',
    );
  });

  it('refuses views that break Block Kit limits, saying where', async () => {
    const tooLong = { ...modal, title: { type: 'plain_text' as const, text: 'A title far longer than Slack allows' } };
    let data: { error?: string; response_metadata?: { messages?: string[] } } = {};
    try {
      await web.views.open({ trigger_id: emulator.issueTrigger('U0ADMIN'), view: tooLong });
    } catch (error) {
      data = (error as { data: typeof data }).data;
    }
    expect(data.error).toBe('invalid_arguments');
    expect(data.response_metadata?.messages?.[0]).toContain('[json-pointer:/view/title/text]');
    const huge = {
      ...modal,
      blocks: Array.from({ length: 100 }, () => ({
        type: 'section' as const,
        text: { type: 'mrkdwn' as const, text: 'x'.repeat(2990) },
      })),
    };
    expect(await slackError(web.views.open({ trigger_id: emulator.issueTrigger('U0ADMIN'), view: huge }))).toBe(
      'view_too_large',
    );
  });

  it('publishes one Home tab per user and checks its hash', async () => {
    const home = { type: 'home' as const, blocks: [{ type: 'divider' as const }] };
    const first = await web.views.publish({ user_id: 'U0MEMBER', view: home });
    const second = await web.views.publish({ user_id: 'U0MEMBER', view: home, hash: first.view!.hash! });
    expect(second.view?.id).toBe(first.view?.id);
    expect(emulator.homeOf('U0MEMBER')?.hash).toBe(second.view?.hash);
    expect(await slackError(web.views.publish({ user_id: 'U0MEMBER', view: home, hash: first.view!.hash! }))).toBe(
      'hash_conflict',
    );
    expect(await slackError(web.views.publish({ user_id: 'U0NOBODY', view: home }))).toBe('user_not_found');
  });

  it('applies a submission ack as Slack would: update, errors, push, clear, close', async () => {
    const { view } = await web.views.open({ trigger_id: emulator.issueTrigger('U0ADMIN'), view: modal });
    const id = view!.id!;
    emulator.applySubmissionAck(id, { response_action: 'update', view: noticeModal('Step two', 'ok') });
    expect(emulator.view(id)?.title).toMatchObject({ text: 'Step two' });
    emulator.applySubmissionAck(id, { response_action: 'errors', errors: { x: 'bad' } });
    expect(emulator.view(id)?.open).toBe(true);
    emulator.applySubmissionAck(id, { response_action: 'push', view: noticeModal('Pushed', 'ok') });
    expect(emulator.lastView()).toMatchObject({ previous_view_id: id, title: { text: 'Pushed' } });
    emulator.applySubmissionAck(id, { response_action: 'clear' });
    expect(emulator.view(id)?.open).toBe(false);
    expect(emulator.lastView()?.open).toBe(false);
  });
});

describe('messages and channels', () => {
  beforeEach(() =>
    emulator.setChannels([
      { id: 'C0PUBLIC', name: 'aad-admins', isPrivate: false, members: ['U0ADMIN'] },
      { id: 'G0PRIVATE', name: 'secret', isPrivate: true, members: ['U0ADMIN'] },
      { id: 'C0OLD', name: 'old', isPrivate: false, members: [emulator.botUserId], isArchived: true },
    ]),
  );

  it('refuses channels the bot is not in; joining works for public ones only', async () => {
    expect(await slackError(web.chat.postMessage({ channel: 'C0PUBLIC', ...alert }))).toBe('not_in_channel');
    expect(await slackError(web.chat.postMessage({ channel: 'G0PRIVATE', ...alert }))).toBe('not_in_channel');
    expect(await slackError(web.conversations.join({ channel: 'G0PRIVATE' }))).toBe(
      'method_not_supported_for_channel_type',
    );
    expect(await slackError(web.conversations.join({ channel: 'C0NOPE' }))).toBe('channel_not_found');
    expect(await slackError(web.chat.postMessage({ channel: 'C0OLD', ...alert }))).toBe('is_archived');
    const joined = await web.conversations.join({ channel: 'C0PUBLIC' });
    expect(joined.channel).toMatchObject({ id: 'C0PUBLIC', is_member: true });
    const posted = await web.chat.postMessage({ channel: 'C0PUBLIC', ...alert });
    expect(posted).toMatchObject({ ok: true, channel: 'C0PUBLIC', ts: expect.stringMatching(/^\d+\.\d{6}$/) });
    expect(emulator.messagesIn('C0PUBLIC')).toEqual([expect.objectContaining({ ts: posted.ts, text: alert.text })]);
  });

  it('sees a private channel only when the bot is a member', async () => {
    expect(await slackError(web.conversations.info({ channel: 'G0PRIVATE' }))).toBe('channel_not_found');
    expect((await web.conversations.info({ channel: 'C0PUBLIC' })).channel).toMatchObject({
      is_private: false,
      is_member: false,
    });
  });

  it('updates a message in place and threads replies', async () => {
    await web.conversations.join({ channel: 'C0PUBLIC' });
    const { ts } = await web.chat.postMessage({ channel: 'C0PUBLIC', ...alert });
    await web.chat.update({ channel: 'C0PUBLIC', ts: ts!, text: 'second', blocks: [] });
    await web.chat.postMessage({ channel: 'C0PUBLIC', thread_ts: ts!, text: 'recovered' });
    const [original, reply] = emulator.messagesIn('C0PUBLIC');
    expect(original).toMatchObject({ ts, text: 'second', edited: true });
    expect(reply).toMatchObject({ threadTs: ts, text: 'recovered' });
    expect(await slackError(web.chat.update({ channel: 'C0PUBLIC', ts: '1.000000', text: 'x' }))).toBe(
      'message_not_found',
    );
    expect(await slackError(web.chat.postMessage({ channel: 'C0PUBLIC', thread_ts: '1.000000', text: 'x' }))).toBe(
      'thread_not_found',
    );
  });

  it('refuses empty, over-long and invalid messages', async () => {
    await web.conversations.join({ channel: 'C0PUBLIC' });
    expect(await slackError(web.chat.postMessage({ channel: 'C0PUBLIC', text: '' }))).toBe('no_text');
    const { ts } = await web.chat.postMessage({ channel: 'C0PUBLIC', text: 'x' });
    expect(await slackError(web.chat.update({ channel: 'C0PUBLIC', ts: ts!, text: 'x'.repeat(4001) }))).toBe(
      'msg_too_long',
    );
    const badBlocks = [{ type: 'header' as const, text: { type: 'plain_text' as const, text: 'x'.repeat(151) } }];
    expect(await slackError(web.chat.postMessage({ channel: 'C0PUBLIC', text: 'x', blocks: badBlocks }))).toBe(
      'invalid_blocks',
    );
  });

  it('posts to a user id as a direct message and ephemerals only to channel members', async () => {
    const dm = await web.chat.postMessage({ channel: 'U0MEMBER', text: 'hello' });
    expect(dm.channel).toBe('D0MEMBER');
    expect(emulator.messagesIn('U0MEMBER')).toHaveLength(1);
    await web.conversations.join({ channel: 'C0PUBLIC' });
    await web.chat.postEphemeral({ channel: 'C0PUBLIC', user: 'U0ADMIN', text: 'only you' });
    expect(emulator.messagesIn('C0PUBLIC')).toEqual([expect.objectContaining({ ephemeralTo: 'U0ADMIN' })]);
    expect(await slackError(web.chat.postEphemeral({ channel: 'C0PUBLIC', user: 'U0MEMBER', text: 'x' }))).toBe(
      'user_not_in_channel',
    );
  });
});

describe('users', () => {
  it('answers users.info with roles and email, and users.lookupByEmail case-insensitively', async () => {
    emulator.setUsers([
      { id: 'U1', name: 'adele', realName: 'Adele Vance', email: 'Adele@Contoso.com', isOwner: true },
    ]);
    const info = await web.users.info({ user: 'U1' });
    expect(info.user).toMatchObject({
      id: 'U1',
      is_admin: false,
      is_owner: true,
      profile: { email: 'Adele@Contoso.com' },
    });
    expect((await web.users.lookupByEmail({ email: 'adele@contoso.com' })).user?.id).toBe('U1');
    expect(await slackError(web.users.lookupByEmail({ email: 'nobody@contoso.com' }))).toBe('users_not_found');
    expect(await slackError(web.users.info({ user: 'U404' }))).toBe('user_not_found');
  });

  it('reports guests as Slack does: multi-channel restricted, single-channel also ultra-restricted', async () => {
    const flags = async (user: string) => {
      const info = await web.users.info({ user });
      return [info.user?.is_restricted, info.user?.is_ultra_restricted];
    };
    expect(await flags('U0MEMBER')).toEqual([false, false]);
    expect(await flags('U0GUEST')).toEqual([true, false]);
    expect(await flags('U0SCGUEST')).toEqual([true, true]);
  });
});

describe('faults', () => {
  it('answers 429 with Retry-After for the given number of calls', async () => {
    emulator.setChannels([{ id: 'C1', name: 'ops', isPrivate: false, members: [emulator.botUserId] }]);
    const { ts } = await web.chat.postMessage({ channel: 'C1', text: 'progress' });
    emulator.rateLimit('chat.update', { times: 2, retryAfterSeconds: 7 });
    for (let i = 0; i < 2; i++) {
      const error = await web.chat.update({ channel: 'C1', ts: ts!, text: 'x' }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: webApi.ErrorCode.RateLimitedError, retryAfter: 7 });
    }
    await expect(web.chat.update({ channel: 'C1', ts: ts!, text: 'x' })).resolves.toMatchObject({ ok: true });
    expect(emulator.calls('chat.update').map((c) => c.status)).toEqual([429, 429, 200]);
  });

  it('injects Slack errors on a method', async () => {
    emulator.failNext('users.info', 'fatal_error', 1);
    expect(await slackError(web.users.info({ user: 'U0ADMIN' }))).toBe('fatal_error');
    await expect(web.users.info({ user: 'U0ADMIN' })).resolves.toMatchObject({ ok: true });
  });
});

describe('response URLs', () => {
  it('records what respond() sends and allows five uses', async () => {
    const url = emulator.issueResponseUrl({ userId: 'U0ADMIN', channel: 'C0GENERAL' });
    for (let i = 0; i < 5; i++) {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: `r${i}` }),
      });
      expect(res.status).toBe(200);
    }
    const sixth = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"text":"r5"}',
    });
    expect(sixth.status).toBe(404);
    expect(emulator.responses().map((r) => r.body.text)).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
  });

  it('replaces or deletes the message a button was on', async () => {
    emulator.setChannels([{ id: 'C1', name: 'ops', isPrivate: false, members: [emulator.botUserId] }]);
    const { ts } = await web.chat.postMessage({ channel: 'C1', ...alert });
    const url = emulator.issueResponseUrl({ userId: 'U0ADMIN', channel: 'C1', messageTs: ts! });
    const post = (body: object) =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    await post({ replace_original: true, text: 'resolved', blocks: [] });
    expect(emulator.messagesIn('C1')[0]).toMatchObject({ text: 'resolved', edited: true });
    await post({ delete_original: true });
    expect(emulator.messagesIn('C1')).toEqual([]);
  });
});

describe('formValues', () => {
  const metadata = {};

  it('fills every input with its initial value, as Slack submits them', () => {
    const view = settingsModal(
      {
        mapping: DEFAULT_MAPPING,
        adminChannel: 'C0ADMINS',
        photoSync: true,
        hourlySync: false,
        syncEvery: '60 minutes',
        metadata,
      },
      'setup',
    );
    const values = formValues(view);
    expect(values[blockIds.mapping('email')]).toEqual({
      attribute_select: { type: 'static_select', selected_option: expect.objectContaining({ value: 'mail' }) },
    });
    expect(values[blockIds.adminChannel]).toEqual({
      admin_channel_select: { type: 'conversations_select', selected_conversation: 'C0ADMINS' },
    });
    expect(values[blockIds.options].options_select.selected_options).toEqual([
      expect.objectContaining({ value: 'photo_sync' }),
    ]);
  });

  it('applies what a person chose, and refuses options that are not on the menu or blocks that do not exist', () => {
    const view = settingsModal(
      {
        mapping: DEFAULT_MAPPING,
        adminChannel: null,
        photoSync: false,
        hourlySync: false,
        syncEvery: '60 minutes',
        metadata,
      },
      'setup',
    );
    const values = formValues(view, {
      [blockIds.mapping('jobTitle')]: 'none',
      [blockIds.adminChannel]: 'C0OPS',
      [blockIds.options]: ['hourly_sync'],
    });
    expect(values[blockIds.mapping('jobTitle')].attribute_select.selected_option).toMatchObject({ value: 'none' });
    expect(values[blockIds.adminChannel].admin_channel_select.selected_conversation).toBe('C0OPS');
    expect(() => formValues(view, { [blockIds.mapping('email')]: 'favouriteColour' })).toThrow(/not an option/);
    expect(() => formValues(view, { nope: 'x' })).toThrow(/no input block "nope"/);
    const groups = groupsModal({ selected: [], tenantPeople: 10, signedInAs: null, metadata }, 'setup');
    expect(
      formValues(groups, { groups: [{ text: 'Sales', value: 'g-1' }] }).groups.groups_select.selected_options,
    ).toEqual([{ text: { type: 'plain_text', text: 'Sales', emoji: true }, value: 'g-1' }]);
  });
});
