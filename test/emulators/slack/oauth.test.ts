import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { webApi } from '@slack/bolt';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSlackClient, type SlackEmulator, startSlackEmulator } from '../../../src/emulators/slack/index.ts';
import { OAUTH_APP as CLIENT, SPACES } from '../../fixtures/slack-spaces.ts';
import { slackError } from '../../slack/harness.ts';

/** The Slack emulator's install side: OAuth v2, token rotation, several workspaces, a Grid org, uninstalls. */

const REDIRECT = 'http://127.0.0.1:9/slack/oauth_redirect';

let now = Date.now();
let emulator: SlackEmulator;
let anonymous: webApi.WebClient;
const clientFor = (token: string) =>
  new webApi.WebClient(token, { slackApiUrl: emulator.apiUrl, retryConfig: { retries: 0 } });

beforeAll(async () => {
  emulator = await startSlackEmulator({
    spaces: SPACES,
    oauth: { ...CLIENT, redirectUrls: [REDIRECT], tokenRotation: true },
    now: () => now,
  });
  anonymous = new webApi.WebClient(undefined, { slackApiUrl: emulator.apiUrl, retryConfig: { retries: 0 } });
});
afterAll(() => emulator?.close());
beforeEach(() => {
  now = Date.now();
  emulator.reset();
});

/** Follows "Add to Slack" as `user` of `team` would; returns the redirect's query. */
async function authorize(params: Record<string, string>): Promise<URLSearchParams> {
  const url = new URL(`${emulator.url}/oauth/v2/authorize`);
  for (const [k, v] of Object.entries({
    client_id: CLIENT.clientId,
    scope: 'commands,chat:write',
    state: 's1',
    ...params,
  }))
    url.searchParams.set(k, v);
  const res = await fetch(url, { redirect: 'manual' });
  if (res.status !== 302) throw new Error(`authorize answered ${res.status}: ${await res.text()}`);
  const location = new URL(res.headers.get('location') ?? '');
  expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
  return location.searchParams;
}

async function install(team: string, user?: string) {
  const query = await authorize({ team, redirect_uri: REDIRECT, ...(user ? { user } : {}) });
  return anonymous.oauth.v2.access({
    ...{ client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret },
    code: query.get('code') ?? '',
    redirect_uri: REDIRECT,
  });
}

/** A bare HTTP server standing in for the app, keeping what the emulated Slack sends it. */
async function listenAsApp() {
  const received: Record<string, unknown>[] = [];
  const app = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      received.push(JSON.parse(body));
      res.end();
    });
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  const port = (app.address() as AddressInfo).port;
  const slack = createSlackClient({ appUrl: `http://127.0.0.1:${port}/`, signingSecret: 'secret-123', emulator });
  return { received, slack, close: () => new Promise<void>((resolve) => app.close(() => resolve())) };
}

describe('OAuth v2 install', () => {
  it('redirects with a code and the state, and the code buys a rotating bot token once', async () => {
    const query = await authorize({ team: 'T0ALPHA', redirect_uri: REDIRECT });
    expect(query.get('state')).toBe('s1');
    const code = query.get('code') ?? '';
    const access = { client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret, redirect_uri: REDIRECT };
    const answer = await anonymous.oauth.v2.access({ ...access, code });
    expect(answer).toMatchObject({
      ok: true,
      token_type: 'bot',
      team: { id: 'T0ALPHA' },
      enterprise: null,
      is_enterprise_install: false,
      authed_user: { id: 'U0ALPHAADM' },
      expires_in: 12 * 3600,
    });
    expect(answer.access_token).toMatch(/^xoxe\.xoxb-/);
    expect(answer.refresh_token).toMatch(/^xoxe-/);
    expect(await slackError(anonymous.oauth.v2.access({ ...access, code }))).toBe('invalid_code');
  });

  it('refuses wrong client credentials, a changed redirect_uri and an unregistered one', async () => {
    const code = (await authorize({ team: 'T0BETA', redirect_uri: REDIRECT })).get('code') ?? '';
    const base = { client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret, code, redirect_uri: REDIRECT };
    expect(await slackError(anonymous.oauth.v2.access({ ...base, client_id: '9.9' }))).toBe('invalid_client_id');
    expect(await slackError(anonymous.oauth.v2.access({ ...base, client_secret: 'nope' }))).toBe('bad_client_secret');
    expect(await slackError(anonymous.oauth.v2.access({ ...base, redirect_uri: `${REDIRECT}x` }))).toBe(
      'bad_redirect_uri',
    );
    const res = await fetch(
      `${emulator.url}/oauth/v2/authorize?client_id=${CLIENT.clientId}&team=T0BETA&redirect_uri=https://evil.example/cb`,
      { redirect: 'manual' },
    );
    expect([res.status, await res.text()]).toEqual([400, 'bad_redirect_uri']);
  });

  it('sends the person back with access_denied when they cancel', async () => {
    const query = await authorize({ team: 'T0ALPHA', redirect_uri: REDIRECT, deny: '1' });
    expect([query.get('error'), query.get('code'), query.get('state')]).toEqual(['access_denied', null, 's1']);
  });
});

describe('tokens answer for their own installation', () => {
  it('auth.test names the installation; a channel of another workspace is not found', async () => {
    const alpha = clientFor((await install('T0ALPHA')).access_token ?? '');
    const beta = clientFor((await install('T0BETA')).access_token ?? '');
    expect(await alpha.auth.test()).toMatchObject({
      team_id: 'T0ALPHA',
      user_id: 'U0BOTT0ALPHA',
      is_enterprise_install: false,
    });
    expect(await beta.auth.test()).toMatchObject({ team_id: 'T0BETA', user_id: 'U0BOTT0BETA' });
    await alpha.conversations.join({ channel: 'C0ALPHA' });
    expect(await slackError(alpha.chat.postMessage({ channel: 'C0BETA', text: 'hi' }))).toBe('channel_not_found');
    expect(await slackError(alpha.users.info({ user: 'U0BETAADM' }))).toBe('user_not_found');
    expect(
      await slackError(
        beta.views.open({
          trigger_id: emulator.issueTrigger('U0ALPHAADM'),
          view: { type: 'modal', title: { type: 'plain_text', text: 'x' }, blocks: [] },
        }),
      ),
    ).toBe('invalid_trigger_id');
    expect(emulator.calls('chat.postMessage')[0]).toMatchObject({ installation: 'T0ALPHA' });
  });

  it('an org-wide install is made by an org admin and reaches every workspace of the org', async () => {
    const refused = await authorize({ team: 'E0GRID', user: 'W0MEMBER2', redirect_uri: REDIRECT });
    expect(refused.get('error')).toBe('access_denied');
    const answer = await install('E0GRID', 'W0ORGADM');
    expect(answer).toMatchObject({ team: null, enterprise: { id: 'E0GRID' }, is_enterprise_install: true });
    const org = clientFor(answer.access_token ?? '');
    expect(await org.auth.test()).toMatchObject({ enterprise_id: 'E0GRID', is_enterprise_install: true });
    for (const channel of ['C0GRID1', 'C0GRID2']) {
      await org.conversations.join({ channel });
      await org.chat.postMessage({ channel, text: 'hello org' });
    }
    expect(emulator.messagesIn('C0GRID2').map((m) => m.text)).toEqual(['hello org']);
    expect(await slackError(org.chat.postMessage({ channel: 'C0ALPHA', text: 'x' }))).toBe('channel_not_found');
    expect(await slackError(clientFor('xoxb-made-up').auth.test())).toBe('invalid_auth');
  });
});

describe('token rotation', () => {
  it('a refresh gives a new token and refresh token; the used refresh token is revoked; old tokens expire', async () => {
    const first = await install('T0ALPHA');
    const refresh = {
      client_id: CLIENT.clientId,
      client_secret: CLIENT.clientSecret,
      grant_type: 'refresh_token' as const,
    };
    const second = await anonymous.oauth.v2.access({ ...refresh, refresh_token: first.refresh_token ?? '' });
    expect(second).toMatchObject({ ok: true, token_type: 'bot', team: { id: 'T0ALPHA' }, expires_in: 12 * 3600 });
    expect(second.access_token).not.toBe(first.access_token);
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(await slackError(anonymous.oauth.v2.access({ ...refresh, refresh_token: first.refresh_token ?? '' }))).toBe(
      'invalid_refresh_token',
    );
    expect(emulator.refreshes()).toBe(1);
    now += 12 * 3600 * 1000;
    expect(await slackError(clientFor(second.access_token ?? '').auth.test())).toBe('token_expired');
  });
});

describe('uninstall', () => {
  it("revokes that installation's tokens only, and the client delivers both events", async () => {
    const alpha = clientFor((await install('T0ALPHA')).access_token ?? '');
    const beta = clientFor((await install('T0BETA')).access_token ?? '');
    const { received, slack, close } = await listenAsApp();
    await slack.uninstall('T0ALPHA', 'uninstalled-first');
    await close();
    expect(await slackError(alpha.auth.test())).toBe('token_revoked');
    expect(await beta.auth.test()).toMatchObject({ team_id: 'T0BETA' });
    expect(received).toEqual([
      expect.objectContaining({ team_id: 'T0ALPHA', event: expect.objectContaining({ type: 'app_uninstalled' }) }),
      expect.objectContaining({
        event: expect.objectContaining({ type: 'tokens_revoked', tokens: { oauth: [], bot: ['U0BOTT0ALPHA'] } }),
      }),
    ]);
  });

  it('events of an org user carry the org and an org-wide authorization', async () => {
    const { received, slack, close } = await listenAsApp();
    await slack.appHomeOpened('W0MEMBER2');
    await close();
    expect(received[0]).toMatchObject({
      team_id: 'T0GRID2',
      enterprise_id: 'E0GRID',
      authorizations: [{ enterprise_id: 'E0GRID', team_id: null, is_enterprise_install: true }],
    });
  });
});
