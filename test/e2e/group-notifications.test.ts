import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppFixture, setUpSource, startAppFixture } from '../helpers/app.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * Joins and leaves of a chosen group through Graph change notifications, for an organisation that granted
 * the optional Group.Read.All (README "Change notifications"): the `/groups` subscription is made, a join
 * reaches the directory with no manual or scheduled run, and the run reads the newcomer by id instead of
 * re-reading everyone (no full read); who joined or left comes from `/groups/delta`, not from listing the group.
 */

let f: AppFixture;
let sourceId: string;
let groupId: string;

beforeAll(async () => {
  f = await startAppFixture({
    mode: 'application',
    seed: 'group-notifications',
    users: 120,
    server: { changeFeed: { debounceMs: 300, upkeepEveryMs: 300, retryAfterMs: 500 } },
  });
  // An admin granted Group.Read.All in the portal beforehand; the setup's consent keeps it.
  const roles = ['User.Read.All', 'GroupMember.Read.All', 'ProfilePhoto.Read.All', 'Group.Read.All'];
  expect((await f.entra.control('POST', 'consent', { roles })).status).toBe(200);
  const group = [...f.entra.emulator.tenant.groups.values()].find((g) => g.displayName === 'Engineering')!;
  groupId = group.id;
  sourceId = await setUpSource(f, { autoSync: true, groups: [{ id: group.id, name: group.displayName }] });
  await waitFor(
    async () => {
      const rows = await f.db.sql<{ resource: string }[]>`
        select resource from graph_subscriptions where source_id = ${sourceId} and status = 'active'`;
      return rows.length === 2;
    },
    { what: 'the /users and /groups subscriptions', timeoutMs: 20_000 },
  );
}, 120_000);
afterAll(() => f?.stop());

async function active(graphId: string): Promise<boolean | undefined> {
  const [row] = await f.db.sql<{ active: boolean }[]>`
    select active from profiles where source_id = ${sourceId} and graph_id = ${graphId}`;
  return row?.active;
}

async function runs() {
  return f.db.sql<{ trigger: string; mode: string; status: string }[]>`
    select trigger, mode, status from sync_runs where source_id = ${sourceId} order by id`;
}

describe('a chosen group’s joins and leaves, with Group.Read.All granted', () => {
  it('a join and a leave each reach the directory through notifications alone, without a full read', async () => {
    const { users, groups } = f.entra.emulator.tenant;
    const outsider = [...users.values()].find(
      (u) => u.accountEnabled && u.givenName && u.surname && u.mail && !groups.get(groupId)!.members.has(u.id),
    )!;
    expect(await active(outsider.id)).toBeUndefined();
    const before = (await runs()).length;
    const requestsBefore = f.entra.emulator.requests();

    await f.entra.control('POST', `groups/${groupId}/members`, { add: [outsider.id] });
    await waitFor(() => active(outsider.id), { what: 'the newcomer in the directory', timeoutMs: 20_000 });
    await f.entra.control('POST', `groups/${groupId}/members`, { remove: [outsider.id] });
    await waitFor(async () => (await active(outsider.id)) === false, { what: 'the leaver gone', timeoutMs: 20_000 });

    const since = (await runs()).slice(before);
    expect(since.length).toBeGreaterThan(0);
    for (const run of since) expect(run).toMatchObject({ trigger: 'notification', mode: 'delta', status: 'succeeded' });
    const requestsAfter = f.entra.emulator.requests();
    const grew = (route: string) => (requestsAfter[route] ?? 0) - (requestsBefore[route] ?? 0);
    expect(grew('/v1.0/groups/{id}/transitiveMembers/microsoft.graph.user')).toBe(0);
    expect(grew('/v1.0/groups/delta')).toBeGreaterThanOrEqual(2);
  });
});
