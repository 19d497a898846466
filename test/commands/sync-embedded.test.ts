import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase } from '../../src/db/client.ts';
import { startEmbeddedPostgres } from '../../src/db/embedded.ts';
import { runCli } from '../helpers/cli.ts';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.ts';
import { pagesRead, pagesReadSince } from '../helpers/fault-stack.ts';

/**
 * Ctrl-C on `aad-sync sync` with its own embedded PostgreSQL (no DATABASE_URL, data in `.data/postgres` of the
 * folder it runs in), halfway through a full read: the run is recorded as cancelled, nothing is applied, the
 * embedded server stops with the command, and the next run applies everything. (test/commands/sync.test.ts
 * has the same on DATABASE_URL, with a 50,000-person tenant.)
 */

let emu: TestEmulator;
let folder: string;
let env: Record<string, string>;

beforeAll(async () => {
  emu = await startTestEmulator({ users: 2_000, groups: 2, seed: 'sync-embedded', photoShare: 0 });
  await emu.control('POST', 'consent', {});
  folder = mkdtempSync(path.join(os.tmpdir(), 'aad-sync-cli-'));
  // As root the embedded server runs as the `postgres` user, who must reach its data folder.
  chmodSync(folder, 0o755);
  env = {
    AZURE_CLIENT_ID: emu.emulator.clientId,
    AZURE_CLIENT_SECRET: emu.emulator.clientSecret,
    AZURE_AUTHORITY_HOST: emu.emulator.authorityHost,
    GRAPH_BASE_URL: emu.emulator.graphBaseUrl,
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS ?? '',
  };
});
afterAll(async () => {
  await emu?.close();
  if (folder) rmSync(folder, { recursive: true, force: true });
});

const dataDir = () => path.join(folder, '.data', 'postgres');

/** The embedded server is not running: PostgreSQL removes postmaster.pid when it stops cleanly. */
const serverStopped = () => !existsSync(path.join(dataDir(), 'postmaster.pid'));

/** Starts the command's embedded server from the test, queries it, and stops it again. */
async function query<T>(read: (sql: ReturnType<typeof connectDatabase>['sql']) => Promise<T>): Promise<T> {
  const server = await startEmbeddedPostgres({ dataDir: dataDir(), persistent: true });
  const database = connectDatabase(server.url);
  try {
    return await read(database.sql);
  } finally {
    await database.close();
    await server.stop();
  }
}

describe('aad-sync sync on the embedded PostgreSQL', () => {
  it('Ctrl-C mid-run: cancelled, nothing applied, the server stopped; the next run applies everything', async () => {
    const first = await runCli(['sync', '--register-tenant', emu.emulator.tenantId], {
      env,
      cwd: folder,
      timeoutMs: 120_000,
    });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^Sync succeeded \(full\)/m);
    expect(serverStopped()).toBe(true);

    const changed = [...emu.emulator.tenant.users.keys()].slice(0, 50);
    await emu.control(
      'POST',
      'users',
      changed.map((id) => ({ id, jobTitle: 'Interrupted Engineer' })),
    );
    await emu.control('POST', 'faults', { latencyMs: 250 });
    const interrupt = new AbortController();
    const before = pagesRead(emu);
    const cancelled = runCli(['sync', '--full'], { env, cwd: folder, signal: interrupt.signal, timeoutMs: 120_000 });
    await pagesReadSince(emu, before, 3);
    interrupt.abort('SIGINT');
    const result = await cancelled;
    expect(result.code, result.stderr).toBe(130);
    expect(result.stdout).toMatch(/^Sync cancelled after [\d.]+ s; nothing was changed\.$/m);
    expect(result.stderr).toBe('');
    expect(serverStopped()).toBe(true);

    const afterCancel = await query(async (sql) => ({
      runs: await sql`select status, error_code from sync_runs order by id desc limit 1`,
      running: (await sql`select 1 from sync_runs where status = 'running'`).length,
      applied: (await sql`select 1 from profiles where job_title = 'Interrupted Engineer'`).length,
    }));
    expect(afterCancel).toEqual({ runs: [{ status: 'failed', error_code: 'cancelled' }], running: 0, applied: 0 });

    await emu.control('POST', 'faults', { latencyMs: 0 });
    const next = await runCli(['sync'], { env, cwd: folder, timeoutMs: 120_000 });
    expect(next.code, next.stderr).toBe(0);
    const updated = Number(
      /^Sync succeeded \(\w+\) in [\d.]+ s: \d+ read, 0 created, (\d+) updated/m.exec(next.stdout)?.[1],
    );
    expect(updated).toBeGreaterThan(40);
    expect(
      await query(async (sql) => (await sql`select 1 from profiles where job_title = 'Interrupted Engineer'`).length),
    ).toBe(updated);
    expect(serverStopped()).toBe(true);
  }, 300_000);
});
