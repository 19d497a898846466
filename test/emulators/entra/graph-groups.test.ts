import type { Client, PageCollection } from '@microsoft/microsoft-graph-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { graphError, readAllPages, startTestEmulator, type TestEmulator } from '../../helpers/emulator.ts';

/** Groups, members, photos and $batch through the unmodified Graph client. */

let t: TestEmulator;
let graph: Client;

beforeAll(async () => {
  t = await startTestEmulator({ users: 900, groups: 40, seed: 'graph-groups' });
});
afterAll(async () => {
  await t?.close();
});
beforeEach(async () => {
  await t.control('POST', 'reset');
  // A fresh MSAL client per test: its token cache would outlive the reset (which revokes tokens).
  graph = await t.appGraph();
});

function groupNamed(name: string) {
  return [...t.emulator.tenant.groups.values()].find((g) => g.displayName === name)!;
}

describe('group type-ahead', () => {
  it('$search needs ConsistencyLevel: eventual, and then matches word prefixes in any order', async () => {
    const refused = await graphError(graph.api('/groups').search('"displayName:sal"').get());
    expect(refused.statusCode).toBe(400);
    expect(refused.code).toBe('Request_UnsupportedQuery');

    const found = (await graph
      .api('/groups')
      .header('ConsistencyLevel', 'eventual')
      .search('"displayName:sal"')
      .select(['id', 'displayName'])
      .top(10)
      .get()) as PageCollection;
    const names = found.value.map((g: { displayName: string }) => g.displayName).sort();
    expect(names).toEqual(['Sales', 'Sales APAC', 'Sales Americas', 'Sales EMEA']);
    const reordered = (await graph
      .api('/groups')
      .header('ConsistencyLevel', 'eventual')
      .search('"displayName:emea sales"')
      .get()) as PageCollection;
    expect(reordered.value.map((g: { displayName: string }) => g.displayName)).toEqual(['Sales EMEA']);
  });

  it('$filter=startswith(displayName, …) works without the header and is a whole-name prefix', async () => {
    const page = (await graph
      .api('/groups')
      .filter("startswith(displayName,'Sales E')")
      .select(['displayName'])
      .get()) as PageCollection;
    expect(page.value).toEqual([{ displayName: 'Sales EMEA' }]);
    const none = (await graph.api('/groups').filter("startswith(displayName,'EMEA')").get()) as PageCollection;
    expect(none.value).toEqual([]);
  });

  it('/groups/{id} answers 404 Request_ResourceNotFound once the group is deleted', async () => {
    const group = groupNamed('Book Club');
    expect((await graph.api(`/groups/${group.id}`).get()).displayName).toBe('Book Club');
    await t.control('DELETE', `groups/${group.id}`);
    const gone = await graphError(graph.api(`/groups/${group.id}`).get());
    expect(gone.statusCode).toBe(404);
    expect(gone.code).toBe('Request_ResourceNotFound');
  });
});

describe('members', () => {
  it('transitive members of a group of groups, cast to users, flatten every level once', async () => {
    const allStaff = groupNamed('All Staff');
    const direct = (await graph.api(`/groups/${allStaff.id}/members`).get()) as PageCollection;
    expect(direct.value.every((m: { '@odata.type': string }) => m['@odata.type'] === '#microsoft.graph.group')).toBe(
      true,
    );

    const first = (await graph
      .api(`/groups/${allStaff.id}/transitiveMembers/microsoft.graph.user`)
      .select(['id', 'displayName'])
      .top(999)
      .get()) as PageCollection;
    const { items: users } = await readAllPages<{ id: string; '@odata.type': string }>(graph, first);
    // Everyone in a department: every member except the CEO (who is in no department), no guests.
    const expected = [...t.emulator.tenant.users.values()].filter(
      (u) => u.userType === 'Member' && u.department !== 'Executive',
    );
    expect(users.map((u) => u.id).sort()).toEqual(expected.map((u) => u.id).sort());
    expect(users.every((u) => u['@odata.type'] === '#microsoft.graph.user')).toBe(true);
  });

  it('sees membership changes, nested three levels deep (All Staff → Engineering → Platform Engineering)', async () => {
    const platform = groupNamed('Platform Engineering');
    const allStaff = groupNamed('All Staff');
    expect([...groupNamed('Engineering').members]).toContain(platform.id);
    const guest = [...t.emulator.tenant.users.values()].find((u) => u.userType === 'Guest')!;
    await t.control('POST', `groups/${platform.id}/members`, { add: [guest.id] });
    const { items: users } = await readAllPages<{ id: string }>(
      graph,
      (await graph
        .api(`/groups/${allStaff.id}/transitiveMembers/microsoft.graph.user`)
        .top(999)
        .get()) as PageCollection,
    );
    expect(users.map((u) => u.id)).toContain(guest.id);
  });

  it('a cast with $count needs ConsistencyLevel: eventual and $count=true', async () => {
    const sales = groupNamed('Sales');
    const refused = await graphError(
      graph.api(`/groups/${sales.id}/transitiveMembers/microsoft.graph.user`).count(true).get(),
    );
    expect(refused.statusCode).toBe(400);
    expect(refused.code).toBe('Request_UnsupportedQuery');
    const counted = (await graph
      .api(`/groups/${sales.id}/transitiveMembers/microsoft.graph.user`)
      .header('ConsistencyLevel', 'eventual')
      .count(true)
      .top(5)
      .get()) as PageCollection;
    expect(counted['@odata.count']).toBe(
      [...t.emulator.tenant.users.values()].filter((u) => u.department === 'Sales').length,
    );
  });

  it('members of a missing group: 404', async () => {
    const missing = await graphError(
      graph.api('/groups/00000000-0000-4000-8000-000000000000/transitiveMembers/microsoft.graph.user').get(),
    );
    expect(missing.statusCode).toBe(404);
    expect(missing.code).toBe('Request_ResourceNotFound');
  });

  it('without User.Read.All members come back with only type and id ("limited information")', async () => {
    const limited = await t.appGraph(['GroupMember.Read.All']);
    const page = (await limited
      .api(`/groups/${groupNamed('Executives').id}/members`)
      .select(['id', 'displayName'])
      .get()) as PageCollection;
    expect(page.value[0]).toEqual({
      '@odata.type': '#microsoft.graph.user',
      id: expect.any(String),
      displayName: null,
    });
  });
});

describe('photos', () => {
  it('returns metadata with @odata.mediaEtag and the JPEG bytes at 648×648; 404 ImageNotFound without a photo', async () => {
    const withPhoto = [...t.emulator.tenant.users.values()].find(
      (u) => t.emulator.tenant.photos.get(u.id)?.contentType === 'image/jpeg',
    )!;
    const without = [...t.emulator.tenant.users.values()].find((u) => !t.emulator.tenant.photos.has(u.id))!;
    const photo = t.emulator.tenant.photos.get(withPhoto.id)!;

    const meta = await graph.api(`/users/${withPhoto.id}/photo`).get();
    expect(meta).toMatchObject({
      '@odata.mediaContentType': 'image/jpeg',
      '@odata.mediaEtag': photo.etag,
      id: '648X648',
      width: 648,
      height: 648,
    });
    const blob = (await graph.api(`/users/${withPhoto.id}/photo/$value`).get()) as Blob;
    const bytes = Buffer.from(await blob.arrayBuffer());
    expect(bytes.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
    expect(bytes.equals(photo.bytes)).toBe(true);

    for (const path of [
      `/users/${without.id}/photo`,
      `/users/${without.id}/photo/$value`,
      `/users/${without.id}/photos`,
    ]) {
      const missing = await graphError(graph.api(path).get());
      expect(missing.statusCode).toBe(404);
      expect(missing.code).toBe('ImageNotFound');
    }
  });

  it('lists the sizes kept at /photos and serves each at /photos/{size}/$value', async () => {
    const user = [...t.emulator.tenant.users.values()].find((u) => t.emulator.tenant.photos.has(u.id))!;
    const photo = t.emulator.tenant.photos.get(user.id)!;
    const list = (await graph.api(`/users/${user.id}/photos`).get()) as { value: { id: string; width: number }[] };
    expect(list.value.map((p) => p.id)).toEqual([
      '48X48',
      '64X64',
      '96X96',
      '120X120',
      '240X240',
      '360X360',
      '432X432',
      '504X504',
      '648X648',
    ]);
    expect(await graph.api(`/users/${user.id}/photos/240x240`).get()).toMatchObject({ id: '240X240', width: 240 });
    const blob = (await graph.api(`/users/${user.id}/photos/48x48/$value`).get()) as Blob;
    expect(Buffer.from(await blob.arrayBuffer()).equals(photo.bytesAt(48))).toBe(true);
    expect((await graphError(graph.api(`/users/${user.id}/photos/50x50/$value`).get())).statusCode).toBe(404);
  });

  it('can answer for someone without a photo with a 1×1 image and an empty mediaEtag, when told to', async () => {
    const without = [...t.emulator.tenant.users.values()].find((u) => !t.emulator.tenant.photos.has(u.id))!;
    await t.control('POST', 'no-photo', { style: 'placeholder' });
    expect(await graph.api(`/users/${without.id}/photo`).get()).toMatchObject({
      '@odata.mediaEtag': '',
      width: 1,
      height: 1,
    });
    const blob = (await graph.api(`/users/${without.id}/photo/$value`).get()) as Blob;
    expect(blob.size).toBeGreaterThan(0);
    expect((await t.control('POST', 'no-photo', { style: 'blank' })).status).toBe(400);
  });

  it('a changed photo has a new etag', async () => {
    const user = [...t.emulator.tenant.users.values()][2];
    const before = t.emulator.tenant.photos.get(user.id)?.etag;
    const response = await fetch(`${t.emulator.graphBaseUrl}/_emulator/users/${user.id}/photo`, {
      method: 'PUT',
      headers: { 'content-type': 'image/png' },
      body: t.emulator.tenant.photos.values().next().value!.bytes,
    });
    expect(response.status).toBe(200);
    const meta = await graph.api(`/users/${user.id}/photo`).get();
    expect(meta['@odata.mediaEtag']).not.toBe(before);
  });
});

describe('$batch', () => {
  const photoRequests = (ids: string[]) =>
    ids.map((id, i) => ({ id: String(i + 1), method: 'GET', url: `/users/${id}/photo/$value` }));

  it('answers up to 20 requests with per-item status, headers and base64 bodies', async () => {
    const users = [...t.emulator.tenant.users.values()].slice(0, 20);
    const result = await graph.api('/$batch').post({ requests: photoRequests(users.map((u) => u.id)) });
    expect(result.responses).toHaveLength(20);
    for (const item of result.responses as {
      id: string;
      status: number;
      headers: Record<string, string>;
      body: unknown;
    }[]) {
      const user = users[Number(item.id) - 1];
      const photo = t.emulator.tenant.photos.get(user.id);
      if (photo) {
        expect(item.status).toBe(200);
        expect(item.headers['Content-Type']).toBe(photo.contentType);
        expect(Buffer.from(item.body as string, 'base64').equals(photo.bytes)).toBe(true);
      } else {
        expect(item.status).toBe(404);
        expect((item.body as { error: { code: string } }).error.code).toBe('ImageNotFound');
      }
    }
    expect(t.emulator.requests()['$batch /v1.0/users/{id}/photo/$value']).toBe(20);
  });

  it('refuses more than 20 requests', async () => {
    const ids = [...t.emulator.tenant.users.keys()].slice(0, 21);
    const error = await graphError(graph.api('/$batch').post({ requests: photoRequests(ids) }));
    expect(error.statusCode).toBe(400);
  });

  it('throttles items one by one with their own Retry-After, and fails dependants with 424', async () => {
    await t.control('POST', 'faults', { throttleEvery: 3, retryAfterSeconds: 7 });
    const ids = [...t.emulator.tenant.users.keys()].slice(0, 7);
    const requests = photoRequests(ids).map((r) => (r.id === '4' ? { ...r, dependsOn: ['3'] } : r));
    const result = await graph.api('/$batch').post({ requests });
    const statuses = Object.fromEntries(
      (result.responses as { id: string; status: number }[]).map((r) => [r.id, r.status]),
    );
    // Items count like requests (every 3rd is throttled); item 4 never runs, so item 7 is the 6th.
    expect(statuses['3']).toBe(429);
    expect(statuses['4']).toBe(424);
    expect(statuses['7']).toBe(429);
    const throttled = (result.responses as { id: string; headers: Record<string, string> }[]).find(
      (r) => r.id === '3',
    )!;
    expect(throttled.headers['Retry-After']).toBe('7');
    for (const id of ['1', '2', '5', '6']) expect([200, 404]).toContain(statuses[id]);
  });
});
