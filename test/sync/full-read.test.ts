import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { UPN_FIRST_CHARACTERS } from '../../src/azure/users-full.ts';
import { runSync, type SyncDeps, type SyncRequest } from '../../src/sync/engine.ts';
import { fullReadOf as fullReadOfRun, profileContent } from '../helpers/full-read.ts';
import { type SyncFixture, startSyncFixture } from '../helpers/sync.ts';

/**
 * Full reads in parallel partitions (azure/users-full.ts) through the engine, the emulator and a real
 * PostgreSQL: the same directory as one sequential read on a tenant built to stress the split, the
 * fallbacks when the partitions miss someone, changes made during the read, and throttling storms.
 */

let f: SyncFixture;
let partitioned: SyncDeps;
let sequential: SyncDeps;

beforeAll(async () => {
  f = await startSyncFixture({ users: 1000, groups: 5, seed: 'full-read', photoShare: 0 });
  partitioned = f.depsWith({ fullReads: { minPartitionedUsers: 0, maxConcurrency: 16, splitAbove: 100 } });
  sequential = f.depsWith({ fullReads: { partitioned: false } });
});
afterAll(async () => {
  await f?.stop();
});
beforeEach(async () => {
  await f.emu.control('POST', 'reset');
  await f.emu.control('POST', 'users', stressUsers());
});

const SECOND = [...UPN_FIRST_CHARACTERS, '@'];

/**
 * UPNs starting with every character a UPN may start with, a one-letter alias (`a@…`), guests' `#EXT#`
 * names, people without mail, and 'q' heavy enough (3 × 45 people) to be split by its second character.
 */
function stressUsers(): Record<string, unknown>[] {
  const person = (upn: string, n: number, mail = true) => ({
    userPrincipalName: upn,
    displayName: `Stress ${n}`,
    givenName: `Stress${n}`,
    surname: 'Tester',
    mail: mail ? `stress${n}@contoso.com` : null,
  });
  const users: Record<string, unknown>[] = [];
  let n = 0;
  for (const c of UPN_FIRST_CHARACTERS) {
    users.push(person(`${c}${c}first${n}@contoso.com`, n++));
    users.push(person(`${c}_partner.example#EXT#@contoso.onmicrosoft.com`, n++, n % 3 !== 0));
  }
  users.push(person('a@contoso.com', n++), person('9@contoso.com', n++));
  for (const c of SECOND) {
    const alias = c === '@' ? 'q' : `q${c}`;
    for (let i = 0; i < (c === '@' ? 1 : 3); i++) users.push(person(`${alias}${c === '@' ? '' : i}@contoso.com`, n++));
  }
  return users;
}

const sync = (deps: SyncDeps, sourceId: string, extra: Partial<SyncRequest> = {}) =>
  runSync(deps, { sourceId, trigger: 'cli', requestedBy: 'test', ...extra });

const content = (sourceId: string) => profileContent(f, sourceId);
const fullReadOf = (sourceId: string) => fullReadOfRun(f, sourceId);

describe('partitioned full reads', () => {
  it('give the same directory as one sequential read, person for person', async () => {
    const [a, b] = [await f.createSource(), await f.createSource()];
    const before = f.emu.emulator.requests()['/v1.0/users'] ?? 0;
    expect((await sync(partitioned, a, { mode: 'full' })).status).toBe('succeeded');
    expect((await sync(sequential, b, { mode: 'full' })).status).toBe('succeeded');

    const tenant = f.emu.emulator.tenant.users.size;
    const report = await fullReadOf(a);
    expect(report).toMatchObject({ strategy: 'partitioned', expected: tenant, read: tenant });
    expect(report.partitions).toBeGreaterThan(UPN_FIRST_CHARACTERS.length);
    expect(report.peakConcurrency).toBeGreaterThan(1);
    expect(report.peakConcurrency).toBeLessThanOrEqual(16);
    expect((f.emu.emulator.requests()['/v1.0/users'] ?? 0) - before).toBeGreaterThan(report.partitions);
    expect(await fullReadOf(b)).toMatchObject({ strategy: 'sequential', read: tenant });

    const [ours, reference] = [await content(a), await content(b)];
    expect(ours.rows).toBeGreaterThan(900);
    expect(ours).toEqual(reference);
    const managed = await f.database.sql`
      select count(*)::int as n from profiles where source_id = ${a} and manager_external_id is not null`;
    expect(managed[0].n).toBeGreaterThan(500);
  });

  it('read sequentially, and say why, when a UPN starts outside the documented characters', async () => {
    await f.emu.control('POST', 'users', [
      {
        userPrincipalName: 'élodie@contoso.com',
        displayName: 'Élodie',
        givenName: 'Élodie',
        surname: 'Martin',
        mail: 'elodie@contoso.com',
      },
    ]);
    const source = await f.createSource();
    expect((await sync(partitioned, source, { mode: 'full' })).status).toBe('succeeded');
    const report = await fullReadOf(source);
    expect(report.strategy).toBe('sequential');
    expect(report.fallback).toMatch(
      /partitions by the first character of the UPN count \d+ people where Graph counts \d+/,
    );
    const rows = await f.profiles(source);
    expect(rows.some((r) => r.email === 'elodie@contoso.com')).toBe(true);
  });

  it('start again sequentially when someone appears in a partition during the read', async () => {
    const source = await f.createSource();
    await f.emu.control('POST', 'faults', { latencyMs: 20 });
    let added: Promise<unknown> | undefined;
    const slowReader = f.depsWith({ fullReads: { minPartitionedUsers: 0, maxConcurrency: 2 } });
    const outcome = await sync(slowReader, source, {
      mode: 'full',
      progress: {
        onProgress: (report) => {
          // '~' is among the smallest partitions, read last: this person lands in it before it is read.
          if (report.phase === 'reading' && !added)
            added = f.emu.control('POST', 'users', [
              {
                userPrincipalName: '~late@contoso.com',
                displayName: 'Late',
                givenName: 'Late',
                surname: 'Comer',
                mail: 'late@contoso.com',
              },
            ]);
        },
      },
    });
    await added;
    await f.emu.control('POST', 'faults', { latencyMs: 0 });
    expect(outcome.status).toBe('succeeded');
    const report = await fullReadOf(source);
    expect(report.strategy).toBe('sequential');
    expect(report.fallback).toMatch(/read \d+ people where Graph counted \d+: read again in one sequential read/);
    expect((await f.profiles(source)).some((r) => r.email === 'late@contoso.com')).toBe(true);
  });

  it('miss nothing changed while they run: the next delta round replays it', async () => {
    const source = await f.createSource();
    await f.emu.control('POST', 'faults', { latencyMs: 10 });
    const everyone = [...f.emu.emulator.tenant.users.keys()];
    let changed: Promise<unknown> | undefined;
    const deps = f.depsWith({ fullReads: { minPartitionedUsers: 0, maxConcurrency: 4 } });
    const full = await sync(deps, source, {
      mode: 'full',
      progress: {
        onProgress: (report) => {
          if (report.phase === 'reading' && !changed)
            changed = f.emu.control(
              'POST',
              'users',
              everyone.map((id) => ({ id, jobTitle: 'Changed mid-read' })),
            );
        },
      },
    });
    await changed;
    await f.emu.control('POST', 'faults', { latencyMs: 0 });
    expect(full.status).toBe('succeeded');
    const titles = async () =>
      (await f.profiles(source)).filter((r) => r.active).map((r) => r.job_title === 'Changed mid-read');
    expect((await titles()).some((isNew) => !isNew)).toBe(true);

    const delta = await sync(deps, source);
    expect(delta.mode).toBe('delta');
    expect((await titles()).every(Boolean)).toBe(true);
  });
});

describe('throttled full reads', () => {
  it('complete through a throttling storm, backing off, with the same directory', async () => {
    const [reference, stormed] = [await f.createSource(), await f.createSource()];
    expect((await sync(sequential, reference, { mode: 'full' })).status).toBe('succeeded');
    // Every fourth request is throttled (Retry-After: 0 keeps the test short; the bucket's own 429s, with
    // waits of seconds, are in the next test); the read halves its concurrency at each and grows it again.
    await f.emu.control('POST', 'faults', { throttleEvery: 4, retryAfterSeconds: 0 });
    const outcome = await sync(partitioned, stormed, { mode: 'full' });
    await f.emu.control('POST', 'faults', { throttleEvery: 0, retryAfterSeconds: 1 });
    expect(outcome.status, outcome.errorMessage).toBe('succeeded');
    const report = await fullReadOf(stormed);
    expect(report.strategy).toBe('partitioned');
    expect(report.throttled).toBeGreaterThan(20);
    expect(report.peakConcurrency).toBeGreaterThan(1);
    expect(await content(stormed)).toEqual(await content(reference));
  });

  it('change nothing when the storm outlasts the retry budget', async () => {
    const source = await f.createSource();
    expect((await sync(partitioned, source, { mode: 'full' })).status).toBe('succeeded');
    const before = await f.fingerprint(source);
    await f.emu.control('POST', 'users', [
      { id: [...f.emu.emulator.tenant.users.keys()][5], jobTitle: 'Never applied' },
    ]);
    await f.emu.control('POST', 'throttle', { limit: 20, windowSeconds: 600 });
    const outcome = await sync(partitioned, source, { mode: 'full' });
    expect(outcome.status).toBe('failed');
    expect(outcome.errorMessage).toMatch(/throttled with 429/);
    expect(await f.fingerprint(source)).toBe(before);
  });
});
