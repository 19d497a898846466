import { HTTPReceiver, SocketModeReceiver } from '@slack/bolt';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_USERS, type SlackEmulator, type SlackTestClient } from '../../src/emulators/slack/index.ts';
import { createLogger } from '../../src/logger.ts';
import { ADMIN_CACHE_TTL_MS, adminOnly } from '../../src/slack/admin.ts';
import { createSlackApp } from '../../src/slack/app.ts';
import { actionIds } from '../../src/slack/ids.ts';
import { UNEXPECTED } from '../../src/slack/listeners/commands/aad.ts';
import { alertMessage } from '../../src/slack/views/alerts.ts';
import { source, stubServices, T0 } from './fixtures.ts';
import { type Harness, SECRET, startHarness } from './harness.ts';

let h: Harness;
let emulator: SlackEmulator;
let client: SlackTestClient;
let stub: ReturnType<typeof stubServices>;
/** A listener behind the admin gate on each surface, registered by the test to exercise the gate itself. */
let gated: string[];
/** The admin check's clock: each test starts after the previous test's answers have expired. */
let clock = 0;

beforeAll(async () => {
  stub = stubServices();
  h = await startHarness({ services: stub.services, adminUsers: ['U0LISTED'], now: () => clock });
  ({ emulator, client } = h);
  gated = [];
  const gate = adminOnly(h.adminCheck, h.logger);
  h.slack.app.action('test_gated_action', gate, async ({ ack }) => {
    gated.push('action');
    await ack();
  });
  h.slack.app.view('test_gated_view', gate, async ({ ack }) => {
    gated.push('view');
    await ack();
  });
  h.slack.app.options('test_gated_options', gate, async ({ ack }) => {
    gated.push('options');
    await ack({ options: [] });
  });
});

afterAll(() => h?.stop());

beforeEach(() => {
  clock += ADMIN_CACHE_TTL_MS + 1;
  emulator.reset();
  emulator.setUsers([...DEFAULT_USERS, { id: 'U0LISTED', name: 'lee.listed', email: 'lee@contoso.com' }]);
  stub.calls.length = 0;
  gated.length = 0;
});

const sectionTexts = (body: unknown) =>
  ((body as { blocks?: { text?: { text: string } }[] }).blocks ?? []).map((b) => b.text?.text ?? '').join('\n');

describe('/aad', () => {
  it('answers help with the list of subcommands, only to the admin who asked', async () => {
    const reply = await client.command('/aad', 'help', { userId: 'U0ADMIN' });
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ response_type: 'ephemeral', text: 'aad-sync commands' });
    const text = sectionTexts(reply.body);
    for (const sub of ['setup', 'sync', 'status', 'enable', 'disable', 'help']) expect(text).toContain(`/aad ${sub}`);
    expect(emulator.calls('users.info').map((c) => c.args.user)).toEqual(['U0ADMIN']);
  });

  it('treats an empty command as help and an unknown subcommand as help that names it', async () => {
    const empty = await client.command('/aad', '  ', { userId: 'U0OWNER' });
    expect(empty.body).toMatchObject({ text: 'aad-sync commands' });
    const unknown = await client.command('/aad', 'Frobnicate now', { userId: 'U0OWNER' });
    expect(unknown.body).toMatchObject({ response_type: 'ephemeral' });
    expect(sectionTexts(unknown.body)).toContain("I don't know `/aad frobnicate`");
  });

  it('refuses a non-admin on every subcommand, opens nothing and calls no service', async () => {
    for (const text of ['setup', 'sync', 'status', 'enable', 'disable', 'help', 'whatever']) {
      const reply = await client.command('/aad', text, { userId: 'U0MEMBER' });
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({ response_type: 'ephemeral' });
      expect(sectionTexts(reply.body)).toContain('Only Slack workspace admins and owners');
    }
    expect(emulator.calls('views.open')).toHaveLength(0);
    expect(emulator.responses()).toHaveLength(0);
    expect(stub.calls).toEqual([]);
  });

  it('refuses restricted guests and deleted admins even when Slack calls them admins', async () => {
    emulator.setUsers([
      { id: 'U0GUEST', name: 'gus', isRestricted: true, isAdmin: true },
      { id: 'U0GONE', name: 'gone', isAdmin: true, deleted: true },
    ]);
    for (const userId of ['U0GUEST', 'U0GONE']) {
      const reply = await client.command('/aad', 'help', { userId });
      expect(sectionTexts(reply.body)).toContain('Only Slack workspace admins');
    }
  });

  it('lets people listed in SLACK_ADMIN_USERS in without asking Slack', async () => {
    const reply = await client.command('/aad', 'status', { userId: 'U0LISTED' });
    expect(reply.status).toBe(200);
    expect(emulator.calls('users.info')).toHaveLength(0);
    expect(stub.calls.map((c) => c.method)).toEqual(['status']);
    const [response] = emulator.responses();
    expect(response.body).toMatchObject({ response_type: 'ephemeral', text: 'aad-sync status: active' });
  });

  it('asks Slack again on every command, so a demoted admin is refused at once', async () => {
    expect((await client.command('/aad', 'help', { userId: 'U0ADMIN' })).body).toMatchObject({
      text: 'aad-sync commands',
    });
    emulator.setUsers(DEFAULT_USERS.map((u) => (u.id === 'U0ADMIN' ? { ...u, isAdmin: false } : u)));
    const refused = await client.command('/aad', 'help', { userId: 'U0ADMIN' });
    expect(refused.body).toMatchObject({ text: 'Only workspace admins can use /aad. Nothing was changed.' });
    expect(emulator.calls('users.info')).toHaveLength(2);
  });

  it('apologizes in plain words when a service fails, and logs the cause', async () => {
    const status = stub.services.status;
    stub.services.status = async () => {
      throw new Error('connection refused');
    };
    try {
      const reply = await client.command('/aad', 'status', { userId: 'U0ADMIN' });
      expect(reply.status).toBe(200);
      const [response] = emulator.responses();
      expect(response.body).toMatchObject({ response_type: 'ephemeral', text: UNEXPECTED });
      expect(JSON.stringify(response.body)).not.toContain('connection refused');
      expect(h.logLines.some((l) => l.includes('/aad failed') && l.includes('connection refused'))).toBe(true);
    } finally {
      stub.services.status = status;
    }
  });

  it('turns automatic sync on and off through the services, answering ephemerally', async () => {
    await client.command('/aad', 'disable', { userId: 'U0OWNER' });
    await client.command('/aad', 'enable', { userId: 'U0OWNER' });
    expect(stub.calls.map((c) => [c.method, c.args[0]])).toEqual([
      ['disable', { teamId: emulator.teamId, userId: 'U0OWNER' }],
      // The admin channel, where the first sync of a new source would be shown.
      ['status', emulator.teamId],
      ['enable', { teamId: emulator.teamId, userId: 'U0OWNER' }],
    ]);
    const texts = emulator.responses().map((r) => r.body.text);
    expect(texts).toEqual(['Automatic sync is off', 'Automatic sync is on: every 60 minutes']);
    expect(emulator.responses().every((r) => r.body.response_type === 'ephemeral')).toBe(true);
  });
});

describe('request verification', () => {
  it('answers 401 to a bad signature and runs no listener', async () => {
    const reply = await client.withBadSignature().command('/aad', 'help', { userId: 'U0ADMIN' });
    expect(reply.status).toBe(401);
    expect(emulator.calls()).toHaveLength(0);
    expect(stub.calls).toHaveLength(0);
  });

  it('answers 401 to a timestamp older than five minutes, even correctly signed', async () => {
    const reply = await client.withTimestampOffset(-6 * 60).command('/aad', 'help', { userId: 'U0ADMIN' });
    expect(reply.status).toBe(401);
    expect(emulator.calls()).toHaveLength(0);
  });

  it('answers a payload that is not JSON with a 4xx and keeps serving', async () => {
    const garbage = await client.send('payload=%7Bnot%20json', 'application/x-www-form-urlencoded');
    expect(garbage.status).toBeGreaterThanOrEqual(400);
    expect(garbage.status).toBeLessThan(500);
    const charset = await client.send('command=%2Faad&text=help', 'application/x-www-form-urlencoded; charset=utf-8');
    expect(charset.status).toBe(400);
    const after = await client.command('/aad', 'help', { userId: 'U0ADMIN' });
    expect(after.status).toBe(200);
    expect(stub.calls).toHaveLength(0);
  });
});

describe('admin gate on buttons, submissions and options', () => {
  const homeWith = (actionId: string) => ({
    id: 'V0HOME',
    team_id: 'T0AADSYNC',
    user_id: 'U0MEMBER',
    type: 'home' as const,
    hash: 'h',
    callback_id: '',
    private_metadata: '',
    external_id: '',
    blocks: [
      {
        type: 'actions',
        block_id: 'b',
        elements: [{ type: 'button', action_id: actionId, text: { type: 'plain_text', text: 'Go' } }],
      },
    ],
    state: { values: {} },
    root_view_id: null,
    previous_view_id: null,
    app_id: 'A0AADSYNC',
    bot_id: 'B0AADBOT',
    open: true,
  });

  it('answers a non-admin button on a message with an ephemeral refusal and leaves the message alone', async () => {
    emulator.setChannels([{ id: 'C0ADMINS', name: 'aad-admins', isPrivate: false, members: ['U0AADBOT', 'U0MEMBER'] }]);
    const { WebClient } = (await import('@slack/bolt')).webApi;
    const web = new WebClient(emulator.botToken, { slackApiUrl: emulator.apiUrl, retryConfig: { retries: 0 } });
    const alert = alertMessage({
      sourceId: 's',
      code: 'reauth_required',
      message: null,
      count: 1,
      firstAt: T0,
      lastAt: T0,
    });
    await web.chat.postMessage({ channel: 'C0ADMINS', ...alert });
    const [message] = emulator.messagesIn('C0ADMINS');
    message.blocks = [
      {
        type: 'actions',
        block_id: 'a',
        elements: [{ type: 'button', action_id: 'test_gated_action', text: { type: 'plain_text', text: 'Go' } }],
      },
    ];
    const reply = await client.blockAction({ userId: 'U0MEMBER', actionId: 'test_gated_action', message });
    expect(reply.status).toBe(200);
    expect(gated).toEqual([]);
    const [response] = emulator.responses();
    expect(response.body).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(emulator.messagesIn('C0ADMINS')[0].edited).toBeUndefined();
  });

  it('answers a non-admin button on the Home tab with a small modal', async () => {
    const reply = await client.blockAction({
      userId: 'U0MEMBER',
      actionId: 'test_gated_action',
      view: homeWith('test_gated_action'),
    });
    expect(reply.status).toBe(200);
    expect(gated).toEqual([]);
    expect(emulator.lastView()).toMatchObject({ type: 'modal', title: { text: 'Admins only' } });
  });

  it('replaces a non-admin submission with the refusal and does not run the listener', async () => {
    const view = { ...homeWith('x'), type: 'modal' as const, callback_id: 'test_gated_view', blocks: [] };
    const reply = await client.viewSubmission(view, {}, 'U0MEMBER');
    expect(reply.body).toMatchObject({ response_action: 'update', view: { title: { text: 'Admins only' } } });
    expect(gated).toEqual([]);
  });

  it('gives a non-admin options load a single explanatory option', async () => {
    const view = {
      ...homeWith('x'),
      type: 'modal' as const,
      blocks: [
        {
          type: 'input',
          block_id: 'g',
          label: { type: 'plain_text', text: 'G' },
          element: { type: 'multi_external_select', action_id: 'test_gated_options' },
        },
      ],
    };
    const reply = await client.optionsLoad('test_gated_options', 'sales', view, 'U0MEMBER');
    expect(reply.body).toEqual({
      options: [
        { text: { type: 'plain_text', text: 'Only workspace admins can search', emoji: true }, value: 'not_allowed' },
      ],
    });
    expect(gated).toEqual([]);
  });

  it('lets an admin through on each surface', async () => {
    await client.blockAction({ userId: 'U0ADMIN', actionId: 'test_gated_action', view: homeWith('test_gated_action') });
    const view = { ...homeWith('x'), type: 'modal' as const, callback_id: 'test_gated_view', blocks: [] };
    await client.viewSubmission(view, {}, 'U0ADMIN');
    expect(gated).toEqual(['action', 'view']);
  });

  it('fails closed when Slack cannot say who is an admin, and asks again next time', async () => {
    emulator.failNext('users.info', 'internal_error');
    const refused = await client.command('/aad', 'help', { userId: 'U0OWNER' });
    expect(sectionTexts(refused.body)).toContain('Only Slack workspace admins');
    expect(h.logLines.some((l) => l.includes('could not check whether a Slack user is an admin'))).toBe(true);
    const allowed = await client.command('/aad', 'help', { userId: 'U0OWNER' });
    expect(allowed.body).toMatchObject({ text: 'aad-sync commands' });
  });
});

describe('URL buttons', () => {
  it('acks the Sign in with Microsoft button so Slack shows no warning', async () => {
    const view = {
      id: 'V0SETUP',
      team_id: 'T0AADSYNC',
      user_id: 'U0ADMIN',
      type: 'modal' as const,
      hash: 'h',
      callback_id: 'setup_authorize',
      private_metadata: '',
      external_id: '',
      blocks: [
        {
          type: 'actions',
          block_id: 'authorize_actions',
          elements: [
            {
              type: 'button',
              action_id: actionIds.authorizeLink,
              url: 'https://x.test/a',
              text: { type: 'plain_text', text: 'Sign in' },
            },
          ],
        },
      ],
      state: { values: {} },
      root_view_id: 'V0SETUP',
      previous_view_id: null,
      app_id: 'A0AADSYNC',
      bot_id: 'B0AADBOT',
      open: true,
    };
    const reply = await client.blockAction({ userId: 'U0ADMIN', actionId: actionIds.authorizeLink, view });
    expect(reply.status).toBe(200);
    expect(h.logLines.some((l) => l.includes('not acknowledged'))).toBe(false);
  });
});

describe('App Home', () => {
  const buttonTexts = (blocks: Record<string, unknown>[]) =>
    blocks
      .filter((b) => b.type === 'actions')
      .flatMap((b) => (b.elements as { text: { text: string } }[]).map((e) => e.text.text));

  it('publishes the dashboard with its buttons for an admin', async () => {
    const reply = await client.appHomeOpened('U0ADMIN');
    expect(reply.status).toBe(200);
    const home = emulator.homeOf('U0ADMIN');
    expect(home?.type).toBe('home');
    expect(buttonTexts(home!.blocks)).toEqual([
      'Sync now',
      'Disable',
      'Edit groups',
      'Edit mappings',
      'Reauthorize',
      'Photo sync: off',
    ]);
    expect(JSON.stringify(home!.blocks)).toContain('1,997 people');
  });

  it('publishes the /whois guide, without dashboard or buttons, for everyone else', async () => {
    await client.appHomeOpened('U0MEMBER');
    const home = emulator.homeOf('U0MEMBER');
    expect(buttonTexts(home!.blocks)).toEqual([]);
    const text = JSON.stringify(home!.blocks);
    expect(text).toContain('/whois adele');
    expect(text).toContain('1,997 people');
    expect(text).not.toContain('Sync now');
  });

  it('shows the set-up button to an admin of a workspace that has no source yet', async () => {
    const bare = stubServices(null);
    stub.services.status = bare.services.status;
    try {
      await client.appHomeOpened('U0OWNER');
      expect(buttonTexts(emulator.homeOf('U0OWNER')!.blocks)).toEqual(['Set up aad-sync']);
      await client.appHomeOpened('U0MEMBER');
      expect(JSON.stringify(emulator.homeOf('U0MEMBER')!.blocks)).toContain('still being set up');
    } finally {
      stub.services.status = stubServices(source()).services.status;
    }
  });

  it('ignores the Messages tab', async () => {
    await client.event({ type: 'app_home_opened', user: 'U0ADMIN', channel: 'D0ADMIN', tab: 'messages' });
    expect(emulator.calls('views.publish')).toHaveLength(0);
  });
});

describe('createSlackApp', () => {
  it('checks the bot token with auth.test once, at start-up', async () => {
    const logger = createLogger({ level: 'silent' });
    const fresh = await createSlackApp({
      signingSecret: SECRET,
      botToken: emulator.botToken,
      apiUrl: emulator.apiUrl,
      logger,
    });
    expect(emulator.calls('auth.test')).toEqual([expect.objectContaining({ token: emulator.botToken })]);
    await fresh.app.client.auth.test();
    expect(emulator.calls('auth.test')).toHaveLength(2);
  });

  it('builds a Socket Mode app when an app-level token is given', async () => {
    const logger = createLogger({ level: 'silent' });
    const socket = await createSlackApp({
      signingSecret: SECRET,
      botToken: emulator.botToken,
      apiUrl: emulator.apiUrl,
      appToken: 'xapp-1-A0AADSYNC-1-secret',
      logger,
    });
    expect(socket.receiver).toBeInstanceOf(SocketModeReceiver);
    expect(h.slack.receiver).toBeInstanceOf(HTTPReceiver);
  });

  it('refuses to start with a token Slack does not accept, with Slack’s reason', async () => {
    const logger = createLogger({ level: 'silent' });
    await expect(
      createSlackApp({
        signingSecret: SECRET,
        botToken: 'xoxb-wrong',
        apiUrl: emulator.apiUrl,
        logger,
        retryConfig: { retries: 0 },
      }),
    ).rejects.toThrow(/invalid_auth/);
    expect(emulator.calls('auth.test')).toEqual([expect.objectContaining({ token: 'xoxb-wrong' })]);
  });
});
