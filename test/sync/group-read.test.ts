import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSync, type SyncRequest } from '../../src/sync/engine.ts';
import { fullReadOf as fullReadOfRun, profileContent } from '../helpers/full-read.ts';
import { type SyncFixture, startSyncFixture } from '../helpers/sync.ts';

/**
 * Full reads of group-scoped sources (azure/group-members-full.ts) through the engine, the emulator and a
 * real PostgreSQL: groups holding a small share of the tenant are read from their members (attributes from
 * `transitiveMembers`, managers looked up 15 at a time), otherwise the tenant is read and intersected.
 * Both give the same directory.
 */

let f: SyncFixture;

beforeAll(async () => {
  f = await startSyncFixture({ users: 1000, groups: 5, seed: 'group-read', photoShare: 0 });
});
afterAll(async () => {
  await f?.stop();
});

const sync = (sourceId: string, extra: Partial<SyncRequest> = {}) =>
  runSync(f.deps, { sourceId, trigger: 'cli', requestedBy: 'test', ...extra });

const content = (sourceId: string) => profileContent(f, sourceId);
const fullReadOf = (sourceId: string) => fullReadOfRun(f, sourceId);

async function group(displayName: string, members: string[]): Promise<{ id: string; displayName: string }> {
  const id = randomUUID();
  const answer = await f.emu.control('POST', 'groups', [{ id, displayName, members }]);
  expect(answer.status).toBe(200);
  return { id, displayName };
}

function graphRequests(): Record<string, number> {
  return { ...f.emu.emulator.requests() };
}

const delta = (after: Record<string, number>, before: Record<string, number>, route: string) =>
  (after[route] ?? 0) - (before[route] ?? 0);

describe('group-scoped full reads', () => {
  it('read from the groups when that is cheaper, giving the same directory as reading the tenant', async () => {
    const users = [...f.emu.emulator.tenant.users.keys()];
    // Nested and overlapping: 900 people in "Big" (some through "Inner"), 100 in "Overlap", 50 in both.
    const inner = await group('Inner', users.slice(500, 900));
    const big = await group('Big', [...users.slice(0, 600), inner.id]);
    const overlap = await group('Overlap', users.slice(850, 950));
    const groups = [big, overlap];

    // 1,000 members counted in a tenant of 1,000: reading the tenant is cheaper.
    const viaTenant = await f.createSource({ groups });
    expect((await sync(viaTenant, { mode: 'full' })).status).toBe('succeeded');
    expect((await fullReadOf(viaTenant)).strategy).not.toBe('members');

    // The same groups in a tenant of 3,500: their members are read directly.
    const outsiders = Array.from({ length: 2500 }, (_, i) => ({
      userPrincipalName: `outsider${i}@contoso.com`,
      displayName: `Outsider ${i}`,
      givenName: 'Out',
      surname: `Sider${i}`,
      mail: `outsider${i}@contoso.com`,
    }));
    expect((await f.emu.control('POST', 'users', outsiders)).status).toBe(200);
    const viaMembers = await f.createSource({ groups });
    const before = graphRequests();
    expect((await sync(viaMembers, { mode: 'full' })).status).toBe('succeeded');
    const after = graphRequests();

    const report = await fullReadOf(viaMembers);
    expect(report).toMatchObject({ strategy: 'members', partitions: 2, expected: 1000, read: 950 });
    expect(report.reason).toMatch(/1000 group members of \d+ people: read from the groups/);
    const [a, b] = [await content(viaTenant), await content(viaMembers)];
    expect(b.rows).toBeGreaterThan(850);
    expect(b).toEqual(a);
    const [{ managed }] = await f.database.sql`
      select count(*)::int as managed from profiles where source_id = ${viaMembers} and manager_external_id is not null`;
    expect(managed).toBeGreaterThan(400);

    // Two member pages of 999 and 2 counts, 64 manager lookups of ≤ 15 (950 people), one user count: no
    // tenant listing (which would take 35 pages of 100 and 45 counts).
    const members = '/v1.0/groups/{id}/transitiveMembers/microsoft.graph.user';
    expect(delta(after, before, members)).toBe(4);
    expect(delta(after, before, '/v1.0/users')).toBe(Math.ceil(950 / 15) + 1);
  });

  it('keeps later delta rounds working from the link taken before the read', async () => {
    const users = [...f.emu.emulator.tenant.users.keys()];
    const small = await group('Small', users.slice(10, 40));
    const source = await f.createSource({ groups: [small] });
    expect((await sync(source, { mode: 'full' })).status).toBe('succeeded');
    expect((await fullReadOf(source)).strategy).toBe('members');
    const someone = users[12];
    expect((await f.emu.control('POST', 'users', [{ id: someone, jobTitle: 'Changed after the read' }])).status).toBe(
      200,
    );
    const next = await sync(source);
    expect(next).toMatchObject({ status: 'succeeded', mode: 'delta' });
    const rows = await f.profiles(source);
    expect(rows.find((r) => r.graph_id === someone)?.job_title).toBe('Changed after the read');
  });

  it('fails with the group named when a selected group no longer exists', async () => {
    const users = [...f.emu.emulator.tenant.users.keys()];
    const doomed = await group('Payroll EU', users.slice(0, 20));
    const source = await f.createSource({ groups: [doomed] });
    expect((await f.emu.control('DELETE', `groups/${doomed.id}`)).status).toBe(204);
    const outcome = await sync(source, { mode: 'full' });
    expect(outcome).toMatchObject({ status: 'failed', errorCode: 'group_missing' });
    expect(outcome.errorMessage).toContain('"Payroll EU"');
    expect(await f.profiles(source)).toEqual([]);
  });
});
