import { type Client, type PageCollection, ResponseType, RetryHandlerOptions } from '@microsoft/microsoft-graph-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { resourceUnitCost, tenantLimit } from '../../../src/emulators/entra/graph/throttle.ts';
import { latencyOf } from '../../../src/emulators/entra/latency.ts';
import { graphError, readAllPages, startTestEmulator, type TestEmulator } from '../../helpers/emulator.ts';

/**
 * What fast full reads rely on, through the unmodified Graph client: `startsWith` filters on the UPN,
 * id filters on /users and delta, `$expand`'s 100-object pages, Graph's resource-unit throttling and
 * the latency model.
 */

let t: TestEmulator;
let graph: Client;
const NO_RETRY = [new RetryHandlerOptions(0, 0)];

beforeAll(async () => {
  t = await startTestEmulator({ users: 600, groups: 5, seed: 'graph-reads' });
});
afterAll(async () => {
  await t?.close();
});
beforeEach(async () => {
  await t.control('POST', 'reset');
  graph = await t.appGraph();
});

const upns = async (filter: string) => {
  const first = (await graph
    .api('/users')
    .select(['id', 'userPrincipalName'])
    .filter(filter)
    .top(999)
    .get()) as PageCollection;
  const { items } = await readAllPages<{ userPrincipalName: string }>(graph, first);
  return items.map((u) => u.userPrincipalName).sort();
};

describe('$filter for partitioned reads', () => {
  it('startsWith on userPrincipalName is case-insensitive and takes quotes, # and ~ (encoded)', async () => {
    await t.control('POST', 'users', [
      { userPrincipalName: "o'brien@contoso.com" },
      { userPrincipalName: 'Upper@contoso.com' },
      { userPrincipalName: 'ann_fabrikam.com#EXT#@contoso.onmicrosoft.com' },
      { userPrincipalName: '#hash@contoso.com' },
      { userPrincipalName: '~tilde@contoso.com' },
    ]);
    expect(await upns(`startswith(userPrincipalName,'o''')`)).toEqual(["o'brien@contoso.com"]);
    expect(await upns(`startswith(userPrincipalName,'uPPER')`)).toEqual(['Upper@contoso.com']);
    expect(await upns(`startswith(userPrincipalName,'${encodeURIComponent('#')}')`)).toEqual(['#hash@contoso.com']);
    expect(await upns(`startswith(userPrincipalName,'~')`)).toEqual(['~tilde@contoso.com']);
    expect(await upns(`startswith(userPrincipalName,'ann_fabrikam.com${encodeURIComponent('#')}EXT')`)).toHaveLength(1);
  });

  it('refuses startsWith on id and ge/le on the UPN without the advanced query parameters, as Graph does', async () => {
    const onId = await graphError(graph.api('/users').filter("startswith(id,'a')").get());
    expect(onId.statusCode).toBe(400);
    expect(onId.code).toBe('Request_UnsupportedQuery');
    const range = await graphError(graph.api('/users').filter("userPrincipalName ge 'm'").get());
    expect(range.code).toBe('Request_UnsupportedQuery');
    const ends = await graphError(graph.api('/users').filter("endswith(userPrincipalName,'.com')").get());
    expect(ends.code).toBe('Request_UnsupportedQuery');
  });

  it('filters /users by id eq and id in', async () => {
    const [a, b, c] = [...t.emulator.tenant.users.values()];
    const one = (await graph.api('/users').filter(`id eq '${a.id}'`).select('id').get()) as PageCollection;
    expect(one.value.map((u: { id: string }) => u.id)).toEqual([a.id]);
    const some = (await graph
      .api('/users')
      .filter(`id in ('${b.id}','${c.id.toUpperCase()}')`)
      .select('id')
      .get()) as PageCollection;
    expect(some.value.map((u: { id: string }) => u.id).sort()).toEqual([b.id, c.id].sort());
  });

  it("takes at most 15 values in an ordinary query's `in`, with managers expanded", async () => {
    const users = [...t.emulator.tenant.users.values()].slice(0, 16);
    const list = (n: number) =>
      `id in (${users
        .slice(0, n)
        .map((u) => `'${u.id}'`)
        .join(',')})`;
    const fifteen = (await graph
      .api('/users')
      .filter(list(15))
      .select('id')
      .expand('manager($select=id)')
      .get()) as PageCollection;
    expect(fifteen.value).toHaveLength(15);
    const managed = users.slice(0, 15).filter((u) => u.managerId);
    expect(managed.length).toBeGreaterThan(0);
    for (const u of managed) {
      const item = fifteen.value.find((v: { id: string }) => v.id === u.id);
      expect(item.manager.id).toBe(u.managerId);
    }
    const sixteen = await graphError(graph.api('/users').filter(list(16)).select('id').get());
    expect(sixteen.statusCode).toBe(400);
    expect(sixteen.code).toBe('Request_UnsupportedQuery');
    const advanced = (await graph
      .api('/users')
      .header('ConsistencyLevel', 'eventual')
      .query({ $count: 'true' })
      .filter(list(16))
      .select('id')
      .get()) as PageCollection;
    expect(advanced.value).toHaveLength(16);
  });

  it('scopes a delta round to ids (eq … or …, in (…)) and refuses any other delta filter', async () => {
    const [a, b, c] = [...t.emulator.tenant.users.values()];
    const first = (await graph
      .api('/users/delta')
      .filter(`id eq '${a.id}' or id eq '${b.id}'`)
      .select('displayName')
      .get()) as PageCollection;
    const { items, deltaLink } = await readAllPages<{ id: string }>(graph, first);
    expect(items.map((u) => u.id).sort()).toEqual([a.id, b.id].sort());
    await t.control('POST', 'users', [
      { id: a.id, displayName: 'Changed A' },
      { id: c.id, displayName: 'Changed C' },
    ]);
    const next = (await graph.api(deltaLink!).get()) as PageCollection;
    expect(next.value.map((u: { id: string }) => u.id)).toEqual([a.id]);

    const listed = (await graph.api('/users/delta').filter(`id in ('${c.id}')`).get()) as PageCollection;
    expect(listed.value.map((u: { id: string }) => u.id)).toEqual([c.id]);

    const other = await graphError(graph.api('/users/delta').filter("startswith(displayName,'a')").get());
    expect(other.statusCode).toBe(400);
    expect(other.code).toBe('Request_UnsupportedQuery');
    const many = Array.from({ length: 51 }, (_, i) => `'00000000-0000-0000-0000-${String(i).padStart(12, '0')}'`);
    const tooMany = await graphError(
      graph
        .api('/users/delta')
        .filter(`id in (${many.join(',')})`)
        .get(),
    );
    expect(tooMany.code).toBe('Request_UnsupportedQuery');
  });

  it('$deltatoken=latest keeps $select and $filter for the rounds after it', async () => {
    const [a, b] = [...t.emulator.tenant.users.values()];
    const latest = (await graph
      .api('/users/delta?$deltatoken=latest')
      .filter(`id eq '${a.id}'`)
      .select('jobTitle')
      .get()) as PageCollection;
    expect(latest.value).toEqual([]);
    await t.control('POST', 'users', [
      { id: a.id, jobTitle: 'After latest' },
      { id: b.id, jobTitle: 'Not tracked' },
    ]);
    const next = (await graph.api(latest['@odata.deltaLink']!).get()) as PageCollection;
    expect(next.value).toEqual([{ id: a.id, jobTitle: 'After latest' }]);
  });
});

describe('$expand on users', () => {
  it('answers at most 100 users per page whatever $top asks, as Graph does', async () => {
    const first = (await graph
      .api('/users')
      .select(['id'])
      .expand('manager($select=id)')
      .top(999)
      .get()) as PageCollection;
    expect(first.value).toHaveLength(100);
    expect(first['@odata.nextLink']).toBeTruthy();
    const { items } = await readAllPages<{ id: string }>(graph, first);
    expect(items).toHaveLength(600);
  });
});

describe('resource-unit throttling', () => {
  const raw = (path: string) =>
    graph.api(path).middlewareOptions(NO_RETRY).responseType(ResponseType.RAW).get() as Promise<Response>;

  it('prices requests as Graph publishes', () => {
    const q = (text: string) => new URLSearchParams(text);
    expect(resourceUnitCost('/v1.0/users', q(''))).toBe(2);
    expect(resourceUnitCost('/v1.0/users', q('$select=id&$top=999'))).toBe(1);
    expect(resourceUnitCost('/v1.0/users', q('$select=id&$expand=manager&$top=999'))).toBe(2);
    expect(resourceUnitCost('/v1.0/users', q('$top=5'))).toBe(1);
    expect(resourceUnitCost('/v1.0/users/delta', q('$select=id'))).toBe(1);
    expect(resourceUnitCost('/v1.0/groups/{id}/transitiveMembers/microsoft.graph.user', q('$top=999'))).toBe(5);
    expect(resourceUnitCost('/v1.0/groups/{id}/members', q('$select=id'))).toBe(2);
    expect(resourceUnitCost('/v1.0/users/{id}/photo/$value', q(''))).toBe(0);
    expect([tenantLimit(49), tenantLimit(50), tenantLimit(500), tenantLimit(501)]).toEqual([3500, 5000, 5000, 8000]);
  });

  it('reports the cost, warns past 80 %, then answers 429 with Retry-After until the bucket drains', async () => {
    // An hour-long window: the bucket does not drain while the test runs, however slow the machine.
    expect((await t.control('POST', 'throttle', { limit: 10, windowSeconds: 3600 })).status).toBe(200);
    const first = await raw('/users?$select=id&$top=999');
    expect(first.status).toBe(200);
    expect(first.headers.get('x-ms-resource-unit')).toBe('1');
    expect(first.headers.get('x-ms-throttle-limit-percentage')).toBeNull();
    const costly = await raw('/users');
    expect(costly.headers.get('x-ms-resource-unit')).toBe('2');
    for (let i = 0; i < 5; i++) await raw('/users?$select=id');
    const warned = await raw('/users?$select=id');
    expect(warned.status).toBe(200);
    expect(Number(warned.headers.get('x-ms-throttle-limit-percentage'))).toBeGreaterThan(0.8);
    await raw('/users?$select=id');

    const throttled = await raw('/users?$select=id');
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(throttled.headers.get('x-ms-throttle-scope')).toBe(
      `Tenant_Application/ReadWrite/${t.emulator.clientId}/${t.emulator.tenantId}`,
    );
    expect(throttled.headers.get('x-ms-throttle-information')).toBe('ResourceUnitLimitExceeded');
    const body = (await throttled.json()) as { error: { code: string } };
    expect(body.error.code).toBe('TooManyRequests');
    const error = await graphError(graph.api('/users').middlewareOptions(NO_RETRY).get());
    expect(error.statusCode).toBe(429);

    await t.control('POST', 'clock', { advanceSeconds: Number(throttled.headers.get('retry-after')) });
    expect((await raw('/users?$select=id')).status).toBe(200);
    const state = (await t.control('GET', 'state')).body as { throttle: { throttled: number } };
    expect(state.throttle.throttled).toBe(2);
  });

  it('meters each $batch item on its own and leaves photos to the Outlook service', async () => {
    await t.control('POST', 'throttle', { limit: 3, windowSeconds: 3600 });
    const user = [...t.emulator.tenant.users.values()][0];
    const answer = (await graph.api('/$batch').post({
      requests: ['1', '2', '3', '4'].map((id) => ({ id, method: 'GET', url: `/users/${user.id}?$select=id` })),
    })) as { responses: { id: string; status: number }[] };
    expect(answer.responses.map((r) => r.status).sort()).toEqual([200, 200, 200, 429]);
    const photo = await graph
      .api(`/users/${user.id}/photo`)
      .middlewareOptions(NO_RETRY)
      .responseType(ResponseType.RAW)
      .get();
    expect([200, 404]).toContain((photo as Response).status);
  });

  it('can be switched off and refuses nonsense settings', async () => {
    expect((await t.control('POST', 'throttle', { limit: 0 })).status).toBe(400);
    expect((await t.control('POST', 'throttle', { burst: 1 })).status).toBe(400);
    await t.control('POST', 'throttle', { limit: 1, enabled: false });
    for (let i = 0; i < 3; i++) expect((await raw('/users')).status).toBe(200);
  });
});

describe('latency model', () => {
  it('costs a fixed part plus a part per object returned', () => {
    const settings = { latencyMs: 100, latencyPerItemMs: 1 };
    expect(latencyOf({ status: 200, body: { value: new Array(999).fill({}) } }, settings)).toBe(1099);
    expect(latencyOf({ status: 200, body: { value: new Array(200).fill({}) } }, settings)).toBe(300);
    expect(latencyOf({ status: 404, body: { error: {} } }, settings)).toBe(100);
    const batch = { responses: [{ body: { value: [{}, {}] } }, { body: { id: 'x' } }] };
    expect(latencyOf({ status: 200, body: batch }, settings)).toBe(102);
  });

  it('is set through the control API like the other faults', async () => {
    const set = await t.control('POST', 'faults', { latencyMs: 0, latencyPerItemMs: 2 });
    expect(set.status).toBe(200);
    expect((set.body as { faults: { latencyPerItemMs: number } }).faults.latencyPerItemMs).toBe(2);
    expect((await t.control('POST', 'faults', { latencyPerItemMs: -1 })).status).toBe(400);
    await t.control('POST', 'faults', { latencyPerItemMs: 0 });
  });
});
