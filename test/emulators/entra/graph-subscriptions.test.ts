import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@microsoft/microsoft-graph-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { graphError, startTestEmulator, type TestEmulator } from '../../helpers/emulator.ts';
import { waitFor } from '../../helpers/wait.ts';

/**
 * Graph change-notification subscriptions in the emulator, through the unmodified Graph client: the
 * validation handshake and its refusal, Graph's limits, notifications on directory changes, expiry under
 * the emulator's clock, lifecycle events on demand, and an unreachable notification URL.
 */

interface Received {
  path: string;
  query: URLSearchParams;
  body: string;
}

let t: TestEmulator;
let graph: Client;
let receiver: Server;
let base: string;
const received: Received[] = [];
/** What the receiver does with a validation request: echo the token (as an app should), or misbehave. */
let validation: 'echo' | 'wrong' = 'echo';

beforeAll(async () => {
  t = await startTestEmulator({ users: 20, groups: 4, seed: 'graph-subscriptions' });
  receiver = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const url = new URL(request.url ?? '/', 'http://localhost');
      const token = url.searchParams.get('validationToken');
      received.push({ path: url.pathname, query: url.searchParams, body: Buffer.concat(chunks).toString() });
      if (token !== null) {
        response.writeHead(200, { 'content-type': 'text/plain' });
        response.end(validation === 'echo' ? token : 'something else');
        return;
      }
      response.writeHead(202);
      response.end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  base = `http://localhost:${(receiver.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await t?.close();
  receiver?.closeAllConnections();
  await new Promise((resolve) => receiver?.close(resolve));
});
beforeEach(async () => {
  await t.control('POST', 'reset');
  graph = await t.appGraph(['User.Read.All', 'Group.Read.All']);
  received.length = 0;
  validation = 'echo';
});

const inMinutes = (minutes: number) => new Date(Date.now() + minutes * 60_000).toISOString();

function subscribe(overrides: Record<string, unknown> = {}) {
  return graph.api('/subscriptions').post({
    changeType: 'updated,deleted',
    notificationUrl: `${base}/graph/notifications`,
    lifecycleNotificationUrl: `${base}/graph/lifecycle`,
    resource: '/users',
    expirationDateTime: inMinutes(60 * 24),
    clientState: 'secret-state',
    ...overrides,
  }) as Promise<{ id: string; expirationDateTime: string; clientState: string }>;
}

function notifications(path = '/graph/notifications') {
  return received
    .filter((r) => r.path === path && !r.query.has('validationToken'))
    .flatMap((r) => (JSON.parse(r.body) as { value: Record<string, unknown>[] }).value);
}

describe('creating a subscription', () => {
  it('validates both URLs with a token that must come back as text, then answers 201', async () => {
    const created = await subscribe();
    expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.clientState).toBe('secret-state');
    const handshakes = received.filter((r) => r.query.has('validationToken'));
    expect(handshakes.map((h) => h.path).sort()).toEqual(['/graph/lifecycle', '/graph/notifications']);

    validation = 'wrong';
    const refused = await graphError(subscribe());
    expect(refused.statusCode).toBe(400);
    expect(refused.code).toBe('ValidationError');
    const listed = (await t.control('GET', 'subscriptions')).body as { subscriptions: unknown[] };
    expect(listed.subscriptions).toHaveLength(1);
  });

  it("enforces Graph's limits: lifetime, change types, clientState, https, permission", async () => {
    const tooLong = await graphError(subscribe({ expirationDateTime: inMinutes(41_760 + 5) }));
    expect([tooLong.statusCode, tooLong.code]).toEqual([400, 'ExtensionError']);
    expect(tooLong.message).toBe('Subscription expiration can only be 41760 minutes in the future.');
    expect((await graphError(subscribe({ changeType: 'created' }))).statusCode).toBe(400);
    expect((await graphError(subscribe({ clientState: 'x'.repeat(129) }))).statusCode).toBe(400);
    expect((await graphError(subscribe({ notificationUrl: 'http://example.com/hook' }))).statusCode).toBe(400);
    expect((await graphError(subscribe({ expirationDateTime: undefined }))).message).toBe(
      'expirationDateTime is a required property for subscription creation.',
    );
    // Under 45 minutes is raised to 45 minutes.
    const short = await subscribe({ expirationDateTime: inMinutes(5) });
    expect(Date.parse(short.expirationDateTime) - Date.now()).toBeGreaterThan(44 * 60_000);

    const usersOnly = await t.appGraph(['User.Read.All']);
    const denied = await graphError(
      usersOnly.api('/subscriptions').post({
        changeType: 'updated',
        notificationUrl: `${base}/graph/notifications`,
        resource: '/groups',
        expirationDateTime: inMinutes(60),
      }),
    );
    expect([denied.statusCode, denied.code]).toEqual([403, 'Authorization_RequestDenied']);
  });

  it('fails validation when the notification URL is unreachable', async () => {
    await t.control('POST', 'notifications', { reachable: false });
    const refused = await graphError(subscribe());
    expect([refused.statusCode, refused.code]).toEqual([400, 'ValidationError']);
    expect(received).toHaveLength(0);
  });
});

describe('notifications', () => {
  it('a created, changed, soft-deleted and permanently deleted user each send one with the clientState', async () => {
    const { id } = await subscribe();
    const created = await t.control('POST', 'users', { displayName: 'Nia Notified', jobTitle: 'Engineer' });
    const userId = (created.body as { users: { id: string }[] }).users[0].id;
    await t.control('POST', 'users', { id: userId, jobTitle: 'Lead' });
    await t.control('DELETE', `users/${userId}`);
    await t.control('DELETE', `users/${userId}?permanent=true`);
    await waitFor(() => notifications().length >= 4, { what: 'four notifications' });
    const sent = notifications();
    expect(sent.map((n) => n.changeType)).toEqual(['updated', 'updated', 'updated', 'deleted']);
    expect(sent[0]).toMatchObject({
      subscriptionId: id,
      clientState: 'secret-state',
      tenantId: t.emulator.tenantId,
      resource: `Users/${userId}`,
      resourceData: { '@odata.type': '#Microsoft.Graph.User', id: userId },
    });
    // Changes made together go out together.
    expect(
      received.filter((r) => r.path === '/graph/notifications' && !r.query.has('validationToken')).length,
    ).toBeLessThan(4);
  });

  it('a membership change notifies group subscriptions, not user ones', async () => {
    const users = await subscribe();
    const groups = await subscribe({ resource: '/groups', changeType: 'updated' });
    const group = [...t.emulator.tenant.groups.values()][0];
    const someone = [...t.emulator.tenant.users.values()].find((u) => !group.members.has(u.id))!;
    await t.control('POST', `groups/${group.id}/members`, { add: [someone.id] });
    await waitFor(() => notifications().length >= 1, { what: 'the group notification' });
    await t.emulator.settleNotifications();
    expect(notifications()).toEqual([
      expect.objectContaining({ subscriptionId: groups.id, changeType: 'updated', resource: `Groups/${group.id}` }),
    ]);
    expect(notifications().some((n) => n.subscriptionId === users.id)).toBe(false);
  });

  it('retries a failed delivery and counts what it gives up on', async () => {
    await subscribe();
    await t.control('POST', 'notifications', { reachable: false, maxAttempts: 2 });
    await t.control('POST', 'users', { displayName: 'Lost Change' });
    await t.emulator.settleNotifications();
    const { delivery } = (await t.control('GET', 'subscriptions')).body as {
      delivery: { failedAttempts: number; dropped: number };
    };
    expect(delivery).toMatchObject({ failedAttempts: 2, dropped: 1 });
  });
});

describe('lifetime', () => {
  it('renewal moves the expiry; past it (emulator clock) the subscription is gone and silent', async () => {
    const { id } = await subscribe({ expirationDateTime: inMinutes(60) });
    const renewed = (await graph.api(`/subscriptions/${id}`).patch({ expirationDateTime: inMinutes(120) })) as {
      expirationDateTime: string;
    };
    expect(Date.parse(renewed.expirationDateTime)).toBeGreaterThan(Date.now() + 110 * 60_000);
    await t.control('POST', 'clock', { advanceSeconds: 121 * 60 });
    graph = await t.appGraph(['User.Read.All', 'Group.Read.All']); // the old token expired with the clock
    expect((await graphError(graph.api(`/subscriptions/${id}`).get())).statusCode).toBe(404);
    expect(
      (await graphError(graph.api(`/subscriptions/${id}`).patch({ expirationDateTime: inMinutes(200) }))).statusCode,
    ).toBe(404);
    await t.control('POST', 'users', { displayName: 'After Expiry' });
    await t.emulator.settleNotifications();
    expect(notifications()).toEqual([]);
  });

  it('lifecycle events go to the lifecycle URL; subscriptionRemoved removes it, reauthorize answers 204', async () => {
    const { id } = await subscribe();
    expect(
      (await t.control('POST', `subscriptions/${id}/lifecycle`, { event: 'reauthorizationRequired' })).status,
    ).toBe(202);
    await waitFor(() => notifications('/graph/lifecycle').length === 1, { what: 'the lifecycle event' });
    expect(notifications('/graph/lifecycle')[0]).toMatchObject({
      subscriptionId: id,
      lifecycleEvent: 'reauthorizationRequired',
      clientState: 'secret-state',
    });
    await graph.api(`/subscriptions/${id}/reauthorize`).post({});
    await t.control('POST', `subscriptions/${id}/lifecycle`, { event: 'subscriptionRemoved' });
    await waitFor(() => notifications('/graph/lifecycle').length === 2, { what: 'the removal event' });
    expect((await graphError(graph.api(`/subscriptions/${id}`).get())).statusCode).toBe(404);
    expect((await t.control('POST', 'subscriptions/nope/lifecycle', { event: 'missed' })).status).toBe(404);
  });

  it('DELETE removes it', async () => {
    const { id } = await subscribe();
    await graph.api(`/subscriptions/${id}`).delete();
    expect((await graphError(graph.api(`/subscriptions/${id}`).delete())).statusCode).toBe(404);
  });
});
