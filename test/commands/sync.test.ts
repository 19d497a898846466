import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSync } from '../../src/sync/engine.ts';
import { loadRun } from '../../src/sync/runs.ts';
import { REPO_ROOT, runCli } from '../helpers/cli.ts';
import { type SyncFixture, startSyncFixture } from '../helpers/sync.ts';

/**
 * `aad-sync sync` as a separate process: registering a tenant from the terminal, and a run killed with
 * SIGKILL halfway through 50,000 people, after which the directory is unchanged and the next run takes over.
 */

const USERS = 50_000;
const key = randomBytes(32);
let f: SyncFixture;
let env: Record<string, string>;
let sourceId: string;

beforeAll(async () => {
  f = await startSyncFixture({ users: USERS, groups: 10, seed: 'engine-cli', photoShare: 0 }, key);
  await f.emu.control('POST', 'consent', {});
  env = {
    // The child must use this test's database: an embedded server it started would be orphaned by SIGKILL.
    DATABASE_URL: f.database.url,
    AZURE_CLIENT_ID: f.emu.emulator.clientId,
    AZURE_CLIENT_SECRET: f.emu.emulator.clientSecret,
    AZURE_AUTHORITY_HOST: f.emu.emulator.authorityHost,
    GRAPH_BASE_URL: f.emu.emulator.graphBaseUrl,
    ENCRYPTION_KEY: key.toString('base64'),
    NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS ?? '',
  };
});
afterAll(async () => {
  await f?.stop();
});

/** Requests that read people: a full read lists `/users` (its partitions and their counts), a delta round `/users/delta`. */
const pagesRead = () => {
  const requests = f.emu.emulator.requests();
  return (requests['/v1.0/users'] ?? 0) + (requests['/v1.0/users/delta'] ?? 0);
};

/** A full sync in a child process, with its stdout. */
function startFullSync() {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/aad-sync.js'), 'sync', '--full'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout })),
  );
  return { process: child, exited };
}

/**
 * Waits until a sixth of the tenant's pages (of 100, as Graph pages `/users` with `$expand`) were read since
 * `before`, past the 46 requests that count and start tracking: well inside a run, long before its apply.
 */
async function untilPagesRead(before: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (pagesRead() - before < 46 + USERS / 100 / 6) {
    if (Date.now() > deadline) throw new Error('the sync never got going');
    await sleep(20);
  }
}

describe('aad-sync sync', () => {
  it('registers a tenant from the terminal, syncs it in full, then finds nothing to write', async () => {
    const first = await runCli(['sync', '--register-tenant', f.emu.emulator.tenantId], { env, timeoutMs: 120_000 });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const registered = /Registered source ([0-9a-f-]{36}) for tenant/.exec(first.stdout);
    expect(registered, first.stdout).not.toBeNull();
    sourceId = registered![1];
    expect(first.stdout).toMatch(/Reading people: \d+ read/);
    expect(first.stdout).toMatch(/^Sync succeeded \(full\) in [\d.]+ s: 50000 read, \d+ created, 0 updated/m);
    const [{ n }] = await f.database.sql`
      select count(*)::int as n from profiles where source_id = ${sourceId} and active`;
    expect(first.stdout).toContain(`${n} created`);

    const second = await runCli(['sync'], { env, timeoutMs: 60_000 });
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/^Sync succeeded \(delta\) in [\d.]+ s: 0 read, 0 created, 0 updated/m);

    const wrong = await runCli(['sync', '--source', 'not-a-source'], { env });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('There is no source not-a-source.');
  }, 180_000);

  it('leaves the directory unchanged when killed mid-run; the next run takes over the stale lock', async () => {
    expect(sourceId).toBeDefined();
    const changed = [...f.emu.emulator.tenant.users.keys()].slice(0, 100);
    await f.emu.control(
      'POST',
      'users',
      changed.map((id) => ({ id, jobTitle: 'Killed Mid-Run Tester' })),
    );
    const [{ inDirectory }] = await f.database.sql`
      select count(*)::int as "inDirectory" from profiles
      where source_id = ${sourceId} and active and graph_id = any(${changed}::text[])`;
    expect(inDirectory).toBeGreaterThan(90);
    const before = await f.fingerprint(sourceId);
    const pagesBefore = pagesRead();

    const child = startFullSync();
    await untilPagesRead(pagesBefore);
    child.process.kill('SIGKILL');
    expect((await child.exited).signal).toBe('SIGKILL');

    expect(await f.fingerprint(sourceId)).toBe(before);
    const [dead] = await f.database.sql`select id from sync_runs where source_id = ${sourceId} and status = 'running'`;
    expect(dead).toBeDefined();

    await sleep(1_200);
    // A manual run: the source registered from the terminal has no schedule (scheduled runs need sync_enabled).
    const next = await runSync(f.depsWith({ timing: { staleAfterMs: 1_000 } }), {
      sourceId,
      trigger: 'manual',
      requestedBy: 'cli',
    });
    expect(next).toMatchObject({ status: 'succeeded', counts: { updated: inDirectory, created: 0, removed: 0 } });
    expect((await loadRun(f.database.db, next.runId))!.details.tookOverStaleRun).toBe(Number(dead.id));
    expect(await loadRun(f.database.db, Number(dead.id))).toMatchObject({ status: 'failed', errorCode: 'stale' });
  }, 180_000);

  it('stops cleanly on Ctrl-C: the run is recorded as cancelled, nothing is applied, no lock is left', async () => {
    await f.emu.control('POST', 'users', [{ id: [...f.emu.emulator.tenant.users.keys()][3], jobTitle: 'Interrupted' }]);
    const before = await f.fingerprint(sourceId);
    const child = startFullSync();
    await untilPagesRead(pagesRead());
    child.process.kill('SIGINT');
    const exit = await child.exited;
    expect(exit.code).toBe(130);
    expect(exit.stdout).toMatch(/^Sync cancelled after [\d.]+ s; nothing was changed\.$/m);
    expect(await f.fingerprint(sourceId)).toBe(before);
    const runs = await f.database.sql`
      select status, error_code from sync_runs where source_id = ${sourceId} order by id desc limit 1`;
    expect(runs[0]).toEqual({ status: 'failed', error_code: 'cancelled' });
    const [{ status }] = await f.database.sql`select status from sources where id = ${sourceId}`;
    expect(status).toBe('active');
  }, 120_000);
});
