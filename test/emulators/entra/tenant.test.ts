import { inflateSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { generateTenant } from '../../../src/emulators/entra/generate.ts';
import { crc32 } from '../../../src/emulators/entra/photos.ts';
import { TenantStore } from '../../../src/emulators/entra/tenant.ts';

/** The generated tenant (pure logic): deterministic, realistic, and awkward where real ones are. */

const options = { users: 3000, groups: 40, seed: 'unit', photoShare: 0.6 };

describe('generateTenant', () => {
  it('is deterministic for a seed and different for another', () => {
    const a = generateTenant(options);
    const b = generateTenant(options);
    const c = generateTenant({ ...options, seed: 'other' });
    expect([...a.tenant.users.values()]).toEqual([...b.tenant.users.values()]);
    expect([...a.tenant.groups.keys()]).toEqual([...b.tenant.groups.keys()]);
    expect(a.tenant.id).toBe(b.tenant.id);
    expect(c.tenant.id).not.toBe(a.tenant.id);
    expect([...c.tenant.users.values()][5].displayName).not.toBe([...a.tenant.users.values()][5].displayName);
  });

  it('makes the requested number of users with unique ids and UPNs, guests included', () => {
    const { tenant } = generateTenant(options);
    const users = [...tenant.users.values()];
    expect(users).toHaveLength(3000);
    expect(new Set(users.map((u) => u.id)).size).toBe(3000);
    expect(new Set(users.map((u) => u.userPrincipalName.toLowerCase())).size).toBe(3000);
    for (const user of users)
      expect(user.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const guests = users.filter((u) => u.userType === 'Guest');
    expect(guests.length).toBe(90);
    expect(guests.every((u) => u.userPrincipalName.includes('#EXT#@') && u.managerId === null)).toBe(true);
    expect(users.every((u) => /^[\x20-\x7e]+$/.test(u.userPrincipalName))).toBe(true);
  });

  it('has shares of people without mail or surname, and disabled accounts, but never among leaders', () => {
    const users = [...generateTenant(options).tenant.users.values()].filter((u) => u.userType === 'Member');
    const share = (test: (u: (typeof users)[number]) => boolean) => users.filter(test).length / users.length;
    expect(share((u) => u.mail === null)).toBeGreaterThan(0.01);
    expect(share((u) => u.surname === null)).toBeGreaterThan(0.005);
    expect(share((u) => !u.accountEnabled)).toBeGreaterThan(0.005);
    const leaders = users.filter((u) => /^(Chief|VP|Director|General Counsel|Head of)/.test(u.jobTitle ?? ''));
    expect(leaders.length).toBeGreaterThan(11);
    expect(leaders.every((u) => u.mail && u.surname && u.accountEnabled)).toBe(true);
  });

  it('builds one reporting tree: every member reaches the CEO, no cycles', () => {
    const { tenant } = generateTenant(options);
    const members = [...tenant.users.values()].filter((u) => u.userType === 'Member');
    const ceo = members.filter((u) => u.managerId === null);
    expect(ceo.map((u) => u.jobTitle)).toEqual(['Chief Executive Officer']);
    for (const user of members) {
      let current = user;
      for (let steps = 0; current.managerId; steps++) {
        expect(steps).toBeLessThan(20);
        current = tenant.users.get(current.managerId)!;
        expect(current.department === user.department || current.jobTitle === 'Chief Executive Officer').toBe(true);
      }
      expect(current.id).toBe(ceo[0].id);
    }
  });

  it('signs in a Global Administrator by default and knows an ordinary member', () => {
    const { tenant, adminId, memberId } = generateTenant(options);
    expect(tenant.adminIds.has(adminId)).toBe(true);
    expect(tenant.users.get(adminId)?.department).toBe('IT');
    expect(tenant.adminIds.has(memberId)).toBe(false);
    expect(tenant.users.get(memberId)?.accountEnabled).toBe(true);
  });

  it('nests groups: a group of groups, department groups holding team groups, Unified groups without groups', () => {
    const { tenant } = generateTenant(options);
    const byName = new Map([...tenant.groups.values()].map((g) => [g.displayName, g]));
    expect(tenant.groups.size).toBe(40);
    const allStaff = byName.get('All Staff')!;
    expect([...allStaff.members].every((id) => tenant.groups.has(id))).toBe(true);
    expect([...byName.get('Engineering')!.members]).toContain(byName.get('Platform Engineering')!.id);
    expect([...byName.get('Sales')!.members]).toContain(byName.get('Sales EMEA')!.id);
    expect(byName.get('Alumni Network')!.members.size).toBe(0);
    for (const group of tenant.groups.values()) {
      if (group.groupTypes.includes('Unified'))
        expect([...group.members].some((id) => tenant.groups.has(id))).toBe(false);
      for (const id of group.members) expect(tenant.users.has(id) || tenant.groups.has(id)).toBe(true);
    }
  });

  it('keeps everyone reachable when fewer groups are asked for than the nested set', () => {
    const { tenant } = generateTenant({ ...options, groups: 3 });
    expect([...tenant.groups.values()].map((g) => g.displayName)).toEqual(['All Staff', 'Engineering', 'Sales']);
    const engineering = [...tenant.groups.values()].find((g) => g.displayName === 'Engineering')!;
    const engineers = [...tenant.users.values()].filter((u) => u.department === 'Engineering');
    expect([...engineering.members].sort()).toEqual(engineers.map((u) => u.id).sort());
  });

  it('gives a share of members real JPEG and PNG photos up to 648×648, tens of kB, none to guests', () => {
    const { tenant } = generateTenant(options);
    const members = [...tenant.users.values()].filter((u) => u.userType === 'Member');
    expect(tenant.photos.size / members.length).toBeGreaterThan(0.5);
    expect(tenant.photos.size / members.length).toBeLessThan(0.7);
    expect([...tenant.users.values()].filter((u) => u.userType === 'Guest').some((u) => tenant.photos.has(u.id))).toBe(
      false,
    );
    const photos = [...tenant.photos.values()];
    const jpegPhoto = photos.find((p) => p.contentType === 'image/jpeg')!;
    const pngPhoto = photos.find((p) => p.contentType === 'image/png')!;
    expect(photos.filter((p) => p.contentType === 'image/jpeg').length).toBeGreaterThan(photos.length / 2);
    expect(jpegPhoto.etag).toMatch(/^"[0-9A-F]{8}"$/);
    expect(jpegPhoto.sizes).toEqual([48, 64, 96, 120, 240, 360, 432, 504, 648]);
    const decoded = jpeg.decode(jpegPhoto.bytes);
    expect([decoded.width, decoded.height]).toEqual([648, 648]);
    expect(jpegPhoto.bytes.length).toBeGreaterThan(20_000);
    expect(jpegPhoto.bytes.length).toBeLessThan(100_000);
    expect(jpeg.decode(jpegPhoto.bytesAt(96)).width).toBe(96);
    expect(decodePng(pngPhoto.bytes)).toEqual({ width: 648, height: 648, pixels: 648 * (1 + 648 * 3) });
    // Two people's photos differ in their bytes, not only in their etags.
    const twin = photos.find((p) => p !== jpegPhoto && p.contentType === 'image/jpeg')!;
    expect(twin.bytes.equals(jpegPhoto.bytes)).toBe(false);
  });
});

describe('TenantStore change log', () => {
  it('reports each changed user once, at its latest state, within a window', () => {
    const store = new TenantStore(generateTenant({ ...options, users: 50 }).tenant);
    const [a, b, c] = [...store.tenant.users.values()];
    const start = store.seq;
    store.upsertUser({ id: a.id, jobTitle: 'First' });
    store.upsertUser({ id: b.id, jobTitle: 'Second' });
    store.upsertUser({ id: a.id, jobTitle: 'Third' });
    const middle = store.seq;
    store.deleteUser(c.id, false, new Date());
    const all = store.changesAfter(start, store.seq, null, 100).changes;
    expect(all.map((ch) => [ch.user.id, ch.removed])).toEqual([
      [b.id, null],
      [a.id, null],
      [c.id, 'changed'],
    ]);
    // A user changed again after the window's end is left for the next round.
    const window = store.changesAfter(start, middle, null, 100).changes;
    expect(window.map((ch) => ch.user.id)).toEqual([b.id, a.id]);
    expect(store.changesAfter(middle, store.seq, null, 100).changes.map((ch) => ch.user.id)).toEqual([c.id]);
  });

  it('pages through changes with a position and remembers manager moves', () => {
    const store = new TenantStore(generateTenant({ ...options, users: 50 }).tenant);
    const users = [...store.tenant.users.values()];
    const boss = store.upsertUser({
      ...users[0],
      id: 'a0000000-0000-4000-8000-000000000000',
      userPrincipalName: 'boss@contoso.com',
    });
    const start = store.seq;
    for (const user of users.slice(1, 11)) store.upsertUser({ id: user.id, managerId: boss.id });
    const first = store.changesAfter(start, store.seq, null, 4);
    expect(first.changes).toHaveLength(4);
    const second = store.changesAfter(start, store.seq, first.next, 4);
    const third = store.changesAfter(start, store.seq, second.next, 4);
    expect(third.next).toBeNull();
    const ids = [...first.changes, ...second.changes, ...third.changes].map((ch) => ch.user.id);
    expect(ids).toEqual(users.slice(1, 11).map((u) => u.id));
    expect(first.changes[0].touched).toEqual(new Set(['manager']));
  });

  it('permanent deletion removes the user from groups and photos', () => {
    const store = new TenantStore(generateTenant({ ...options, users: 200 }).tenant);
    const group = [...store.tenant.groups.values()].find((g) =>
      [...g.members].some((id) => store.tenant.photos.has(id)),
    )!;
    const victim = [...group.members].find((id) => store.tenant.photos.has(id))!;
    expect(store.deleteUser(victim, true, new Date())).toBe(true);
    expect(group.members.has(victim)).toBe(false);
    expect(store.tenant.photos.has(victim)).toBe(false);
    expect(store.findUser(victim)).toBeUndefined();
    expect(store.deleteUser(victim, true, new Date())).toBe(false);
  });
});

/** A small PNG reader: checks signature, chunk CRCs and that IDAT inflates to the pixel rows. */
function decodePng(bytes: Buffer): { width: number; height: number; pixels: number } {
  expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  let offset = 8;
  let width = 0;
  let height = 0;
  const data: Buffer[] = [];
  while (offset < bytes.length) {
    const length = bytes.readUInt32BE(offset);
    const type = bytes.toString('latin1', offset + 4, offset + 8);
    const body = bytes.subarray(offset + 8, offset + 8 + length);
    expect(bytes.readUInt32BE(offset + 8 + length)).toBe(crc32(bytes.subarray(offset + 4, offset + 8 + length)));
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
    }
    if (type === 'IDAT') data.push(body);
    offset += 12 + length;
  }
  return { width, height, pixels: inflateSync(Buffer.concat(data)).length };
}
