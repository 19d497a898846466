import { randomUUID } from 'node:crypto';
import type { ConfidentialClientApplication } from '@azure/msal-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AzureError, DeltaExpiredError } from '../../src/azure/errors.ts';
import { createGraphReader, type GraphReader } from '../../src/azure/graph-reader.ts';
import type { GraphRequestReport } from '../../src/azure/graph-transport.ts';
import type { GraphUser, PhotoRequest, PhotoResult, RemovedUser } from '../../src/azure/graph-types.ts';
import { APPLICATION_SCOPE } from '../../src/azure/permissions.ts';
import type { RetryOptions } from '../../src/azure/retry-policy.ts';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.ts';
import { failureOf } from '../helpers/failure.ts';

/** The Graph reader (unmodified Graph client over HTTPS) against the emulator's Graph. */

const USERS = 2_500;
let emu: TestEmulator;
let msal: ConfidentialClientApplication;
let reports: GraphRequestReport[];

beforeAll(async () => {
  emu = await startTestEmulator({ users: USERS, groups: 12, seed: 'graph-reader' });
});

afterAll(async () => {
  await emu?.close();
});

beforeEach(async () => {
  await emu.control('POST', 'reset');
  await emu.control('POST', 'consent', {});
  // A token cached before the reset would cost each test one extra (401) request.
  msal = emu.msal();
  reports = [];
});

const tenant = () => emu.emulator.tenant;

function reader(retry: Partial<RetryOptions> = {}): GraphReader {
  return createGraphReader({
    graphBaseUrl: emu.emulator.graphBaseUrl,
    getToken: async ({ forceRefresh = false } = {}) =>
      (await msal.acquireTokenByClientCredential({ scopes: [APPLICATION_SCOPE], skipCache: forceRefresh }))!
        .accessToken,
    onRequest: (report) => reports.push(report),
    retry: { baseDelayMs: 10, ...retry },
  });
}

async function fullRead(graph: GraphReader) {
  const pages: { users: GraphUser[]; removed: RemovedUser[]; deltaLink?: string }[] = [];
  for await (const page of graph.usersDelta({ select: ['displayName', 'mail', 'jobTitle'] })) pages.push(page);
  return pages;
}

async function changesSince(graph: GraphReader, deltaLink: string) {
  const users: GraphUser[] = [];
  const removed: RemovedUser[] = [];
  let next: string | undefined;
  for await (const page of graph.usersDelta({ select: ['displayName', 'jobTitle'], deltaLink })) {
    users.push(...page.users);
    removed.push(...page.removed);
    next = page.deltaLink;
  }
  return { users, removed, deltaLink: next };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

function transitiveUsers(groupId: string, seen = new Set<string>()): Set<string> {
  const users = new Set<string>();
  if (seen.has(groupId)) return users;
  seen.add(groupId);
  for (const member of tenant().groups.get(groupId)?.members ?? []) {
    if (tenant().users.has(member)) users.add(member);
    else for (const nested of transitiveUsers(member, seen)) users.add(nested);
  }
  return users;
}

describe('usersDelta', () => {
  it(`reads all ${USERS} users page by page, with each manager`, async () => {
    const pages = await fullRead(reader());
    expect(pages.length).toBeGreaterThan(2);
    expect(pages.slice(0, -1).every((p) => p.deltaLink === undefined)).toBe(true);
    expect(pages.at(-1)?.deltaLink?.startsWith(`${emu.emulator.graphBaseUrl}/v1.0/users/delta?`)).toBe(true);

    const users = pages.flatMap((p) => p.users);
    expect(users.length).toBe(tenant().users.size);
    expect(new Set(users.map((u) => u.id)).size).toBe(tenant().users.size);
    expect(users.filter((u) => u.managerId).length).toBeGreaterThan(USERS / 2);
    for (const user of users) {
      const truth = tenant().users.get(user.id)!;
      expect(user.managerId ?? null).toBe(truth.managerId);
      expect(user.displayName).toBe(truth.displayName);
      expect(Object.keys(user).some((k) => k.startsWith('@odata') || k.includes('@delta'))).toBe(false);
    }
    expect(reports.map((r) => r.path)).toEqual(pages.map(() => '/users/delta'));
    expect(reports.every((r) => r.status === 200 && r.method === 'GET')).toBe(true);
  });

  it('reads only what changed since the delta link, both kinds of removal included', async () => {
    const graph = reader();
    const deltaLink = (await fullRead(graph)).at(-1)!.deltaLink!;
    const [edited, softDeleted, hardDeleted, managed, newManager] = [...tenant().users.keys()].slice(10, 15);
    const newcomer = randomUUID();
    await emu.control('POST', 'users', [
      { id: edited, jobTitle: 'Chief Delta Officer' },
      { id: newcomer, displayName: 'Nia Newcomer', userPrincipalName: 'nia@example.test' },
      { id: managed, manager: { id: newManager } },
    ]);
    expect((await emu.control('DELETE', `users/${softDeleted}`)).status).toBe(204);
    expect((await emu.control('DELETE', `users/${hardDeleted}?permanent=true`)).status).toBe(204);

    const changes = await changesSince(graph, deltaLink);
    const byId = new Map(changes.users.map((u) => [u.id, u]));
    expect([...byId.keys()].sort()).toEqual([edited, newcomer, managed].sort());
    expect(byId.get(edited)?.jobTitle).toBe('Chief Delta Officer');
    expect(byId.get(newcomer)?.displayName).toBe('Nia Newcomer');
    expect(byId.get(managed)?.managerId).toBe(newManager);
    expect(changes.removed).toHaveLength(2);
    expect(changes.removed).toEqual(
      expect.arrayContaining([
        { id: softDeleted, reason: 'changed' },
        { id: hardDeleted, reason: 'deleted' },
      ]),
    );

    const quiet = await changesSince(graph, changes.deltaLink!);
    expect(quiet.users).toEqual([]);
    expect(quiet.removed).toEqual([]);
  });

  it('reports an expired delta link as DeltaExpiredError (400 syncStateNotFound and 410 Gone)', async () => {
    const graph = reader();
    const deltaLink = (await fullRead(graph)).at(-1)!.deltaLink!;
    await emu.control('POST', 'expire-delta-tokens', { style: 'syncStateNotFound' });
    const expired = await failureOf(changesSince(graph, deltaLink), DeltaExpiredError);
    expect(expired).toMatchObject({ status: 400, graphCode: 'syncStateNotFound' });

    const fresh = (await fullRead(graph)).at(-1)!.deltaLink!;
    await emu.control('POST', 'expire-delta-tokens', { style: 'gone' });
    const gone = await failureOf(changesSince(graph, fresh), DeltaExpiredError);
    expect(gone.status).toBe(410);
  });

  it('a missing permission is app_misconfigured, in words', async () => {
    await emu.control('POST', 'consent', { roles: ['GroupMember.Read.All'] });
    const failure = await failureOf(fullRead(reader()), AzureError);
    expect(failure.code).toBe('app_misconfigured');
    expect(failure.message).toMatch(/Authorization_RequestDenied.*User\.Read\.All/);
  });
});

describe('groups', () => {
  async function createGroups(groups: Record<string, unknown>[]): Promise<string[]> {
    const answer = await emu.control('POST', 'groups', groups);
    expect(answer.status).toBe(200);
    return (answer.body as { groups: { id: string }[] }).groups.map((g) => g.id);
  }

  it('lists transitive user members of nested groups, each once, with the selected fields', async () => {
    const ids = [...tenant().users.keys()];
    const [inner] = await createGroups([{ displayName: 'Inner', members: [ids[1], ids[2]] }]);
    const [middle] = await createGroups([{ displayName: 'Middle', members: [inner, ids[2], ids[3]] }]);
    const [outer] = await createGroups([{ displayName: 'Outer', members: [middle, ids[0]] }]);
    const members = (await collect(reader().groupUserMembers(outer, ['displayName', 'mail']))).flat();
    expect(members.map((m) => m.id).sort()).toEqual([ids[0], ids[1], ids[2], ids[3]].sort());
    for (const member of members) {
      expect(member.displayName).toBe(tenant().users.get(member.id)!.displayName);
      expect(member['@odata.type']).toBeUndefined();
    }
  });

  it('pages through a large group', async () => {
    const [big] = await createGroups([
      { displayName: 'Everyone-ish', members: [...tenant().users.keys()].slice(0, 2_100) },
    ]);
    const pages = await collect(reader().groupUserMembers(big, []));
    expect(pages).toHaveLength(3);
    expect(new Set(pages.flat().map((m) => m.id))).toEqual(transitiveUsers(big));
  });

  it('a deleted group is group_missing, named', async () => {
    const [gone] = await createGroups([{ displayName: 'Temp', members: [] }]);
    await emu.control('DELETE', `groups/${gone}`);
    const failure = await failureOf(
      collect(reader().groupUserMembers(gone, [], { groupName: 'Payroll EU' })),
      AzureError,
    );
    expect(failure.code).toBe('group_missing');
    expect(failure.message).toBe(
      'The group "Payroll EU" no longer exists in Entra ID: edit the groups of this connection.',
    );
    expect(failure.detail.groupId).toBe(gone);
    expect(await reader().getGroup(gone)).toBeNull();
  });

  it('searches by word prefix, safely, whatever the admin types', async () => {
    const names = [
      'Sales & Marketing #1',
      'R&D "Labs" 100%',
      'Ünïcødé Team',
      'Back\\slash Crew',
      "O'Brien's Office",
      '#general',
    ];
    const ids = await createGroups(names.map((displayName) => ({ displayName })));
    const graph = reader();
    const find = async (text: string) => (await graph.searchGroups(text)).map((g) => g.displayName);

    expect(await find('Sales & Mark')).toEqual(['Sales & Marketing #1']);
    expect(await find('mark')).toContain('Sales & Marketing #1');
    expect(await find('"Labs"')).toEqual(['R&D "Labs" 100%']);
    expect(await find('100%')).toEqual(['R&D "Labs" 100%']);
    expect(await find('ünïcø')).toEqual(['Ünïcødé Team']);
    expect(await find('back\\')).toEqual(['Back\\slash Crew']);
    expect(await find("O'Brien")).toEqual(["O'Brien's Office"]);
    expect(await find('#&%')).toEqual([]);
    expect(await find('#')).toEqual(['#general']);
    expect(await find('#gen')).toEqual(['#general']);
    expect(reports.every((r) => r.status === 200 && r.path === '/groups')).toBe(true);
    expect(reports).toHaveLength(10);

    expect(await graph.searchGroups(`  ${ids[2]} `)).toEqual([{ id: ids[2], displayName: 'Ünïcødé Team' }]);
    expect(await graph.getGroup(ids[0])).toEqual({ id: ids[0], displayName: 'Sales & Marketing #1' });
    expect(await graph.searchGroups('', { top: 3 })).toHaveLength(3);
  });
});

describe('photos', () => {
  const readPhotos = async (graph: GraphReader, requests: PhotoRequest[]) =>
    new Map((await collect(graph.photos(requests))).map((r) => [r.userId, r]));
  const known = (results: Map<string, PhotoResult>): PhotoRequest[] =>
    [...results.values()].map((r) => ({ userId: r.userId, knownEtag: r.kind === 'photo' ? r.etag : null }));
  const kinds = (results: Map<string, PhotoResult>, kind: PhotoResult['kind']) =>
    [...results.values()].filter((r) => r.kind === kind).length;

  it('downloads new photos, skips unchanged ones by etag, refetches a changed one', async () => {
    const graph = reader();
    const userIds = [...tenant().users.keys()].slice(0, 45);
    const withPhoto = userIds.filter((id) => tenant().photos.has(id));
    expect(withPhoto.length).toBeGreaterThan(5);
    expect(withPhoto.length).toBeLessThan(45);

    const first = await readPhotos(
      graph,
      userIds.map((userId) => ({ userId })),
    );
    expect(first.size).toBe(45);
    for (const id of userIds) {
      const photo = tenant().photos.get(id);
      const result = first.get(id)!;
      if (!photo) {
        expect(result).toEqual({ kind: 'none', userId: id });
      } else {
        expect(result).toMatchObject({ kind: 'photo', etag: photo.etag, contentType: photo.contentType });
        expect(result.kind === 'photo' && Buffer.from(result.bytes).equals(Buffer.from(photo.bytes))).toBe(true);
      }
    }
    expect(reports.map((r) => `${r.method} ${r.path}`)).toEqual(Array(3).fill('POST /$batch'));

    reports = [];
    const second = await readPhotos(graph, known(first));
    expect(kinds(second, 'unchanged')).toBe(withPhoto.length);
    expect(kinds(second, 'none')).toBe(45 - withPhoto.length);
    expect(reports).toHaveLength(3);

    const changed = withPhoto[0];
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9]);
    const put = await fetch(`${emu.emulator.graphBaseUrl}/_emulator/users/${changed}/photo`, {
      method: 'PUT',
      headers: { 'content-type': 'image/jpeg' },
      body: jpeg,
    });
    expect(put.status).toBe(200);
    reports = [];
    const third = await readPhotos(graph, known(first));
    const updated = third.get(changed)!;
    expect(updated).toMatchObject({
      kind: 'photo',
      etag: tenant().photos.get(changed)!.etag,
      contentType: 'image/jpeg',
    });
    expect(updated.kind === 'photo' && Buffer.from(updated.bytes).equals(jpeg)).toBe(true);
    expect(kinds(third, 'unchanged')).toBe(withPhoto.length - 1);
    // The download rides in the last batch, beside the remaining checks: 46 requests, 3 batches.
    expect(reports).toHaveLength(3);
  });

  it('costs one batch slot per user: 2,000 users in 100 requests, re-checked in 100', async () => {
    const graph = reader();
    const first = await readPhotos(
      graph,
      [...tenant().users.keys()].slice(0, 2_000).map((userId) => ({ userId })),
    );
    expect(first.size).toBe(2_000);
    expect(reports).toHaveLength(100);
    reports = [];
    const again = await readPhotos(graph, known(first));
    expect(kinds(again, 'photo')).toBe(0);
    expect(reports).toHaveLength(100);
  });

  it('retries items Graph throttles inside a batch after their Retry-After', async () => {
    await emu.control('POST', 'faults', { throttleEvery: 4, retryAfterSeconds: 0 });
    const userIds = [...tenant().users.keys()].slice(100, 160);
    const results = await readPhotos(
      reader(),
      userIds.map((userId) => ({ userId })),
    );
    expect(results.size).toBe(60);
    for (const id of userIds) expect(results.get(id)?.kind).toBe(tenant().photos.has(id) ? 'photo' : 'none');
    expect(reports.length).toBeGreaterThan(3);
  });

  it('a photo permission Graph refuses is app_misconfigured', async () => {
    await emu.control('POST', 'consent', { roles: ['GroupMember.Read.All'] });
    const failure = await failureOf(readPhotos(reader(), [{ userId: [...tenant().users.keys()][0] }]), AzureError);
    expect(failure.code).toBe('app_misconfigured');
    expect(failure.message).toContain('ProfilePhoto.Read.All');
  });
});

describe('throttling and outages', () => {
  it('survives a 429 storm within the budget, honouring Retry-After', async () => {
    await emu.control('POST', 'faults', { throttleEvery: 5, retryAfterSeconds: 1 });
    const started = Date.now();
    const pages = await fullRead(reader());
    expect(pages.flatMap((p) => p.users)).toHaveLength(tenant().users.size);
    const throttled = reports.filter((r) => r.status === 429);
    expect(throttled.length).toBeGreaterThan(0);
    expect(reports.filter((r) => r.status === 200)).toHaveLength(pages.length);
    expect(Date.now() - started).toBeGreaterThanOrEqual(throttled.length * 1000);
  });

  it('rides out 503s with backoff', async () => {
    await emu.control('POST', 'faults', { failEvery: 2, status: 503, retryAfterSeconds: 0 });
    const pages = await fullRead(reader());
    expect(pages.flatMap((p) => p.users)).toHaveLength(tenant().users.size);
    expect(reports.some((r) => r.status === 503)).toBe(true);
  });

  it('gives up with graph_unavailable when the budget is spent', async () => {
    await emu.control('POST', 'faults', { throttleEvery: 1, retryAfterSeconds: 0 });
    const failure = await failureOf(fullRead(reader({ maxAttempts: 4 })), AzureError);
    expect(failure.code).toBe('graph_unavailable');
    expect(failure.message).toMatch(
      /^Microsoft Graph did not answer while reading users \(throttled with 429.*4 attempts\)/,
    );
    expect(failure.detail).toMatchObject({ status: 429, attempts: 4 });
    expect(reports.map((r) => r.status)).toEqual([429, 429, 429, 429]);
  });

  it('retries a request that hangs, then gives up with graph_unavailable', async () => {
    await emu.control('POST', 'faults', { latencyMs: 2_000 });
    const graph = createGraphReader({
      graphBaseUrl: emu.emulator.graphBaseUrl,
      getToken: async () => (await msal.acquireTokenByClientCredential({ scopes: [APPLICATION_SCOPE] }))!.accessToken,
      onRequest: (report) => reports.push(report),
      retry: { maxAttempts: 2, baseDelayMs: 10 },
      timeoutMs: 200,
    });
    const failure = await failureOf(graph.getGroup(randomUUID()), AzureError);
    expect(failure.code).toBe('graph_unavailable');
    expect(failure.message).toMatch(/while reading a group .*gave up after 2 attempts/);
    expect(reports.map((r) => r.status)).toEqual([0, 0]);
  });

  it('a token Graph refuses even after one forced refresh is reauth_required', async () => {
    const asked: boolean[] = [];
    const graph = createGraphReader({
      graphBaseUrl: emu.emulator.graphBaseUrl,
      getToken: async ({ forceRefresh = false } = {}) => {
        asked.push(forceRefresh);
        return 'not-a-token';
      },
      onRequest: (report) => reports.push(report),
    });
    const failure = await failureOf(graph.getGroup(randomUUID()), AzureError);
    expect(failure.code).toBe('reauth_required');
    expect(failure.message).toContain('InvalidAuthenticationToken');
    expect(asked).toEqual([false, true]);
    expect(reports.map((r) => r.status)).toEqual([401, 401]);
  });

  it('a Graph that cannot be reached is graph_unavailable, after retries', async () => {
    const graph = createGraphReader({
      graphBaseUrl: 'https://localhost:1',
      getToken: async () => 'unused',
      onRequest: (report) => reports.push(report),
      retry: { maxAttempts: 3, baseDelayMs: 10 },
    });
    const failure = await failureOf(graph.searchGroups('sales'), AzureError);
    expect(failure.code).toBe('graph_unavailable');
    expect(failure.message).toContain('while searching groups');
    expect(reports).toHaveLength(3);
  });

  it('does not wait longer than maxWaitMs when Graph asks for a long pause', async () => {
    await emu.control('POST', 'faults', { throttleEvery: 1, retryAfterSeconds: 30 });
    const failure = await failureOf(fullRead(reader({ maxWaitMs: 1_000 })), AzureError);
    expect(failure.code).toBe('graph_unavailable');
    expect(failure.message).toContain('Graph asked to wait 30 s');
    expect(reports).toHaveLength(1);
  });
});
