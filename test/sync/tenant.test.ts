import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { EmulatedUser } from '../../src/emulators/entra/index.ts';
import { runSync, type SyncRequest } from '../../src/sync/engine.ts';
import { listRecentRuns } from '../../src/sync/runs.ts';
import { type SyncFixture, startSyncFixture } from '../helpers/sync.ts';

/** Tenant-wide sources against the emulator: full reads, delta reads, removals, preview, photos. */

let f: SyncFixture;

beforeAll(async () => {
  f = await startSyncFixture({ users: 400, groups: 10, seed: 'engine-tenant', photoShare: 0.5 });
});
afterAll(async () => {
  await f?.stop();
});
beforeEach(async () => {
  await f.emu.control('POST', 'reset');
});

const sync = (sourceId: string, extra: Partial<SyncRequest> = {}) =>
  runSync(f.deps, { sourceId, trigger: 'cli', requestedBy: 'test', ...extra });

/**
 * The test's own reading of the rules: enabled, with given name, surname and a mail address. A manager is
 * linked when they are in the directory now or were before (`known`).
 */
function expectedDirectory(
  known: Iterable<string> = [],
): Map<string, { first: string; last: string; email: string; manager: string | null }> {
  const users = [...f.emu.emulator.tenant.users.values()];
  const valid = (u: EmulatedUser) =>
    u.accountEnabled && Boolean(u.givenName?.trim()) && Boolean(u.surname?.trim()) && /^\S+@\S+$/.test(u.mail ?? '');
  const ids = new Set([...users.filter(valid).map((u) => u.id), ...known]);
  return new Map(
    users.filter(valid).map((u) => [
      u.id,
      {
        first: u.givenName!.trim(),
        last: u.surname!.trim(),
        email: u.mail!.trim().toLowerCase(),
        manager: u.managerId && ids.has(u.managerId) ? u.managerId : null,
      },
    ]),
  );
}

async function activeDirectory(sourceId: string) {
  const rows = await f.profiles(sourceId);
  return new Map(
    rows
      .filter((r) => r.active)
      .map((r) => [
        r.external_id,
        { first: r.first_name, last: r.last_name, email: r.email, manager: r.manager_external_id },
      ]),
  );
}

async function rowVersions(sourceId: string): Promise<Map<string, string>> {
  const rows = await f.database.sql`select external_id, xmin::text as v from profiles where source_id = ${sourceId}`;
  return new Map(rows.map((r) => [r.external_id, r.v]));
}

function changedKeys(before: Map<string, string>, after: Map<string, string>): string[] {
  return [...after.keys()].filter((k) => before.get(k) !== after.get(k)).sort();
}

async function sourceRow(sourceId: string) {
  const [row] = await f.database.sql`select * from sources where id = ${sourceId}`;
  return row;
}

describe('tenant-wide sync', () => {
  it('imports exactly the valid people, counts the ignored ones with reasons, and saves a delta link', async () => {
    const sourceId = await f.createSource();
    const expected = expectedDirectory();
    const outcome = await sync(sourceId);

    expect(outcome).toMatchObject({ status: 'succeeded', mode: 'full' });
    expect(await activeDirectory(sourceId)).toEqual(expected);
    const tenantSize = f.emu.emulator.tenant.users.size;
    expect(outcome.counts).toMatchObject({
      read: tenantSize,
      created: expected.size,
      updated: 0,
      removed: 0,
      ignored: tenantSize - expected.size,
    });
    expect(expected.size).toBeGreaterThan(300);
    const reasons = Object.fromEntries(outcome.ignored.map((r) => [r.reason, r.count]));
    expect(Object.keys(reasons).sort()).toEqual(
      expect.arrayContaining(['account disabled', 'missing Last name (surname)']),
    );
    expect(Object.values(reasons).reduce((a, b) => a + b, 0)).toBe(outcome.counts.ignored);
    for (const reason of outcome.ignored) expect(reason.examples.length).toBe(Math.min(5, reason.count));

    const source = await sourceRow(sourceId);
    expect(source.status).toBe('active');
    expect(source.users_delta_link).toMatch(/deltatoken=/);
    expect(source.last_full_sync_at).toBeInstanceOf(Date);
    const [run] = await listRecentRuns(f.database.db, sourceId, 1);
    expect(run).toMatchObject({ id: outcome.runId, status: 'succeeded', mode: 'full', trigger: 'cli' });
    expect(run.createdCount).toBe(expected.size);
    expect(run.ignoredExamples).toEqual(outcome.ignored);
  });

  it('writes nothing when nothing changed, then writes exactly the changed people in a delta run', async () => {
    const sourceId = await f.createSource();
    await sync(sourceId);
    const before = await f.fingerprint(sourceId);
    const unchanged = await sync(sourceId);
    expect(unchanged).toMatchObject({ status: 'succeeded', mode: 'delta' });
    expect(unchanged.counts).toMatchObject({ created: 0, updated: 0, removed: 0 });
    expect(await f.fingerprint(sourceId)).toBe(before);

    const expected = expectedDirectory();
    const [a, b, c, d, e] = [...expected.keys()].slice(10, 15);
    const versions = await rowVersions(sourceId);
    const newId = '0a0a0a0a-0000-4000-8000-000000000001';
    await f.emu.control('POST', 'users', [
      { id: a, jobTitle: 'Chief Delta Officer' },
      { id: b, surname: 'Renamed' },
      { id: c, manager: { id: a } },
      {
        id: newId,
        displayName: 'New Hire',
        givenName: 'New',
        surname: 'Hire',
        mail: 'new.hire@contoso.com',
        userPrincipalName: 'new.hire@contoso.com',
        accountEnabled: true,
      },
      { id: e, accountEnabled: false },
    ]);
    expect((await f.emu.control('DELETE', `users/${d}`)).status).toBe(204);

    const delta = await sync(sourceId);
    expect(delta).toMatchObject({ status: 'succeeded', mode: 'delta' });
    expect(delta.counts).toMatchObject({ created: 1, updated: 3, removed: 2 });
    expect(changedKeys(versions, await rowVersions(sourceId))).toEqual([a, b, c, d, e, newId].sort());
    const everyone = (await f.profiles(sourceId)).map((r) => r.external_id);
    expect(await activeDirectory(sourceId)).toEqual(expectedDirectory(everyone));
    const removed = (await f.profiles(sourceId)).filter((r) => !r.active).map((r) => r.external_id);
    expect(removed.sort()).toEqual([d, e].sort());
  });

  it('restores a person who comes back, keeping their profile id', async () => {
    const sourceId = await f.createSource();
    await sync(sourceId);
    const someone = [...expectedDirectory().keys()][20];
    const [{ id: profileId }] = await f.database.sql`
      select id from profiles where source_id = ${sourceId} and external_id = ${someone}`;
    await f.emu.control('DELETE', `users/${someone}`);
    expect((await sync(sourceId)).counts.removed).toBe(1);
    await f.emu.control('POST', `users/${someone}/restore`);
    const back = await sync(sourceId);
    expect(back.counts).toMatchObject({ created: 0, updated: 1, removed: 0 });
    const [row] = await f.database.sql`
      select id, active, removed_at from profiles where source_id = ${sourceId} and external_id = ${someone}`;
    expect(row).toEqual({ id: profileId, active: true, removed_at: null });
  });

  it('starts over with a full read when the delta link expired, still writing only what changed', async () => {
    const sourceId = await f.createSource();
    await sync(sourceId);
    const someone = [...expectedDirectory().keys()][3];
    await f.emu.control('POST', 'users', [{ id: someone, department: 'Moved' }]);
    await f.emu.control('POST', 'expire-delta-tokens', { style: 'gone' });
    const versions = await rowVersions(sourceId);
    const outcome = await sync(sourceId);
    expect(outcome).toMatchObject({ status: 'succeeded', mode: 'full' });
    expect(outcome.counts).toMatchObject({ created: 0, updated: 1, removed: 0 });
    expect(changedKeys(versions, await rowVersions(sourceId))).toEqual([someone]);
    const [run] = await listRecentRuns(f.database.db, sourceId, 1);
    expect(run.details.reason).toBe('full read: the delta link expired');
  });

  it('reads in full when the mapping changed, and applies the new mapping to everyone', async () => {
    const sourceId = await f.createSource();
    await sync(sourceId);
    await f.database.sql`
      update sources set mapping = ${f.database.sql.json({ jobTitle: 'department' } as never)} where id = ${sourceId}`;
    const outcome = await sync(sourceId);
    expect(outcome.mode).toBe('full');
    const rows = (await f.profiles(sourceId)).filter((r) => r.active);
    const users = f.emu.emulator.tenant.users;
    expect(rows.every((r) => r.job_title === (users.get(r.external_id)!.department ?? null))).toBe(true);
    expect(outcome.counts.updated).toBe(rows.filter((r) => r.job_title !== users.get(r.external_id)!.jobTitle).length);
  });

  it('previews without writing anything but the run record', async () => {
    const sourceId = await f.createSource();
    const outcome = await sync(sourceId, { mode: 'preview' });
    expect(outcome).toMatchObject({ status: 'succeeded', mode: 'preview' });
    expect(outcome.counts.created).toBe(expectedDirectory().size);
    expect(await f.profiles(sourceId)).toEqual([]);
    const source = await sourceRow(sourceId);
    expect(source.users_delta_link).toBeNull();
    expect(source.last_success_at).toBeNull();
    const [run] = await listRecentRuns(f.database.db, sourceId, 1);
    expect(run).toMatchObject({ mode: 'preview', status: 'succeeded', createdCount: expectedDirectory().size });
  });

  it('imports photos, skips unchanged ones, and picks up a changed one', async () => {
    const sourceId = await f.createSource({ photoSync: true });
    const first = await sync(sourceId);
    const withPhotos = [...expectedDirectory().keys()].filter((id) => f.emu.emulator.tenant.photos.has(id));
    expect(withPhotos.length).toBeGreaterThan(50);
    expect(first.counts.photos).toBe(withPhotos.length);
    const [{ n }] = await f.database.sql`
      select count(*)::int as n from profile_photos ph join profiles p on p.id = ph.profile_id
      where p.source_id = ${sourceId}`;
    expect(n).toBe(withPhotos.length);

    const before = await f.fingerprint(sourceId);
    const again = await sync(sourceId, { mode: 'full' });
    expect(again.counts).toMatchObject({ photos: 0, created: 0, updated: 0 });
    expect(await f.fingerprint(sourceId)).toBe(before);

    // Someone else's photo at 96×96, uploaded as this person's new one.
    const png = [...f.emu.emulator.tenant.photos.values()].find((p) => p.contentType === 'image/png')!.bytesAt(96);
    const response = await fetch(`${f.emu.emulator.graphBaseUrl}/_emulator/users/${withPhotos[0]}/photo`, {
      method: 'PUT',
      headers: { 'content-type': 'image/png' },
      body: png,
    });
    expect(response.status).toBe(200);
    const changed = await sync(sourceId, { mode: 'full' });
    expect(changed.counts.photos).toBe(1);
    const [stored] = await f.database.sql`
      select ph.bytes, ph.content_type from profile_photos ph join profiles p on p.id = ph.profile_id
      where p.source_id = ${sourceId} and p.external_id = ${withPhotos[0]}`;
    expect(stored.content_type).toBe('image/png');
    expect(Buffer.compare(stored.bytes, png)).toBe(0);
  });

  it('stores no placeholder: a 1×1 image with an empty mediaEtag means "no photo", and removes one held', async () => {
    await f.emu.control('POST', 'no-photo', { style: 'placeholder' });
    const sourceId = await f.createSource({ photoSync: true });
    const first = await sync(sourceId);
    const withPhotos = [...expectedDirectory().keys()].filter((id) => f.emu.emulator.tenant.photos.has(id));
    expect(first.counts.photos).toBe(withPhotos.length);
    const stored = async () =>
      f.database.sql`
        select p.graph_id, length(ph.bytes) as size from profile_photos ph join profiles p on p.id = ph.profile_id
        where p.source_id = ${sourceId}`;
    expect((await stored()).map((r) => r.graph_id).sort()).toEqual([...withPhotos].sort());
    expect(Math.min(...(await stored()).map((r) => Number(r.size)))).toBeGreaterThan(1_000);

    // The photo is deleted in Entra ID: Graph now shows the placeholder, and the stored photo goes.
    const gone = withPhotos[0];
    expect(
      (await fetch(`${f.emu.emulator.graphBaseUrl}/_emulator/users/${gone}/photo`, { method: 'DELETE' })).status,
    ).toBe(204);
    const after = await sync(sourceId, { mode: 'full' });
    expect(after.status).toBe('succeeded');
    expect((await stored()).map((r) => r.graph_id)).not.toContain(gone);
    expect((await stored()).length).toBe(withPhotos.length - 1);
  });
});
