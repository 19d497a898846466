import type { Client, PageCollection } from '@microsoft/microsoft-graph-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { graphError, startTestEmulator, type TestEmulator } from '../../helpers/emulator.ts';

/** Graph conformance for counting users: `$count` on /users is an advanced query (graph-msal.md §3, §6). */

let t: TestEmulator;
let graph: Client;

beforeAll(async () => {
  t = await startTestEmulator({ users: 300, groups: 5, seed: 'graph-users-count' });
});
afterAll(async () => {
  await t?.close();
});
beforeEach(async () => {
  await t.control('POST', 'reset');
  graph = await t.appGraph();
});

describe('/users?$count=true', () => {
  it('is refused (400 Request_BadRequest) without ConsistencyLevel: eventual', async () => {
    const refused = await graphError(graph.api('/users').count(true).top(1).select(['id']).get());
    expect(refused.statusCode).toBe(400);
    expect(refused.code).toBe('Request_BadRequest');
    expect(refused.message).toContain('$count is not currently supported');
  });

  it('counts every match, not the page, with the header; together with $filter on accountEnabled', async () => {
    const users = [...t.emulator.tenant.users.values()];
    const enabled = users.filter((u) => u.accountEnabled).length;
    expect(enabled).toBeLessThan(users.length);
    const eventual = () => graph.api('/users').header('ConsistencyLevel', 'eventual').count(true).top(1).select(['id']);
    const all = (await eventual().get()) as PageCollection;
    expect(all['@odata.count']).toBe(users.length);
    expect(all.value).toHaveLength(1);
    const active = (await eventual().filter('accountEnabled eq true').get()) as PageCollection;
    expect(active['@odata.count']).toBe(enabled);
  });
});
