import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';
import { startTestDatabase, type TestDatabase } from '../helpers/database.ts';

let database: TestDatabase;
let workDir: string;

beforeAll(async () => {
  database = await startTestDatabase({ migrate: false });
  workDir = mkdtempSync(path.join(os.tmpdir(), 'aad-sync-cli-'));
  chmodSync(workDir, 0o755);
});
afterAll(async () => {
  await database?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe('aad-sync migrate', () => {
  it('migrates the database named by DATABASE_URL', async () => {
    const result = await runCli(['migrate'], { env: { DATABASE_URL: database.url } });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('DATABASE_URL');
    const [{ count }] =
      await database.sql`select count(*)::int as count from information_schema.tables where table_name = 'profiles'`;
    expect(count).toBe(1);
  });

  it('starts the embedded PostgreSQL in .data/postgres when DATABASE_URL is unset, and keeps its data', async () => {
    const first = await runCli(['migrate'], { cwd: workDir });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('embedded PostgreSQL');
    const second = await runCli(['migrate'], { cwd: workDir });
    expect(second.code).toBe(0);
    // The cluster was initialised once and survived the restart: its data files are still there.
    expect(existsSync(path.join(workDir, '.data', 'postgres', 'PG_VERSION'))).toBe(true);
  }, 60_000);

  it('reports an unreachable DATABASE_URL in one line and exits 1', async () => {
    const result = await runCli(['migrate'], { env: { DATABASE_URL: 'postgres://nobody:x@127.0.0.1:1/none' } });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^aad-sync migrate: cannot migrate PostgreSQL at 127\.0\.0\.1:1\/none \(.*ECONNREFUSED/,
    );
    expect(result.stderr).toContain('check DATABASE_URL');
    expect(result.stderr).not.toContain('nobody:x');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('refuses a malformed DATABASE_URL before touching anything', async () => {
    const result = await runCli(['migrate'], { env: { DATABASE_URL: 'mysql://localhost/x' }, cwd: workDir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('DATABASE_URL must be a postgres:// or postgresql:// URL');
    expect(result.stderr).toContain('npm run demo');
  });
});

describe('aad-sync command frame', () => {
  it('lists every command on --help', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    for (const name of ['serve', 'demo', 'emulator', 'sync', 'whois', 'migrate', 'bench']) {
      expect(result.stdout).toContain(`aad-sync ${name}`);
    }
  });

  it('rejects unknown commands and flags with exit 2', async () => {
    expect((await runCli(['frobnicate'])).code).toBe(2);
    const flag = await runCli(['migrate', '--bogus']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('Usage: aad-sync migrate');
  });
});
