import type { Client, PageCollection } from '@microsoft/microsoft-graph-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MEMBERS_PER_ITEM } from '../../../src/emulators/entra/graph/groups-delta.ts';
import type { EmulatedGroup } from '../../../src/emulators/entra/index.ts';
import { graphError, readAllPages, startTestEmulator, type TestEmulator } from '../../helpers/emulator.ts';

/** /groups/delta with `members` through the unmodified Graph client: first round, then membership changes. */

let t: TestEmulator;
let graph: Client;

beforeAll(async () => {
  t = await startTestEmulator({ users: 400, groups: 12, seed: 'graph-groups-delta' });
});
afterAll(async () => {
  await t?.close();
});
beforeEach(async () => {
  await t.control('POST', 'reset');
  // GroupMember.Read.All alone: the least privileged permission "group: delta" lists is all it takes.
  await t.control('POST', 'consent', { granted: false });
  graph = await t.appGraph(['GroupMember.Read.All']);
});

type Member = { '@odata.type': string; id: string; '@removed'?: { reason: string } };
type DeltaGroup = Record<string, unknown> & { id: string; 'members@delta'?: Member[]; '@removed'?: unknown };

async function round(url: string, headers?: Record<string, string>) {
  const request = graph.api(url);
  if (headers) request.headers(headers);
  const { items, deltaLink } = await readAllPages<DeltaGroup>(graph, (await request.get()) as PageCollection, headers);
  expect(deltaLink).toMatch(new RegExp(`^${t.emulator.graphBaseUrl}/v1\\.0/groups/delta\\?\\$deltatoken=`));
  return { items, deltaLink: deltaLink! };
}

const groups = () => [...t.emulator.tenant.groups.values()];
const named = (name: string) => groups().find((g) => g.displayName === name)!;
/** Engineering with Legal nested in it (the seeded tenant nests every department in All Staff). */
async function withNested(): Promise<EmulatedGroup> {
  await t.control('POST', `groups/${named('Engineering').id}/members`, { add: [named('Legal').id] });
  return named('Engineering');
}
const idFilter = (...gs: EmulatedGroup[]) => gs.map((g) => `id eq '${g.id}'`).join(' or ');
const usersOutside = (g: EmulatedGroup) => [...t.emulator.tenant.users.keys()].filter((id) => !g.members.has(id));

/** Every member of each group in a round, the items of one group merged. */
function membersByGroup(items: DeltaGroup[]): Map<string, Member[]> {
  const merged = new Map<string, Member[]>();
  for (const item of items) merged.set(item.id, [...(merged.get(item.id) ?? []), ...(item['members@delta'] ?? [])]);
  return merged;
}

describe('/groups/delta', () => {
  it('first round: the filtered groups with their direct members, nested groups as members of type group', async () => {
    const parent = await withNested();
    const other = named('Sales');
    const { items } = await round(`/groups/delta?$select=displayName,members&$filter=${idFilter(parent, other)}`);
    const merged = membersByGroup(items);
    expect([...merged.keys()].sort()).toEqual([parent.id, other.id].sort());
    const expected = [...parent.members].map((id) => ({
      '@odata.type': t.emulator.tenant.groups.has(id) ? '#microsoft.graph.group' : '#microsoft.graph.user',
      id,
    }));
    expect(merged.get(parent.id)!.sort((a, b) => a.id.localeCompare(b.id))).toEqual(
      expected.sort((a, b) => a.id.localeCompare(b.id)),
    );
    expect(merged.get(parent.id)!.some((m) => m['@odata.type'] === '#microsoft.graph.group')).toBe(true);
    expect(Object.keys(items[0]).sort()).toEqual(['displayName', 'id', 'members@delta']);
  });

  it('splits a big group over several items and pages, which merge back to every member', async () => {
    const big = groups()[0];
    await t.control('POST', `groups/${big.id}/members`, { add: usersOutside(big).slice(0, 250) });
    const size = big.members.size;
    expect(size).toBeGreaterThan(2 * MEMBERS_PER_ITEM);
    const prefer = { Prefer: 'odata.maxpagesize=2' };
    const first = (await graph
      .api(`/groups/delta?$select=members&$filter=${idFilter(big)}`)
      .headers(prefer)
      .get()) as PageCollection;
    expect(first.value).toHaveLength(2);
    expect(first['@odata.nextLink']).toBeDefined();
    const { items } = await round(`/groups/delta?$select=members&$filter=${idFilter(big)}`, prefer);
    expect(items).toHaveLength(Math.ceil(size / MEMBERS_PER_ITEM));
    expect(
      new Set(
        membersByGroup(items)
          .get(big.id)!
          .map((m) => m.id),
      ),
    ).toEqual(big.members);
  });

  it('then reports only the tracked groups’ member changes, nested groups, deletions and removed users', async () => {
    const parent = await withNested();
    const nested = named('Legal').id;
    const [doomed, untracked, extra] = [named('Sales'), named('Finance'), named('Research')];
    const { deltaLink } = await round(`/groups/delta?$select=displayName,members&$filter=${idFilter(parent, doomed)}`);
    const [joiner, alsoJoiner] = usersOutside(parent);
    const leaver = [...parent.members].find((m) => t.emulator.tenant.users.has(m))!;
    const deletedUser = [...parent.members].find((m) => t.emulator.tenant.users.has(m) && m !== leaver)!;
    await t.control('POST', `groups/${parent.id}/members`, { add: [joiner, extra.id], remove: [leaver, nested] });
    await t.control('POST', `groups/${untracked.id}/members`, { add: [alsoJoiner] });
    await t.control('DELETE', `users/${deletedUser}?permanent=true`);
    await t.control('DELETE', `groups/${doomed.id}`);

    const { items, deltaLink: next } = await round(deltaLink);
    expect(items.find((i) => i.id === doomed.id)).toEqual({ id: doomed.id, '@removed': { reason: 'deleted' } });
    const changed = items.filter((i) => i.id === parent.id);
    expect(changed).toHaveLength(1);
    expect(changed[0].displayName).toBe(parent.displayName);
    const removed = { '@removed': { reason: 'deleted' } };
    expect(changed[0]['members@delta']).toEqual([
      { '@odata.type': '#microsoft.graph.user', id: joiner },
      { '@odata.type': '#microsoft.graph.group', id: extra.id },
      { '@odata.type': '#microsoft.graph.user', id: leaver, ...removed },
      { '@odata.type': '#microsoft.graph.group', id: nested, ...removed },
      { '@odata.type': '#microsoft.graph.user', id: deletedUser, ...removed },
    ]);
    expect(items).toHaveLength(2);
    expect((await round(next)).items).toEqual([]);
  });

  it('tracks only selected properties, and nets out a join undone in the same round', async () => {
    const group = groups()[1];
    const { deltaLink } = await round(`/groups/delta?$select=members&$filter=${idFilter(group)}`);
    await t.control('POST', 'groups', [{ id: group.id, description: 'not tracked' }]);
    expect((await round(deltaLink)).items).toEqual([]);
    const [someone] = usersOutside(group);
    await t.control('POST', `groups/${group.id}/members`, { add: [someone] });
    await t.control('POST', `groups/${group.id}/members`, { remove: [someone] });
    const { items } = await round(deltaLink);
    expect(items).toEqual([
      {
        id: group.id,
        'members@delta': [{ '@odata.type': '#microsoft.graph.user', id: someone, '@removed': { reason: 'deleted' } }],
      },
    ]);
  });

  it('$deltatoken=latest starts from now without listing any group', async () => {
    const group = groups()[2];
    const latest = (await graph
      .api(`/groups/delta?$select=members&$filter=${idFilter(group)}&$deltatoken=latest`)
      .get()) as PageCollection;
    expect(latest.value).toEqual([]);
    const [someone] = usersOutside(group);
    await t.control('POST', `groups/${group.id}/members`, { add: [someone] });
    const { items } = await round(latest['@odata.deltaLink']!);
    expect(items).toEqual([
      { id: group.id, 'members@delta': [{ '@odata.type': '#microsoft.graph.user', id: someone }] },
    ]);
  });

  it('refuses what Graph refuses: other filters, more than 50 ids, $expand, $orderby, no permission', async () => {
    const refused = async (url: string) => {
      const error = await graphError(graph.api(url).get());
      return [error.statusCode, error.code];
    };
    expect(await refused("/groups/delta?$filter=displayName eq 'Sales'")).toEqual([400, 'Request_UnsupportedQuery']);
    const ids = Array.from({ length: 51 }, (_, i) => `id eq '00000000-0000-0000-0000-${String(i).padStart(12, '0')}'`);
    expect(await refused(`/groups/delta?$filter=${ids.join(' or ')}`)).toEqual([400, 'Request_UnsupportedQuery']);
    expect((await refused('/groups/delta?$expand=members'))[0]).toBe(400);
    expect((await refused('/groups/delta?$orderby=displayName'))[0]).toBe(400);
    expect((await refused('/groups/delta?$select=members,nonsense'))[0]).toBe(400);
    await t.control('POST', 'consent', { granted: false });
    const usersOnly = await t.appGraph(['User.Read.All']);
    const denied = await graphError(usersOnly.api('/groups/delta').get());
    expect([denied.statusCode, denied.code]).toEqual([403, 'Authorization_RequestDenied']);
  });

  it('expired tokens: 400 syncStateNotFound, or 410 resyncRequired with a Location when told so', async () => {
    const group = groups()[3];
    const { deltaLink } = await round(`/groups/delta?$select=members&$filter=${idFilter(group)}`);
    await t.control('POST', 'expire-delta-tokens');
    expect((await graphError(graph.api(deltaLink).get())).code).toBe('syncStateNotFound');
    const fresh = await round(`/groups/delta?$select=members&$filter=${idFilter(group)}`);
    await t.control('POST', 'expire-delta-tokens', { style: 'gone' });
    const token = await t.msal().acquireTokenByClientCredential({ scopes: ['https://graph.microsoft.com/.default'] });
    const response = await fetch(fresh.deltaLink, { headers: { authorization: `Bearer ${token!.accessToken}` } });
    expect(response.status).toBe(410);
    expect(response.headers.get('location')).toBe(`${t.emulator.graphBaseUrl}/v1.0/groups/delta?$select=id,members`);
  });
});
