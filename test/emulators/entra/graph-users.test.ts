import type { Client, PageCollection } from '@microsoft/microsoft-graph-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { graphError, readAllPages, startTestEmulator, type TestEmulator } from '../../helpers/emulator.ts';

/**
 * Graph conformance for users: the unmodified @microsoft/microsoft-graph-client against the emulator,
 * with an application token from the unmodified MSAL.
 */

let t: TestEmulator;
let graph: Client;

beforeAll(async () => {
  t = await startTestEmulator({ users: 2500, groups: 20, seed: 'graph-users' });
});
afterAll(async () => {
  await t?.close();
});
beforeEach(async () => {
  await t.control('POST', 'reset');
  // A fresh MSAL client per test: its token cache would outlive the reset (which revokes tokens).
  graph = await t.appGraph();
});

describe('/users', () => {
  it('pages 2,500 users through absolute https nextLinks with PageIterator', async () => {
    const first = (await graph
      .api('/users')
      .select(['id', 'displayName', 'mail', 'accountEnabled'])
      .top(999)
      .get()) as PageCollection;
    expect(first.value).toHaveLength(999);
    expect(first['@odata.nextLink']).toMatch(new RegExp(`^${t.emulator.graphBaseUrl}/v1\\.0/users\\?`));
    const { items } = await readAllPages<{ id: string; displayName: string; accountEnabled: boolean }>(graph, first);
    expect(items).toHaveLength(2500);
    expect(new Set(items.map((u) => u.id)).size).toBe(2500);
    expect(Object.keys(items[0]).sort()).toEqual(['accountEnabled', 'displayName', 'id', 'mail']);
    expect(t.emulator.requests()['/v1.0/users']).toBe(3);
  });

  it('returns Graph default properties without $select (and not department)', async () => {
    const page = (await graph.api('/users').top(5).get()) as PageCollection;
    expect(Object.keys(page.value[0]).sort()).toEqual(
      [
        'businessPhones',
        'displayName',
        'givenName',
        'id',
        'jobTitle',
        'mail',
        'mobilePhone',
        'officeLocation',
        'preferredLanguage',
        'surname',
        'userPrincipalName',
      ].sort(),
    );
  });

  it('refuses $top above 999 and unknown properties with 400', async () => {
    const tooBig = await graphError(graph.api('/users').top(1000).get());
    expect(tooBig.statusCode).toBe(400);
    expect(tooBig.message).toContain("Invalid page size specified: '1000'");
    const unknown = await graphError(graph.api('/users').select(['id', 'favouriteColour']).get());
    expect(unknown.statusCode).toBe(400);
    expect(unknown.code).toBe('Request_BadRequest');
  });

  it('filters on accountEnabled and finds exactly the disabled accounts', async () => {
    const disabled = [...t.emulator.tenant.users.values()].filter((u) => !u.accountEnabled).map((u) => u.id);
    expect(disabled.length).toBeGreaterThan(0);
    const first = (await graph
      .api('/users')
      .filter('accountEnabled eq false')
      .select(['id'])
      .top(10)
      .get()) as PageCollection;
    const { items } = await readAllPages<{ id: string }>(graph, first);
    expect(items.map((u) => u.id).sort()).toEqual(disabled.sort());
    const ne = await graphError(graph.api('/users').filter('accountEnabled ne true').get());
    expect(ne.code).toBe('Request_UnsupportedQuery');
  });

  it('gets one user by id or UPN, with $expand=manager, and 404 for unknown ids', async () => {
    const user = [...t.emulator.tenant.users.values()].find((u) => u.managerId)!;
    const byId = await graph
      .api(`/users/${user.id}`)
      .select(['id', 'department'])
      .expand('manager($select=id,displayName)')
      .get();
    expect(byId).toMatchObject({ id: user.id, department: user.department, manager: { id: user.managerId } });
    const byUpn = await graph.api(`/users/${encodeURIComponent(user.userPrincipalName)}`).get();
    expect(byUpn.id).toBe(user.id);
    const missing = await graphError(graph.api('/users/00000000-0000-4000-8000-000000000000').get());
    expect(missing.statusCode).toBe(404);
    expect(missing.code).toBe('Request_ResourceNotFound');
  });

  it('retries automatically after an injected 429 (Retry-After honoured)', async () => {
    await t.control('POST', 'faults', { throttleEvery: 2, retryAfterSeconds: 1 });
    await graph.api('/users').top(1).get();
    const page = (await graph.api('/users').top(1).get()) as PageCollection;
    expect(page.value).toHaveLength(1);
    // The second request was throttled and retried by the client's RetryHandler.
    expect(t.emulator.requests()['/v1.0/users']).toBe(3);
  });

  it('retries 503s from failEvery, but not 500s (as the Graph client does)', async () => {
    await t.control('POST', 'faults', { failEvery: 2, status: 503, retryAfterSeconds: 0 });
    await graph.api('/users').top(1).get();
    expect((await graph.api('/users').top(1).get()).value).toHaveLength(1);
    expect(t.emulator.requests()['/v1.0/users']).toBe(3);
    await t.control('POST', 'faults', { failEvery: 1, status: 500 });
    const error = await graphError(graph.api('/users').top(1).get());
    expect(error.statusCode).toBe(500);
    expect((await t.control('POST', 'faults', { status: 404 })).status).toBe(400);
  });

  it('gives up with a 429 GraphError carrying Retry-After when throttling never stops', async () => {
    await t.control('POST', 'faults', { throttleEvery: 1, retryAfterSeconds: 0 });
    const error = await graphError(graph.api('/users').top(1).get());
    expect(error.statusCode).toBe(429);
    expect(error.code).toBe('TooManyRequests');
    expect(error.headers?.get('retry-after')).toBe('0');
  });
});

describe('bearer tokens', () => {
  it('401 InvalidAuthenticationToken without a token, with a foreign one, and after revoke', async () => {
    const bare = await fetch(`${t.emulator.graphBaseUrl}/v1.0/users`);
    expect(bare.status).toBe(401);
    expect(((await bare.json()) as { error: { code: string } }).error.code).toBe('InvalidAuthenticationToken');
    const forged = t.graph(async () => 'eyJhbGciOiJub25lIn0.eyJhdWQiOiJodHRwczovL2dyYXBoLm1pY3Jvc29mdC5jb20ifQ.');
    expect((await graphError(forged.api('/users').get())).code).toBe('InvalidAuthenticationToken');

    await graph.api('/users').top(1).get();
    await t.control('POST', 'revoke', { immediate: true });
    const revoked = await graphError(graph.api('/users').top(1).get());
    expect(revoked.statusCode).toBe(401);
    expect(revoked.code).toBe('InvalidAuthenticationToken');
  });

  it('401 for an access token past its expiry on the emulator clock', async () => {
    await graph.api('/users').top(1).get();
    await t.control('POST', 'clock', { advanceSeconds: 3600 });
    const expired = await graphError(graph.api('/users').top(1).get());
    expect(expired.statusCode).toBe(401);
    expect(expired.message).toContain('expired');
  });

  it('403 Authorization_RequestDenied when the token lacks the permission', async () => {
    const limited = await t.appGraph(['GroupMember.Read.All']);
    const denied = await graphError(limited.api('/users').get());
    expect(denied.statusCode).toBe(403);
    expect(denied.code).toBe('Authorization_RequestDenied');
    expect((await limited.api('/groups').top(1).get()).value).toHaveLength(1);
  });

  it('refuses writes from a read-only app with 403', async () => {
    const user = [...t.emulator.tenant.users.values()][0];
    const denied = await graphError(graph.api(`/users/${user.id}`).patch({ jobTitle: 'Hacker' }));
    expect(denied.statusCode).toBe(403);
    expect(t.emulator.tenant.users.get(user.id)?.jobTitle).not.toBe('Hacker');
  });
});
