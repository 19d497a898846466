import type { Client, PageCollection } from '@microsoft/microsoft-graph-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { graphError, readAllPages, startTestEmulator, type TestEmulator } from '../../helpers/emulator.ts';

/** /users/delta through the unmodified Graph client: a full round, then changes made via the control API. */

let t: TestEmulator;
let graph: Client;

beforeAll(async () => {
  t = await startTestEmulator({ users: 700, groups: 10, seed: 'graph-delta' });
});
afterAll(async () => {
  await t?.close();
});
beforeEach(async () => {
  await t.control('POST', 'reset');
  // A fresh MSAL client per test: its token cache would outlive the reset (which revokes tokens).
  graph = await t.appGraph();
});

type DeltaUser = Record<string, unknown> & { id: string };

/** Reads one whole round from `url`; returns the items and the deltaLink for the next round. */
async function round(
  url: string,
  headers?: Record<string, string>,
): Promise<{ items: DeltaUser[]; deltaLink: string }> {
  const request = graph.api(url);
  if (headers) request.headers(headers);
  const { items, deltaLink } = await readAllPages<DeltaUser>(graph, (await request.get()) as PageCollection, headers);
  expect(deltaLink).toMatch(new RegExp(`^${t.emulator.graphBaseUrl}/v1\\.0/users/delta\\?\\$deltatoken=`));
  return { items, deltaLink: deltaLink! };
}

describe('/users/delta', () => {
  it('lists every user in the first round, in pages of at most 200, with manager@delta when selected', async () => {
    const first = (await graph.api('/users/delta').select(['displayName', 'mail', 'manager']).get()) as PageCollection;
    expect(first.value).toHaveLength(200);
    expect(first['@odata.nextLink']).toMatch(/\/v1\.0\/users\/delta\?\$skiptoken=/);
    expect(first['@odata.deltaLink']).toBeUndefined();
    const { items } = await round('/users/delta?$select=displayName,mail,manager');
    expect(items).toHaveLength(t.emulator.tenant.users.size);
    const withManager = items.find((u) => u['manager@delta'])!;
    const source = t.emulator.tenant.users.get(withManager.id)!;
    expect(withManager['manager@delta']).toEqual([{ '@odata.type': '#microsoft.graph.user', id: source.managerId }]);
    expect(Object.keys(items.find((u) => !u['manager@delta'])!).sort()).toEqual(['displayName', 'id', 'mail']);
  });

  it('then returns exactly what changed through the control API, including both kinds of removal', async () => {
    const { deltaLink } = await round('/users/delta?$select=displayName,jobTitle,manager');
    const users = [...t.emulator.tenant.users.values()].filter((u) => u.userType === 'Member');
    const [renamed, promoted, softDeleted, hardDeleted, moved, newManager] = users.slice(5, 11);
    await t.control('POST', 'users', [
      { id: renamed.id, displayName: 'Renamed Person' },
      { id: promoted.id, jobTitle: 'Chief Emulation Officer' },
      { id: moved.id, manager: { id: newManager.id } },
      { displayName: 'New Hire', userPrincipalName: 'new.hire@contoso.com', manager: { id: newManager.id } },
    ]);
    await t.control('DELETE', `users/${softDeleted.id}`);
    await t.control('DELETE', `users/${hardDeleted.id}?permanent=true`);
    // Two changes to one user appear once, with the latest values.
    await t.control('POST', 'users', [{ id: renamed.id, displayName: 'Renamed Again' }]);

    const { items, deltaLink: next } = await round(deltaLink);
    const byId = new Map(items.map((u) => [u.id, u]));
    expect(items).toHaveLength(6);
    expect(byId.get(renamed.id)).toMatchObject({ displayName: 'Renamed Again' });
    expect(byId.get(promoted.id)).toMatchObject({ jobTitle: 'Chief Emulation Officer' });
    expect(byId.get(promoted.id)!['manager@delta']).toBeUndefined();
    expect(byId.get(moved.id)!['manager@delta']).toEqual([
      { '@odata.type': '#microsoft.graph.user', id: newManager.id },
    ]);
    expect(byId.get(softDeleted.id)).toEqual({ id: softDeleted.id, '@removed': { reason: 'changed' } });
    expect(byId.get(hardDeleted.id)).toEqual({ id: hardDeleted.id, '@removed': { reason: 'deleted' } });
    const hire = items.find((u) => u.displayName === 'New Hire')!;
    expect(hire['manager@delta']).toEqual([{ '@odata.type': '#microsoft.graph.user', id: newManager.id }]);

    const quiet = await round(next);
    expect(quiet.items).toEqual([]);
  });

  it('reports a removed manager with @removed inside manager@delta', async () => {
    const { deltaLink } = await round('/users/delta?$select=id,manager');
    const user = [...t.emulator.tenant.users.values()].find((u) => u.managerId)!;
    const formerManager = user.managerId;
    await t.control('POST', 'users', [{ id: user.id, manager: null }]);
    const { items } = await round(deltaLink);
    expect(items).toEqual([
      {
        id: user.id,
        'manager@delta': [
          { '@odata.type': '#microsoft.graph.user', id: formerManager, '@removed': { reason: 'deleted' } },
        ],
      },
    ]);
  });

  it('tracks only the selected properties: a change to anything else does not make the user appear', async () => {
    const { deltaLink } = await round('/users/delta?$select=displayName,onPremisesExtensionAttributes,manager');
    const [quiet, named, extended, managed, both] = [...t.emulator.tenant.users.values()].slice(20, 25);
    await t.control('POST', 'users', [
      { id: quiet.id, employeeType: 'Contractor', department: 'Not selected' },
      { id: named.id, displayName: 'Tracked Rename' },
      { id: extended.id, onPremisesExtensionAttributes: { extensionAttribute3: 'tracked' } },
      { id: managed.id, manager: { id: named.id } },
      { id: both.id, jobTitle: 'Untracked first' },
      // Setting a value to what it already is changes nothing, so it is not a change either.
      { id: named.id, userPrincipalName: named.userPrincipalName },
    ]);
    await t.control('POST', 'users', [{ id: both.id, displayName: 'Then tracked' }]);
    const { items, deltaLink: next } = await round(deltaLink);
    expect(items.map((u) => u.id).sort()).toEqual([named.id, extended.id, managed.id, both.id].sort());
    expect(items.find((u) => u.id === both.id)).toMatchObject({ displayName: 'Then tracked' });

    // The untracked change is not carried over to a later round either.
    await t.control('POST', 'users', [{ id: quiet.id, mobilePhone: '+1 555 0100' }]);
    expect((await round(next)).items).toEqual([]);
    // Without $select, the default properties are the tracked ones.
    const defaults = await round('/users/delta');
    await t.control('POST', 'users', [
      { id: quiet.id, employeeType: 'Employee' },
      { id: named.id, jobTitle: 'Default property' },
    ]);
    expect((await round(defaults.deltaLink)).items.map((u) => u.id)).toEqual([named.id]);
  });

  it('pages large change sets and honours Prefer: odata.maxpagesize', async () => {
    const { deltaLink } = await round('/users/delta?$select=displayName');
    const changed = [...t.emulator.tenant.users.values()]
      .slice(0, 450)
      .map((u) => ({ id: u.id, displayName: `${u.displayName} (changed)` }));
    await t.control('POST', 'users', changed);
    const first = (await graph.api(deltaLink).header('Prefer', 'odata.maxpagesize=100').get()) as PageCollection;
    expect(first.value).toHaveLength(100);
    const { items } = await round(deltaLink, { Prefer: 'odata.maxpagesize=100' });
    expect(items).toHaveLength(450);
    expect(items.every((u) => String(u.displayName).endsWith('(changed)'))).toBe(true);
  });

  it('$deltatoken=latest starts from now without listing anyone', async () => {
    const latest = (await graph.api('/users/delta?$deltatoken=latest').get()) as PageCollection;
    expect(latest.value).toEqual([]);
    const user = [...t.emulator.tenant.users.values()][3];
    await t.control('POST', 'users', [{ id: user.id, jobTitle: 'Changed after latest' }]);
    const { items } = await round(latest['@odata.deltaLink']!);
    expect(items.map((u) => u.id)).toEqual([user.id]);
  });

  it('refuses expired, unknown and edited tokens with 400 syncStateNotFound', async () => {
    const { deltaLink } = await round('/users/delta?$select=displayName');
    const edited = deltaLink.replace(/\$deltatoken=(.)/, (_m, c: string) => `$deltatoken=${c === 'A' ? 'B' : 'A'}`);
    const forged = await graphError(graph.api(edited).get());
    expect(forged.statusCode).toBe(400);
    expect(forged.code).toBe('syncStateNotFound');

    await t.control('POST', 'expire-delta-tokens');
    const expired = await graphError(graph.api(deltaLink).get());
    expect(expired.statusCode).toBe(400);
    expect(expired.code).toBe('syncStateNotFound');

    const fresh = await round('/users/delta?$select=displayName');
    await t.control('POST', 'clock', { advanceSeconds: 8 * 24 * 3600 });
    // The clock moved past the cached token's expiry: a new client gets a new token.
    graph = await t.appGraph();
    expect((await graphError(graph.api(fresh.deltaLink).get())).code).toBe('syncStateNotFound');
  });

  it('can answer expired tokens with 410 Gone and a Location to restart from, when told to', async () => {
    const { deltaLink } = await round('/users/delta?$select=displayName,manager');
    await t.control('POST', 'expire-delta-tokens', { style: 'gone' });
    const response = await fetch(deltaLink, { headers: { authorization: `Bearer ${await bearer()}` } });
    expect(response.status).toBe(410);
    expect(response.headers.get('location')).toBe(
      `${t.emulator.graphBaseUrl}/v1.0/users/delta?$select=id,displayName,manager`,
    );
  });

  it('ignores $top like Graph and refuses $expand', async () => {
    const page = (await graph.api('/users/delta').top(5).get()) as PageCollection;
    expect(page.value).toHaveLength(200);
    expect((await graphError(graph.api('/users/delta').expand('manager').get())).statusCode).toBe(400);
  });
});

async function bearer(): Promise<string> {
  const result = await t.msal().acquireTokenByClientCredential({ scopes: ['https://graph.microsoft.com/.default'] });
  return result!.accessToken;
}
