import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { ADMIN, type AppFixture, MEMBER, setUpSource, startAppFixture } from '../helpers/app.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * `aad-sync serve` with SLACK_APP_TOKEN: the same story as over HTTP — setup, first sync, /whois — with
 * every Slack payload arriving as a Socket Mode envelope on the app's WebSocket and answered by an
 * acknowledgement, including after Slack recycles the connection.
 */

let f: AppFixture;

beforeAll(async () => {
  f = await startAppFixture({ mode: 'delegated', seed: 'socket-mode', socketMode: true });
  await f.slack.socketMode.connected();
});
afterAll(() => f?.stop());

const whoisCard = async (query: string, userId: string) => {
  const before = f.slack.responses().length;
  const reply = await f.client.command('/whois', query, { userId });
  expect(reply.status).toBe(200);
  return waitFor(() => f.slack.responses().slice(before).at(-1), { what: `the /whois ${query} card` });
};

describe('Socket Mode', () => {
  it('opens its connection with the app-level token, through SLACK_API_URL', async () => {
    const opened = f.slack.calls('apps.connections.open');
    expect(opened.length).toBeGreaterThanOrEqual(1);
    expect(opened[0]).toMatchObject({ token: f.slack.socketMode.appToken, answer: { ok: true } });
    expect(f.slack.socketMode.connections()).toBeGreaterThanOrEqual(1);
  });

  it('runs setup → first sync → /whois over the WebSocket, and again after Slack recycles the connection', async () => {
    const sourceId = await setUpSource(f);
    const [someone] = await f.db.sql<{ email: string; display_name: string }[]>`
      select email, display_name from profiles where source_id = ${sourceId} and active order by email limit 1`;
    const card = await whoisCard(someone.email, MEMBER);
    expect(JSON.stringify(card.body)).toContain(someone.email);

    const opens = f.slack.calls('apps.connections.open').length;
    f.slack.socketMode.disconnectAll();
    await waitFor(() => f.slack.calls('apps.connections.open').length > opens, { what: 'a reconnection' });
    await f.slack.socketMode.connected();
    const again = await whoisCard(someone.display_name, ADMIN);
    expect(JSON.stringify(again.body)).toContain(someone.email);
  });

  it('refuses the bot token for apps.connections.open and the app token for everything else', async () => {
    const call = (method: string, token: string) =>
      fetch(`${f.slack.apiUrl}${method}`, { method: 'POST', headers: { authorization: `Bearer ${token}` } }).then(
        (r) => r.json() as Promise<{ ok: boolean; error?: string }>,
      );
    expect(await call('apps.connections.open', f.slack.botToken)).toEqual({
      ok: false,
      error: 'not_allowed_token_type',
    });
    expect(await call('auth.test', f.slack.socketMode.appToken)).toEqual({
      ok: false,
      error: 'not_allowed_token_type',
    });
    const used = (await call('apps.connections.open', f.slack.socketMode.appToken)) as { url?: string };
    // A URL is good for one connection.
    const first = new WebSocket(used.url!);
    await new Promise((resolve) => first.addEventListener('message', resolve, { once: true }));
    const second = new WebSocket(used.url!);
    const refused = await new Promise((resolve) =>
      second.addEventListener('error', () => resolve(true), { once: true }),
    );
    expect(refused).toBe(true);
    first.close();
  });
});
