import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SyncDeps } from '../../src/sync/engine.ts';
import { runSync } from '../../src/sync/engine.ts';
import { approveHeldRun, HeldRunError, rejectHeldRun } from '../../src/sync/held.ts';
import { loadRun } from '../../src/sync/runs.ts';
import { type SyncFixture, startSyncFixture } from '../helpers/sync.ts';

/**
 * Every failure of DESIGN §6 that a run meets: the run says why, the source's status tells the admin
 * what to do, and the directory keeps every byte it had.
 */

let f: SyncFixture;

beforeAll(async () => {
  f = await startSyncFixture({ users: 300, groups: 40, seed: 'engine-failures' });
});
afterAll(async () => {
  await f?.stop();
});
beforeEach(async () => {
  await f.emu.control('POST', 'reset');
});

const sync = (sourceId: string, deps: SyncDeps = f.deps) =>
  runSync(deps, { sourceId, trigger: 'schedule', requestedBy: null });

async function source(sourceId: string) {
  const [row] = await f.database.sql`
    select status, users_delta_link, delta_scope, last_success_at from sources where id = ${sourceId}`;
  return row;
}

/** A source after one good sync, with what a failed run must leave untouched. */
async function syncedSource(options: Parameters<SyncFixture['createSource']>[0] = {}) {
  const sourceId = await f.createSource(options);
  expect((await sync(sourceId)).status).toBe('succeeded');
  return { sourceId, directory: await f.fingerprint(sourceId), source: await source(sourceId) };
}

async function expectUntouched(synced: Awaited<ReturnType<typeof syncedSource>>, status: string) {
  expect(await f.fingerprint(synced.sourceId)).toBe(synced.directory);
  expect(await source(synced.sourceId)).toEqual({ ...synced.source, status });
}

describe('authorization failures', () => {
  it('a revoked delegated sign-in fails with reauth_required and the source needs reauthorization', async () => {
    const synced = await syncedSource({ authMode: 'delegated' });
    await f.emu.control('POST', 'users', [{ id: [...f.emu.emulator.tenant.users.keys()][5], jobTitle: 'Changed' }]);
    await f.emu.control('POST', 'revoke', { immediate: true });
    const outcome = await sync(synced.sourceId);
    expect(outcome, outcome.errorMessage).toMatchObject({ status: 'failed', errorCode: 'reauth_required' });
    await expectUntouched(synced, 'needs_reauth');
  });

  it('withdrawn application consent fails with reauth_required', async () => {
    const synced = await syncedSource({ authMode: 'application' });
    await f.emu.control('POST', 'revoke', { immediate: true });
    const outcome = await sync(synced.sourceId);
    expect(outcome, outcome.errorMessage).toMatchObject({ status: 'failed', errorCode: 'reauth_required' });
    await expectUntouched(synced, 'needs_reauth');
  });

  for (const authMode of ['delegated', 'application'] as const) {
    it(`${authMode}: a revoke without CAE lets the held token finish its hour, then the next refresh needs reauthorization`, async () => {
      const synced = await syncedSource({ authMode });
      const changed = [...f.emu.emulator.tenant.users.values()].find((u) => u.givenName && u.mail)!;
      await f.emu.control('POST', 'users', [{ id: changed.id, jobTitle: 'Changed after the revoke' }]);
      await f.emu.control('POST', 'revoke');
      // Entra kills the refresh token (or the consent) now, but the access token in the cache lives on.
      const right = await sync(synced.sourceId);
      expect(right, right.errorMessage).toMatchObject({ status: 'succeeded', mode: 'delta', counts: { updated: 1 } });

      await f.emu.control('POST', 'clock', { advanceSeconds: 3600 });
      const after = await sync(synced.sourceId);
      expect(after, after.errorMessage).toMatchObject({ status: 'failed', errorCode: 'reauth_required' });
      expect(await source(synced.sourceId)).toMatchObject({ status: 'needs_reauth' });
    });
  }

  it('a wrong client secret fails with app_misconfigured', async () => {
    const synced = await syncedSource();
    // Without a cached token the next run must ask Microsoft for one, with the wrong secret.
    await f.database.sql`update sources set token_cache = null where id = ${synced.sourceId}`;
    synced.source = await source(synced.sourceId);
    synced.directory = await f.fingerprint(synced.sourceId);
    const outcome = await sync(synced.sourceId, f.depsWith({ clientSecret: 'not-the-secret~0000000000000000000000' }));
    expect(outcome).toMatchObject({ status: 'failed', errorCode: 'app_misconfigured' });
    expect(outcome.errorMessage).toMatch(/AZURE_CLIENT_SECRET|secret/i);
    await expectUntouched(synced, 'failing');
  });

  it('a later success brings the source back to active', async () => {
    const synced = await syncedSource();
    await f.emu.control('POST', 'revoke', { immediate: true });
    expect((await sync(synced.sourceId)).status).toBe('failed');
    await f.emu.control('POST', 'consent', {});
    expect((await sync(synced.sourceId)).status).toBe('succeeded');
    expect((await source(synced.sourceId)).status).toBe('active');
  });
});

describe('Entra throttling its token endpoint', () => {
  for (const [authMode, shape] of [
    ['delegated', 'invalid_grant AADSTS50196'],
    ['application', '429 with Retry-After: 60'],
  ] as const) {
    it(`${authMode}: ${shape} is transient — the run fails as unavailable, nobody has to reauthorize`, async () => {
      const synced = await syncedSource({ authMode });
      await f.emu.control('POST', 'faults', { tokenThrottleEvery: 1 });
      // The held access token has expired for Graph: the run must ask Entra for a new one.
      await f.emu.control('POST', 'clock', { advanceSeconds: 3600 });
      const outcome = await sync(synced.sourceId);
      expect(outcome, outcome.errorMessage).toMatchObject({ status: 'failed', errorCode: 'graph_unavailable' });
      expect(outcome.errorMessage).toMatch(/AADSTS50196|slow down/);
      await expectUntouched(synced, 'failing');
    });
  }
});

describe('Graph throttling and outages', () => {
  it('rides out 429s and 503s within the retry budget', async () => {
    const synced = await syncedSource();
    await f.database.sql`update sources set users_delta_link = null where id = ${synced.sourceId}`;
    await f.emu.control('POST', 'faults', { throttleEvery: 2, retryAfterSeconds: 1, failEvery: 5, status: 503 });
    const outcome = await sync(synced.sourceId);
    expect(outcome).toMatchObject({ status: 'succeeded', mode: 'full', counts: { created: 0, updated: 0 } });
    const run = await loadRun(f.database.db, outcome.runId);
    expect((run!.details.graph as { throttled: number }).throttled).toBeGreaterThan(0);
  });

  it('gives up with graph_unavailable when Graph keeps refusing, and changes nothing', async () => {
    const synced = await syncedSource();
    await f.emu.control('POST', 'users', [{ id: [...f.emu.emulator.tenant.users.keys()][7], jobTitle: 'Changed' }]);
    await f.emu.control('POST', 'faults', { throttleEvery: 1, retryAfterSeconds: 1 });
    const outcome = await sync(synced.sourceId);
    expect(outcome).toMatchObject({ status: 'failed', errorCode: 'graph_unavailable' });
    await expectUntouched(synced, 'failing');
  });
});

describe('liveness', () => {
  it('ends a run stuck on a Graph call as stalled, releases its lock, and the next run succeeds', async () => {
    const synced = await syncedSource();
    await f.emu.control('POST', 'users', [{ id: [...f.emu.emulator.tenant.users.keys()][3], jobTitle: 'Changed' }]);
    // Every Graph answer now takes 20 s; the run may go 1 s without progress.
    await f.emu.control('POST', 'faults', { latencyMs: 20_000 });
    const started = Date.now();
    const outcome = await sync(synced.sourceId, f.depsWith({ timing: { stallAfterMs: 1_000 } }));
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(outcome).toMatchObject({ status: 'failed', errorCode: 'stalled' });
    expect(outcome.errorMessage).toMatch(/made no progress for .* nothing was applied/);
    expect(await loadRun(f.database.db, outcome.runId)).toMatchObject({ status: 'failed', errorCode: 'stalled' });
    await expectUntouched(synced, 'failing');
    await f.emu.control('POST', 'faults', { latencyMs: 0 });
    expect((await sync(synced.sourceId)).status).toBe('succeeded');
  });

  it('ends a run that keeps going past its deadline', async () => {
    const synced = await syncedSource();
    await f.emu.control('POST', 'faults', { latencyMs: 300 });
    const outcome = await sync(synced.sourceId, f.depsWith({ timing: { deadlineMs: 200 } }));
    expect(outcome).toMatchObject({ status: 'failed', errorCode: 'stalled' });
    expect(outcome.errorMessage).toMatch(/longer than its .* limit/);
    await expectUntouched(synced, 'failing');
  });
});

describe('deletion safety', () => {
  async function removeFromTenant(sourceId: string, count: number): Promise<string[]> {
    const rows = await f.database.sql`
      select graph_id from profiles where source_id = ${sourceId} and active order by graph_id limit ${count}`;
    const ids = rows.map((r) => r.graph_id as string);
    for (const id of ids) expect((await f.emu.control('DELETE', `users/${id}`)).status).toBe(204);
    return ids;
  }

  it('holds a run that would remove too many people; approval applies it, once', async () => {
    const synced = await syncedSource();
    const [{ active }] = await f.database.sql`
      select count(*)::int as active from profiles where source_id = ${synced.sourceId} and active`;
    const gone = await removeFromTenant(synced.sourceId, Math.ceil(active * 0.15));

    const held = await sync(synced.sourceId);
    expect(held).toMatchObject({ status: 'held', counts: { removed: 0 } });
    expect(held.held).toMatchObject({ removals: gone.length, active, threshold: expect.closeTo(0.1, 5) });
    expect(held.held!.sample).toHaveLength(10);
    await expectUntouched(synced, 'held');
    const heldRun = await loadRun(f.database.db, held.runId);
    expect(heldRun).toMatchObject({ status: 'held', details: { held: { removals: gone.length } } });

    const approved = await approveHeldRun(f.deps, held.runId, 'U-APPROVER');
    expect(approved).toMatchObject({ status: 'succeeded', counts: { removed: gone.length } });
    expect((await source(synced.sourceId)).status).toBe('active');
    const removed = (await f.profiles(synced.sourceId)).filter((r) => !r.active).map((r) => r.graph_id);
    expect(removed.sort()).toEqual([...gone].sort());
    const decided = await loadRun(f.database.db, held.runId);
    expect(decided!.details.decision).toMatchObject({ kind: 'approved', by: 'U-APPROVER', runId: approved.runId });
    await expect(approveHeldRun(f.deps, held.runId, 'U-OTHER')).rejects.toMatchObject({ problem: 'already_decided' });
  });

  it('approves the people shown, not a number: others leaving meanwhile are held again with their names', async () => {
    const synced = await syncedSource();
    const [{ active }] = await f.database.sql`
      select count(*)::int as active from profiles where source_id = ${synced.sourceId} and active`;
    const first = await removeFromTenant(synced.sourceId, Math.ceil(active * 0.15));
    const held = await sync(synced.sourceId);
    expect(held.held).toMatchObject({ removals: first.length });
    expect(held.held!.profileIds).toHaveLength(first.length);

    // Before anyone answers, the first people come back and as many others leave.
    for (const id of first) expect((await f.emu.control('POST', `users/${id}/restore`)).status).toBe(200);
    const [{ names }] = await f.database.sql`
      select array_agg(display_name) as names from profiles
      where source_id = ${synced.sourceId} and graph_id = any(${first})`;
    const others = (await f.database.sql`
      select graph_id, display_name from profiles
      where source_id = ${synced.sourceId} and active and not (graph_id = any(${first}))
      order by graph_id desc limit ${first.length}`) as unknown as { graph_id: string; display_name: string }[];
    for (const o of others) expect((await f.emu.control('DELETE', `users/${o.graph_id}`)).status).toBe(204);

    const approved = await approveHeldRun(f.deps, held.runId, 'U-APPROVER');
    expect(approved.status).toBe('held');
    expect(approved.held!.removals).toBe(others.length);
    for (const person of approved.held!.sample) {
      expect(others.map((o) => o.display_name)).toContain(person.displayName);
      expect(names).not.toContain(person.displayName);
    }
    await expectUntouched(synced, 'held');

    // A subset of the approved people is applied: some of the new list came back before Approve.
    for (const o of others.slice(0, 3)) await f.emu.control('POST', `users/${o.graph_id}/restore`);
    const applied = await approveHeldRun(f.deps, approved.runId, 'U-APPROVER');
    expect(applied).toMatchObject({ status: 'succeeded', counts: { removed: others.length - 3 } });
  });

  it('rejecting keeps everyone; the same removals are held again at the next run', async () => {
    const synced = await syncedSource();
    await removeFromTenant(synced.sourceId, 60);
    const held = await sync(synced.sourceId);
    expect(held.status).toBe('held');
    expect(await rejectHeldRun(f.deps, held.runId, 'U-ADMIN')).toEqual({
      runId: held.runId,
      sourceId: synced.sourceId,
    });
    await expectUntouched(synced, 'active');
    await expect(rejectHeldRun(f.deps, held.runId, 'U-ADMIN')).rejects.toBeInstanceOf(HeldRunError);
    const again = await sync(synced.sourceId);
    expect(again).toMatchObject({ status: 'held', held: { removals: 60 } });
    await expect(approveHeldRun(f.deps, held.runId, 'U-ADMIN')).rejects.toMatchObject({ problem: 'already_decided' });
  });

  it('never removes everyone without approval, whatever the threshold', async () => {
    const admins = [...f.emu.emulator.tenant.groups.values()].find((g) => g.displayName === 'Executives')!;
    const synced = await syncedSource({
      deletionThreshold: 1,
      groups: [{ id: admins.id, displayName: admins.displayName }],
    });
    const [{ active }] = await f.database.sql`
      select count(*)::int as active from profiles where source_id = ${synced.sourceId} and active`;
    expect(active).toBeGreaterThan(1);
    await f.emu.control('POST', `groups/${admins.id}/members`, { remove: [...admins.members] });
    const outcome = await sync(synced.sourceId);
    expect(outcome).toMatchObject({ status: 'held', held: { removals: active, active } });
    await expectUntouched(synced, 'held');
  });
});
