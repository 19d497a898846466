import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { EmulatedGroup } from '../../src/emulators/entra/index.ts';
import { runSync } from '../../src/sync/engine.ts';
import { listRecentRuns } from '../../src/sync/runs.ts';
import { groupClosure } from '../helpers/group-closure.ts';
import { type SyncFixture, startSyncFixture } from '../helpers/sync.ts';

/** Group-scoped sources: transitive membership, scope changes between runs, a group that disappears. */

let f: SyncFixture;

beforeAll(async () => {
  f = await startSyncFixture({ users: 500, groups: 40, seed: 'engine-groups' });
});
afterAll(async () => {
  await f?.stop();
});
beforeEach(async () => {
  await f.emu.control('POST', 'reset');
});

const sync = (sourceId: string) => runSync(f.deps, { sourceId, trigger: 'manual', requestedBy: 'U-ADMIN' });

function group(name: string): EmulatedGroup {
  const found = [...f.emu.emulator.tenant.groups.values()].find((g) => g.displayName === name);
  if (!found) throw new Error(`the emulated tenant has no group ${name}`);
  return found;
}

const transitiveUsers = (groupIds: string[]) => groupClosure(f.emu.emulator.tenant, groupIds).users;

function validIds(ids: Set<string>): Set<string> {
  const users = f.emu.emulator.tenant.users;
  return new Set(
    [...ids].filter((id) => {
      const u = users.get(id)!;
      return u.accountEnabled && u.givenName?.trim() && u.surname?.trim() && /^\S+@\S+$/.test(u.mail ?? '');
    }),
  );
}

async function activeIds(sourceId: string): Promise<Set<string>> {
  return new Set((await f.profiles(sourceId)).filter((r) => r.active).map((r) => r.external_id));
}

describe('group-scoped sync', () => {
  it('imports exactly the valid transitive members of the selected groups, each once', async () => {
    const engineering = group('Engineering');
    const executives = group('Executives');
    expect([...engineering.members].some((m) => f.emu.emulator.tenant.groups.has(m))).toBe(true);
    const sourceId = await f.createSource({
      groups: [
        { id: engineering.id, displayName: engineering.displayName },
        { id: executives.id, displayName: executives.displayName },
      ],
    });
    const inScope = transitiveUsers([engineering.id, executives.id]);
    const directMembers = [...engineering.members].filter((m) => f.emu.emulator.tenant.users.has(m));
    expect(inScope.size).toBeGreaterThan(directMembers.length);

    const outcome = await sync(sourceId);
    expect(outcome).toMatchObject({ status: 'succeeded', mode: 'full' });
    expect(await activeIds(sourceId)).toEqual(validIds(inScope));
    expect(outcome.counts.read).toBe(inScope.size);
    expect(outcome.counts.ignored).toBe(inScope.size - validIds(inScope).size);
    expect(outcome.counts.created).toBe(validIds(inScope).size);
  });

  it('removes people who leave the groups, and reads only the newcomer (by id) when someone joins', async () => {
    const sales = group('Sales');
    const sourceId = await f.createSource({ groups: [{ id: sales.id, displayName: sales.displayName }] });
    const first = await sync(sourceId);
    // People found invalid before are remembered: they must not make every later run a full one.
    expect(first.counts.ignored).toBeGreaterThan(0);
    const unchanged = await sync(sourceId);
    expect(unchanged).toMatchObject({ mode: 'delta', counts: { created: 0, updated: 0, removed: 0 } });

    const region = group('Sales EMEA');
    const leaver = [...validIds(new Set(region.members))][0];
    const outsider = [...validIds(new Set(f.emu.emulator.tenant.users.keys()))].find(
      (id) => !transitiveUsers([sales.id]).has(id),
    )!;
    await f.emu.control('POST', `groups/${region.id}/members`, { remove: [leaver] });
    const left = await sync(sourceId);
    expect(left).toMatchObject({ status: 'succeeded', mode: 'delta', counts: { removed: 1, created: 0 } });
    expect((await activeIds(sourceId)).has(leaver)).toBe(false);

    await f.emu.control('POST', `groups/${region.id}/members`, { add: [outsider] });
    const requestsBefore = f.emu.emulator.requests();
    const joined = await sync(sourceId);
    const requestsAfter = f.emu.emulator.requests();
    const grew = (route: string) => (requestsAfter[route] ?? 0) - (requestsBefore[route] ?? 0);
    // No full read (no /users listing): the run's delta round, then one round filtered to the newcomer's id.
    expect(joined).toMatchObject({ status: 'succeeded', mode: 'delta', counts: { created: 1, removed: 0 } });
    expect(grew('/v1.0/users')).toBe(0);
    expect(grew('/v1.0/users/delta')).toBe(2);
    expect(await activeIds(sourceId)).toEqual(validIds(transitiveUsers([sales.id])));
    const [run] = await listRecentRuns(f.database.db, sourceId, 1);
    expect(run.details.reason).toBe('changes since the last sync');
    // The newcomer arrives whole: attributes and manager, as a full read would have them.
    const newcomer = f.emu.emulator.tenant.users.get(outsider)!;
    const row = (await f.profiles(sourceId)).find((r) => r.external_id === outsider)!;
    expect(row).toMatchObject({
      job_title: newcomer.jobTitle ?? null,
      manager_external_id: newcomer.managerId ?? null,
    });

    const after = await sync(sourceId);
    expect(after.mode).toBe('delta');
  });

  it('reads in full instead when more people joined than are worth reading by id', async () => {
    const sales = group('Sales');
    const sourceId = await f.createSource({ groups: [{ id: sales.id, displayName: sales.displayName }] });
    await sync(sourceId);
    const outsiders = [...validIds(new Set(f.emu.emulator.tenant.users.keys()))]
      .filter((id) => !transitiveUsers([sales.id]).has(id))
      .slice(0, 2);
    await f.emu.control('POST', `groups/${group('Sales EMEA').id}/members`, { add: outsiders });
    const run = (maxNewcomersById: number) =>
      runSync({ ...f.deps, maxNewcomersById }, { sourceId, trigger: 'manual', requestedBy: 'U-ADMIN' });
    const joined = await run(1);
    expect(joined).toMatchObject({ status: 'succeeded', mode: 'full', counts: { created: 2 } });
    const [record] = await listRecentRuns(f.database.db, sourceId, 1);
    expect(record.details.reason).toBe('full read: 2 people joined the selected groups');
    expect(await activeIds(sourceId)).toEqual(validIds(transitiveUsers([sales.id])));
  });

  it('fails a run whose group was deleted, naming the group, and changes nothing', async () => {
    const support = group('Executives');
    const marketing = group('Marketing');
    const sourceId = await f.createSource({
      groups: [
        { id: support.id, displayName: support.displayName },
        { id: marketing.id, displayName: marketing.displayName },
      ],
    });
    await sync(sourceId);
    const before = await f.fingerprint(sourceId);
    expect((await f.emu.control('DELETE', `groups/${marketing.id}`)).status).toBe(204);
    const outcome = await sync(sourceId);
    expect(outcome).toMatchObject({ status: 'failed', errorCode: 'group_missing' });
    expect(outcome.errorMessage).toContain('"Marketing"');
    expect(await f.fingerprint(sourceId)).toBe(before);
    const [source] = await f.database.sql`select status from sources where id = ${sourceId}`;
    expect(source.status).toBe('failing');
    const [run] = await listRecentRuns(f.database.db, sourceId, 1);
    expect(run).toMatchObject({ status: 'failed', errorCode: 'group_missing' });
  });

  it('fails with no_valid_people when nobody in scope has the required attributes', async () => {
    const executives = group('Executives');
    const sourceId = await f.createSource({
      groups: [{ id: executives.id, displayName: executives.displayName }],
      mapping: { lastName: 'onPremisesExtensionAttributes.extensionAttribute15' },
    });
    const outcome = await sync(sourceId);
    expect(outcome).toMatchObject({ status: 'failed', errorCode: 'no_valid_people' });
    expect(outcome.errorMessage).toMatch(/missing Last name/);
    expect(outcome.counts.ignored).toBe(transitiveUsers([executives.id]).size);
    expect(outcome.ignored[0].reason).toBe('missing Last name (onPremisesExtensionAttributes.extensionAttribute15)');
    expect(await f.profiles(sourceId)).toEqual([]);
  });
});
