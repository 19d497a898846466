import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSubscriptionClient } from '../../src/azure/index.ts';
import { maintainSubscriptions } from '../../src/sync/notifications/subscriptions.ts';
import {
  ADMIN,
  type AppFixture,
  MEMBER,
  METRICS_TOKEN,
  setUpSource,
  startAppFixture,
  viewText,
} from '../helpers/app.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * Near-real-time sync through the real server and the emulator: Graph subscriptions made by the app,
 * notifications POSTed by the emulator on directory changes, debounced into delta runs (trigger
 * `notification`) with no manual or scheduled run; forged notifications ignored; renewal under the
 * emulator's clock; a lost subscription recreated; an unreachable PUBLIC_URL reported on the Home tab.
 */

let f: AppFixture;
let sourceId: string;
/** The app's clock runs this far ahead, in step with the emulator's (renewal is judged by it). */
let clockOffsetMs = 0;

beforeAll(async () => {
  f = await startAppFixture({
    mode: 'application',
    seed: 'change-notifications',
    users: 120,
    server: {
      changeFeed: {
        debounceMs: 300,
        upkeepEveryMs: 300,
        retryAfterMs: 500,
        now: () => new Date(Date.now() + clockOffsetMs),
      },
    },
  });
  sourceId = await setUpSource(f, { autoSync: true });
  await waitFor(() => activeSubscription(), { what: 'the users subscription', timeoutMs: 20_000 });
}, 120_000);
afterAll(() => f?.stop());

interface SubscriptionRow {
  subscription_id: string | null;
  status: string;
  problem: string | null;
  expires_at: Date | null;
}

async function row(): Promise<SubscriptionRow | undefined> {
  const [found] = await f.db.sql<SubscriptionRow[]>`
    select subscription_id, status, problem, expires_at from graph_subscriptions where source_id = ${sourceId} and resource = 'users'`;
  return found;
}

async function activeSubscription(): Promise<SubscriptionRow | undefined> {
  const found = await row();
  return found?.status === 'active' && found.subscription_id ? found : undefined;
}

async function emulatorSubscriptions() {
  return (
    (await f.entra.control('GET', 'subscriptions')).body as {
      subscriptions: { id: string; clientState: string; expirationDateTime: string }[];
    }
  ).subscriptions;
}

async function profile(graphId: string) {
  const [found] = await f.db.sql<{ job_title: string | null; active: boolean }[]>`
    select job_title, active from profiles where source_id = ${sourceId} and graph_id = ${graphId}`;
  return found;
}

async function runsByTrigger() {
  return f.db.sql<{ trigger: string; n: number }[]>`
    select trigger, count(*)::int as n from sync_runs where source_id = ${sourceId} group by trigger`;
}

const notificationRuns = async () => (await runsByTrigger()).find((r) => r.trigger === 'notification')?.n ?? 0;

function post(path: string, body: string | Buffer, headers: Record<string, string> = {}) {
  return fetch(`${f.publicUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
}

describe('changes in Entra reach the directory without Sync now', () => {
  it('a created, changed and deleted user each arrive through notifications alone', async () => {
    const created = await f.entra.control('POST', 'users', {
      displayName: 'Nia Notified',
      givenName: 'Nia',
      surname: 'Notified',
      mail: `nia.notified@${f.entra.emulator.tenant.domain}`,
      jobTitle: 'Engineer',
    });
    const id = (created.body as { users: { id: string }[] }).users[0].id;
    await waitFor(async () => (await profile(id))?.active, { what: 'the new person', timeoutMs: 20_000 });

    await f.entra.control('POST', 'users', { id, jobTitle: 'Staff Engineer' });
    await waitFor(async () => (await profile(id))?.job_title === 'Staff Engineer', {
      what: 'the new title',
      timeoutMs: 20_000,
    });
    // What an employee sees: the new title, on a card that says it is live.
    const before = f.slack.responses().length;
    expect((await f.client.command('/whois', 'Nia Notified', { userId: MEMBER })).status).toBe(200);
    const card = JSON.stringify(
      await waitFor(() => f.slack.responses().slice(before).at(-1)?.body, { what: 'the /whois card' }),
    );
    expect(card).toContain('Staff Engineer');
    expect(card).toContain(':zap: Live from Microsoft Entra ID, updated <!date^');

    await f.entra.control('DELETE', `users/${id}`);
    await waitFor(async () => (await profile(id))?.active === false, { what: 'the removal', timeoutMs: 20_000 });

    const triggers = (await runsByTrigger()).map((r) => r.trigger).sort();
    expect(triggers).toEqual(['notification', 'setup']);
  });

  it('Home says the directory is live', async () => {
    await f.client.appHomeOpened(ADMIN);
    expect(viewText(f.slack.homeOf(ADMIN))).toContain(
      'Live: changes made in Entra ID reach the directory within seconds',
    );
  });
});

describe('forged notifications', () => {
  it('wrong clientState, unknown subscription, malformed and 1 MB bodies change nothing and are answered at once', async () => {
    const { subscription_id: id } = (await activeSubscription())!;
    const before = await notificationRuns();
    const forged = (subscriptionId: string, clientState: string) =>
      JSON.stringify({
        value: [{ subscriptionId, clientState, changeType: 'updated', resource: 'Users/x', tenantId: 'x' }],
      });
    const answers = await Promise.all([
      post('/graph/notifications', forged(id!, 'guessed')),
      post('/graph/notifications', forged('00000000-0000-0000-0000-000000000000', 'guessed')),
      post(
        '/graph/lifecycle',
        JSON.stringify({ value: [{ subscriptionId: id, lifecycleEvent: 'subscriptionRemoved' }] }),
      ),
      post('/graph/notifications', '{"value": [ not json'),
      post('/graph/notifications', JSON.stringify({ value: 'nope' })),
      post('/graph/notifications', Buffer.alloc(1024 * 1024, 0x20)),
    ]);
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202, 400, 400, 413]);

    await new Promise((resolve) => setTimeout(resolve, 1_500)); // longer than the debounce
    expect(await notificationRuns()).toBe(before);
    expect((await activeSubscription())?.subscription_id).toBe(id);
    const bearer = { authorization: `Bearer ${METRICS_TOKEN}` };
    const metrics = await (await fetch(`${f.publicUrl}/metrics`, { headers: bearer })).text();
    expect(metrics).toMatch(/aad_sync_graph_notifications_total\{outcome="wrong_client_state"\} [2-9]/);
    expect(metrics).toMatch(/aad_sync_graph_notifications_total\{outcome="unknown_subscription"\} [1-9]/);
    expect(metrics).toMatch(/aad_sync_graph_notifications_total\{outcome="too_large"\} 1/);
  });

  it("Graph's validation handshake is echoed as plain text", async () => {
    const answer = await post('/graph/notifications?validationToken=Validation%3A%20abc%2B1', '');
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await answer.text()).toBe('Validation: abc+1');
  });
});

describe('keeping the subscription', () => {
  it('two replicas doing upkeep at once leave exactly one subscription', async () => {
    // Two more replicas' upkeep (besides the server's own), with their own Graph clients and tokens.
    const cca = f.entra.msal();
    const getToken = async () =>
      (await cca.acquireTokenByClientCredential({ scopes: ['https://graph.microsoft.com/.default'] }))!.accessToken;
    const replica = {
      sql: f.db.sql,
      encryptionKey: f.encryptionKey,
      publicUrl: f.publicUrl,
      clientFor: () => createSubscriptionClient({ graphBaseUrl: f.entra.emulator.graphBaseUrl, getToken }),
    };
    // Graph lost it and the app forgot it: every replica now sees a subscription to create.
    const { subscription_id: id } = (await activeSubscription())!;
    await f.entra.control('DELETE', `subscriptions/${id}`);
    await f.db
      .sql`update graph_subscriptions set subscription_id = null, status = 'pending' where source_id = ${sourceId}`;
    const results = await Promise.all([maintainSubscriptions(replica), maintainSubscriptions(replica)]);
    await waitFor(() => activeSubscription(), { what: 'the recreated subscription' });
    expect(results.reduce((n, r) => n + r.created, 0)).toBeLessThanOrEqual(1);
    expect(await emulatorSubscriptions()).toHaveLength(1);
  });

  it('renews before expiry under the emulator clock, and recreates a subscription Graph lost', async () => {
    const before = (await activeSubscription())!;
    // 28 days later: inside the two-day renewal window of the 29-day lifetime.
    const advance = 28 * 24 * 3600;
    await f.entra.control('POST', 'clock', { advanceSeconds: advance });
    clockOffsetMs += advance * 1000;
    await waitFor(async () => ((await row())?.expires_at?.getTime() ?? 0) > before.expires_at!.getTime(), {
      what: 'the renewal',
    });
    expect((await activeSubscription())?.subscription_id).toBe(before.subscription_id);
    const [live] = await emulatorSubscriptions();
    expect(Date.parse(live.expirationDateTime)).toBeGreaterThan(Date.now() + clockOffsetMs + 27 * 24 * 3600_000);

    // Graph says it removed the subscription: the app makes a new one and catches up with a delta run.
    const runsBefore = await notificationRuns();
    await f.entra.control('POST', `subscriptions/${live.id}/lifecycle`, { event: 'subscriptionRemoved' });
    await waitFor(
      async () => {
        const now = await activeSubscription();
        return now && now.subscription_id !== live.id ? now : undefined;
      },
      { what: 'a new subscription' },
    );
    await waitFor(async () => (await notificationRuns()) > runsBefore, { what: 'the catch-up run' });
    expect(await emulatorSubscriptions()).toHaveLength(1);
  });

  it('an unreachable PUBLIC_URL leaves scheduled syncs on, with the reason on the Home tab', async () => {
    const { subscription_id: id } = (await activeSubscription())!;
    await f.entra.control('POST', 'notifications', { reachable: false });
    await f.entra.control('POST', `subscriptions/${id}/lifecycle`, { event: 'subscriptionRemoved' });
    // The lifecycle event cannot arrive either: the app learns at renewal that Graph lost it.
    await f.entra.control('DELETE', `subscriptions/${id}`).catch(() => undefined);
    const advance = 28 * 24 * 3600;
    await f.entra.control('POST', 'clock', { advanceSeconds: advance });
    clockOffsetMs += advance * 1000;
    const refused = await waitFor(async () => ((await row())?.status === 'unreachable' ? row() : undefined), {
      what: 'the refusal',
    });
    expect(refused?.problem).toContain('PUBLIC_URL');
    const [source] = await f.db.sql`select status, sync_enabled from sources where id = ${sourceId}`;
    expect(source).toMatchObject({ status: 'active', sync_enabled: true });
    await f.client.appHomeOpened(ADMIN);
    const home = viewText(f.slack.homeOf(ADMIN));
    expect(home).toContain('Near-real-time updates are off');
    expect(home).toContain('PUBLIC_URL must be an https address reachable from the internet');
    expect(home).toContain('Scheduled syncs continue');

    // Reachable again: the next attempt subscribes.
    await f.entra.control('POST', 'notifications', { reachable: true });
    await waitFor(() => activeSubscription(), { what: 'the subscription once reachable' });
  });
});
