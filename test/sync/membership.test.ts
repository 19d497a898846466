import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MEMBERS_PER_ITEM } from '../../src/emulators/entra/graph/groups-delta.ts';
import type { EmulatedGroup } from '../../src/emulators/entra/index.ts';
import { runSync } from '../../src/sync/engine.ts';
import { listRecentRuns } from '../../src/sync/runs.ts';
import { groupClosure } from '../helpers/group-closure.ts';
import { type SyncFixture, startSyncFixture } from '../helpers/sync.ts';

/**
 * Group memberships learnt from `/groups/delta` (src/sync/membership.ts), through the real engine, the
 * emulator over HTTPS and PostgreSQL: a join or a leave costs one membership request and no full read, nested
 * groups count, and a tree that can no longer be trusted makes the run read in full and say why.
 */

let f: SyncFixture;

beforeAll(async () => {
  f = await startSyncFixture({ users: 300, groups: 20, seed: 'engine-groups' });
});
afterAll(async () => {
  await f?.stop();
});
beforeEach(async () => {
  await f.emu.control('POST', 'reset');
});

const MEMBERS_LISTING = '/v1.0/groups/{id}/transitiveMembers/microsoft.graph.user';

function group(name: string): EmulatedGroup {
  const found = [...f.emu.emulator.tenant.groups.values()].find((g) => g.displayName === name);
  if (!found) throw new Error(`the emulated tenant has no group ${name}`);
  return found;
}

const closure = (groupId: string) => groupClosure(f.emu.emulator.tenant, [groupId]);
const transitiveUsers = (groupId: string) => closure(groupId).users;

const valid = (id: string) => {
  const u = f.emu.emulator.tenant.users.get(id);
  return !!(u?.accountEnabled && u.givenName?.trim() && u.surname?.trim() && /^\S+@\S+$/.test(u.mail ?? ''));
};

async function activeIds(sourceId: string): Promise<Set<string>> {
  return new Set((await f.profiles(sourceId)).filter((r) => r.active).map((r) => r.external_id));
}

/** A source syncing Sales (which nests Sales EMEA), after its first full run and the delta run that starts the tree. */
async function salesSource() {
  const sales = group('Sales');
  const emea = group('Sales EMEA');
  expect(sales.members.has(emea.id)).toBe(true);
  const sourceId = await f.createSource({ groups: [{ id: sales.id, displayName: sales.displayName }] });
  expect(await sync(sourceId)).toMatchObject({ status: 'succeeded', mode: 'full' });
  expect(await sync(sourceId)).toMatchObject({ status: 'succeeded', mode: 'delta' });
  const followed = closure(sales.id).groups.size;
  expect(followed).toBeGreaterThan(1);
  expect((await lastRun(sourceId)).details.membership).toMatchObject({ read: 'started', groups: followed });
  const outsiders = [...f.emu.emulator.tenant.users.keys()].filter(
    (id) => valid(id) && !transitiveUsers(sales.id).has(id),
  );
  return { sourceId, sales, emea, outsiders, followed };
}

const sync = (sourceId: string) => runSync(f.deps, { sourceId, trigger: 'notification' });
const lastRun = async (sourceId: string) => (await listRecentRuns(f.database.db, sourceId, 1))[0];
const members = (g: EmulatedGroup, op: 'add' | 'remove', ids: string[]) =>
  f.emu.control('POST', `groups/${g.id}/members`, { [op]: ids });

/** Runs a sync and counts the Graph requests it made, by route. */
async function counted(sourceId: string) {
  const before = f.emu.emulator.requests();
  const outcome = await sync(sourceId);
  const after = f.emu.emulator.requests();
  const grew = (route: string) => (after[route] ?? 0) - (before[route] ?? 0);
  return { outcome, grew };
}

describe('memberships from /groups/delta', () => {
  it('a join and a leave are delta runs: one membership request, no member listing, no full read', async () => {
    const { sourceId, sales, emea, outsiders, followed } = await salesSource();
    const joiner = outsiders[0];
    await members(emea, 'add', [joiner]);
    const joined = await counted(sourceId);
    expect(joined.outcome).toMatchObject({ status: 'succeeded', mode: 'delta', counts: { created: 1, removed: 0 } });
    expect(joined.grew('/v1.0/groups/delta')).toBe(1);
    expect(joined.grew(MEMBERS_LISTING)).toBe(0);
    expect(joined.grew('/v1.0/users')).toBe(0);
    // The run's own round, then the newcomer by id.
    expect(joined.grew('/v1.0/users/delta')).toBe(2);
    expect((await lastRun(sourceId)).details.membership).toEqual({ read: 'continued', groups: followed, changes: 1 });
    expect((await activeIds(sourceId)).has(joiner)).toBe(true);

    const leaver = [...sales.members].find((id) => valid(id) && !emea.members.has(id))!;
    await members(sales, 'remove', [leaver]);
    const left = await counted(sourceId);
    expect(left.outcome).toMatchObject({ status: 'succeeded', mode: 'delta', counts: { created: 0, removed: 1 } });
    expect(left.grew('/v1.0/groups/delta')).toBe(1);
    expect(left.grew(MEMBERS_LISTING)).toBe(0);
    expect(left.grew('/v1.0/users/delta')).toBe(1);
    expect((await activeIds(sourceId)).has(leaver)).toBe(false);
    expect(await activeIds(sourceId)).toEqual(new Set([...transitiveUsers(sales.id)].filter(valid)));
  });

  it('someone who leaves a group but is still in a nested one stays; leaving that one too removes them', async () => {
    const { sourceId, sales, emea } = await salesSource();
    const person = [...sales.members].find((id) => valid(id) && !emea.members.has(id))!;
    await members(emea, 'add', [person]);
    expect(await sync(sourceId)).toMatchObject({ mode: 'delta', counts: { created: 0, removed: 0 } });
    await members(sales, 'remove', [person]);
    expect(await sync(sourceId)).toMatchObject({ mode: 'delta', counts: { created: 0, removed: 0 } });
    expect((await activeIds(sourceId)).has(person)).toBe(true);
    await members(emea, 'remove', [person]);
    expect(await sync(sourceId)).toMatchObject({ mode: 'delta', counts: { removed: 1 } });
    expect((await activeIds(sourceId)).has(person)).toBe(false);
  });

  it('a group nested into a chosen one brings its members in; taken out again, they leave', async () => {
    const { sourceId, sales, outsiders, followed } = await salesSource();
    const contractors = outsiders.slice(1, 4);
    const created = await f.emu.control('POST', 'groups', [{ displayName: 'Contractors', members: contractors }]);
    const contractorsId = (created.body as { groups: { id: string }[] }).groups[0].id;
    await f.emu.control('POST', `groups/${sales.id}/members`, { add: [contractorsId] });
    const nested = await counted(sourceId);
    expect(nested.outcome).toMatchObject({ status: 'succeeded', mode: 'delta', counts: { created: 3, removed: 0 } });
    expect(nested.grew(MEMBERS_LISTING)).toBe(0);
    // The link is restarted to follow the new group too: the round, then a first round over every group.
    expect(nested.grew('/v1.0/groups/delta')).toBe(2);
    expect((await lastRun(sourceId)).details.membership).toMatchObject({ read: 'started', groups: followed + 1 });
    for (const id of contractors) expect((await activeIds(sourceId)).has(id)).toBe(true);

    // Still followed, so a join inside it is an ordinary change.
    await f.emu.control('POST', `groups/${contractorsId}/members`, { add: [outsiders[4]] });
    expect(await sync(sourceId)).toMatchObject({ mode: 'delta', counts: { created: 1 } });
    expect((await lastRun(sourceId)).details.membership).toMatchObject({ read: 'continued', changes: 1 });

    await f.emu.control('POST', `groups/${sales.id}/members`, { remove: [contractorsId] });
    expect(await sync(sourceId)).toMatchObject({ status: 'succeeded', mode: 'delta', counts: { removed: 4 } });
    expect(await activeIds(sourceId)).toEqual(new Set([...transitiveUsers(sales.id)].filter(valid)));
  });

  it('an expired membership link makes the run read in full, saying why; the next run is a delta run again', async () => {
    const { sourceId, sales, outsiders } = await salesSource();
    await members(group('Sales EMEA'), 'add', [outsiders[0]]);
    await f.emu.control('POST', 'expire-delta-tokens', { style: 'gone' });
    const expired = await sync(sourceId);
    expect(expired).toMatchObject({ status: 'succeeded', mode: 'full', counts: { created: 1 } });
    expect((await lastRun(sourceId)).details.reason).toBe('full read: the group membership delta link expired');
    expect(await activeIds(sourceId)).toEqual(new Set([...transitiveUsers(sales.id)].filter(valid)));
    expect(await sync(sourceId)).toMatchObject({ status: 'succeeded', mode: 'delta' });
    expect((await lastRun(sourceId)).details.membership).toMatchObject({ read: 'started' });
  });

  it('a chosen group deleted makes the run read in full, which names the group', async () => {
    const { sourceId, sales } = await salesSource();
    await f.emu.control('DELETE', `groups/${sales.id}`);
    const outcome = await sync(sourceId);
    expect(outcome).toMatchObject({ status: 'failed', mode: 'full', errorCode: 'group_missing' });
    expect(outcome.errorMessage).toContain('"Sales"');
    expect((await lastRun(sourceId)).details.reason).toBe('full read: the group "Sales" was deleted in Entra ID');
  });

  it('more groups than one delta query follows: the members are listed instead, as before', async () => {
    const { sourceId, sales, outsiders } = await salesSource();
    const many = Array.from({ length: 50 }, (_, i) => ({ displayName: `Team ${i}`, members: [outsiders[i]] }));
    const created = (await f.emu.control('POST', 'groups', many)).body as { groups: { id: string }[] };
    await f.emu.control('POST', `groups/${sales.id}/members`, { add: created.groups.map((g) => g.id) });
    const listed = await counted(sourceId);
    expect(listed.outcome).toMatchObject({ status: 'succeeded', mode: 'delta', counts: { created: 50 } });
    expect(listed.grew(MEMBERS_LISTING)).toBe(1);
    expect((await lastRun(sourceId)).details.membership).toEqual({
      read: 'listed',
      why: `${closure(sales.id).groups.size} groups are chosen or nested in them, more than one Graph delta query follows (50)`,
    });
    const [{ trees }] = await f.database
      .sql`select count(*)::int as trees from group_trees where source_id = ${sourceId}`;
    expect(trees).toBe(0);
  });

  it('merges a big group returned as several items: every member counts, a leave among them too', async () => {
    const sales = group('Sales');
    const big = [...f.emu.emulator.tenant.users.keys()].filter((id) => valid(id) && !transitiveUsers(sales.id).has(id));
    expect(big.length).toBeGreaterThan(MEMBERS_PER_ITEM);
    await members(sales, 'add', big.slice(0, MEMBERS_PER_ITEM + 20));
    const { sourceId } = await salesSource();
    const everyone = new Set([...transitiveUsers(sales.id)].filter(valid));
    expect(await activeIds(sourceId)).toEqual(everyone);
    const leaver = big[MEMBERS_PER_ITEM + 10];
    await members(sales, 'remove', [leaver]);
    expect(await sync(sourceId)).toMatchObject({ mode: 'delta', counts: { created: 0, removed: 1 } });
    everyone.delete(leaver);
    expect(await activeIds(sourceId)).toEqual(everyone);
  });

  it('a member deleted in Entra leaves and costs nothing more in later runs; restored, they come back', async () => {
    const { sourceId, sales, emea } = await salesSource();
    const person = [...sales.members].find((id) => valid(id) && !emea.members.has(id))!;
    await f.emu.control('DELETE', `users/${person}`);
    expect(await sync(sourceId)).toMatchObject({ mode: 'delta', counts: { removed: 1 } });
    const quiet = await counted(sourceId);
    expect(quiet.outcome).toMatchObject({ mode: 'delta', counts: { created: 0, removed: 0 } });
    expect(quiet.grew('/v1.0/users/delta')).toBe(1);
    await f.emu.control('POST', `users/${person}/restore`);
    expect(await sync(sourceId)).toMatchObject({ mode: 'delta', counts: { created: 0, updated: 1 } });
    expect((await activeIds(sourceId)).has(person)).toBe(true);
  });
});
