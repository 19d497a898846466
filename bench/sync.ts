import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { startThrowawayDatabase } from '../src/db/throwaway.ts';
import { type EntraEmulator, startEntraEmulator } from '../src/emulators/entra/index.ts';
import type { RunOutcome } from '../src/sync/engine.ts';

/**
 * The sync rows of DESIGN §7, measured end to end: the emulator over HTTPS in this process, a real
 * PostgreSQL, and each run in a child process of its own (`bench/sync-child.ts`, the production wiring),
 * so `peak_rss_mb` is the sync's alone. `npx tsx bench/sync.ts [--quick]` prints one JSON line each.
 */

export interface SyncBenchLine {
  name: string;
  users: number;
  wall_ms: number;
  peak_rss_mb: number;
  graph_requests: number;
  rows_written: number;
  mode: string;
  status: string;
  [extra: string]: unknown;
}

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const CHILD = path.join(REPO_ROOT, 'bench', 'sync-child.ts');

export interface Bench {
  emulator: EntraEmulator;
  ca: string;
  databaseUrl: string;
  sql: postgres.Sql;
  env: Record<string, string>;
}

export function control(bench: Bench, method: string, route: string, body?: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${bench.emulator.graphBaseUrl}/_emulator/${route}`,
      { method, ca: bench.ca, headers: body === undefined ? {} : { 'content-type': 'application/json' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

export function graphRequests(emulator: EntraEmulator): Record<string, number> {
  return Object.fromEntries(Object.entries(emulator.requests()).filter(([route]) => route.startsWith('/v1.0/')));
}

export function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

export async function addSource(bench: Bench, photoSync = false): Promise<string> {
  const [{ id }] = await bench.sql`
    insert into sources (slack_team_id, tenant_id, auth_mode, status, photo_sync)
    values ('bench', ${bench.emulator.tenantId}, 'application', 'active', ${photoSync}) returning id`;
  return id;
}

/** Runs a bench script in a child process of its own and returns its standard output. */
export function runChild(script: string, args: string[], env: Record<string, string>, name: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(stdout) : reject(new Error(`${name}: the sync process exited ${code}: ${stderr.trim()}`)),
    );
  });
}

/** Runs one sync in a child process; the emulator's request counts before and after give its Graph cost. */
async function measure(
  bench: Bench,
  name: string,
  sourceId: string,
  mode: 'auto' | 'full',
  extra: Record<string, unknown> = {},
): Promise<SyncBenchLine & { requests: Record<string, number> }> {
  const before = graphRequests(bench.emulator);
  const output = await runChild(CHILD, [sourceId, mode], bench.env, name);
  const result = JSON.parse(output.trim().split('\n').pop()!) as {
    outcome: RunOutcome;
    wallMs: number;
    peakRssMb: number;
  };
  const after = graphRequests(bench.emulator);
  const requests = Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - (before[k] ?? 0)]));
  const c = result.outcome.counts;
  const [run] = await bench.sql`
    select details -> 'timingsMs' as phases, details -> 'fullRead' as full_read, details -> 'graph' as graph
    from sync_runs where id = ${result.outcome.runId}`;
  if (result.outcome.status !== 'succeeded') {
    throw new Error(`${name}: the sync ${result.outcome.status}: ${result.outcome.errorMessage ?? ''}`);
  }
  return {
    name,
    users: bench.emulator.tenant.users.size,
    wall_ms: result.wallMs,
    peak_rss_mb: result.peakRssMb,
    graph_requests: sum(requests),
    rows_written: c.created + c.updated + c.removed + c.photos,
    mode: result.outcome.mode,
    status: result.outcome.status,
    read: c.read,
    peak_concurrency: run?.full_read?.peakConcurrency ?? 1,
    throttled_429: run?.graph?.throttled ?? 0,
    full_read: run?.full_read ? { strategy: run.full_read.strategy, partitions: run.full_read.partitions } : null,
    phases_ms: run?.phases,
    ...extra,
    requests,
  };
}

export async function startBench(users: number, photoShare: number): Promise<Bench & { stop(): Promise<void> }> {
  const server = await startThrowawayDatabase({ prefix: 'aad-sync-bench-' });
  const emulator = await startEntraEmulator({ users, groups: 40, seed: 'bench-sync', photoShare });
  const bench: Bench = {
    emulator,
    ca: readFileSync(emulator.caCertPath, 'utf8'),
    databaseUrl: server.url,
    sql: postgres(server.url, { onnotice: () => {} }),
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? os.tmpdir(),
      DATABASE_URL: server.url,
      AZURE_CLIENT_ID: emulator.clientId,
      AZURE_CLIENT_SECRET: emulator.clientSecret,
      AZURE_AUTHORITY_HOST: emulator.authorityHost,
      GRAPH_BASE_URL: emulator.graphBaseUrl,
      ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      NODE_EXTRA_CA_CERTS: emulator.caCertPath,
      LOG_LEVEL: 'warn',
    },
  };
  await control(bench, 'POST', 'consent', {});
  return {
    ...bench,
    stop: async () => {
      await bench.sql.end();
      await emulator.close();
      await server.stop();
    },
  };
}

/** Gives 1% of the tenant's users a new job title (the same people on every run); returns their ids. */
export async function changeOnePercent(bench: Bench): Promise<string[]> {
  const ids = [...bench.emulator.tenant.users.keys()];
  const changed = ids.filter((_, i) => i % 100 === 7);
  for (let i = 0; i < changed.length; i += 500) {
    const batch = changed.slice(i, i + 500).map((id) => ({ id, jobTitle: `Benchmarked ${i}` }));
    await control(bench, 'POST', 'users', batch);
  }
  return changed;
}

const strip = ({ requests: _requests, ...line }: SyncBenchLine & { requests: Record<string, number> }) => line;

/** Tenant sizes of the sync benchmarks: people in the main tenant, and in the one where everyone has a photo. */
export function syncBenchSizes(options: { quick?: boolean } = {}): { users: number; photoUsers: number } {
  return { users: options.quick ? 10_000 : 100_000, photoUsers: options.quick ? 2_000 : 10_000 };
}

/** Full 100k at 0 ms, at 100 ms per request and at 100 ms + 1 ms per object; delta after 1% changed, unchanged re-runs, photos of 10k. */
export async function* runSyncBenchmarks(options: { quick?: boolean } = {}): AsyncGenerator<SyncBenchLine> {
  const { users, photoUsers } = syncBenchSizes(options);

  const main = await startBench(users, 0);
  try {
    const sourceId = await addSource(main);
    const full = await measure(main, 'sync_full_0ms', sourceId, 'full', { target: 'wall ≤ 15 s, peak RSS ≤ 300 MB' });
    yield strip({ ...full, ok: full.wall_ms <= 15_000 && full.peak_rss_mb <= 300 });

    const unchanged = await measure(main, 'sync_unchanged_full', sourceId, 'full', { target: '0 rows written' });
    yield strip({ ...unchanged, ok: unchanged.rows_written === 0 });

    const changed = await changeOnePercent(main);
    const [{ valid }] = await main.sql`
      select count(*)::int as valid from profiles where source_id = ${sourceId} and active and graph_id = any(${changed})`;
    const delta = await measure(main, 'sync_delta_1pct', sourceId, 'auto', {
      changed: valid,
      target: `wall ≤ 5% of full (${Math.round(full.wall_ms * 0.05)} ms), rows written = rows changed`,
    });
    yield strip({ ...delta, ok: delta.wall_ms <= full.wall_ms * 0.05 && delta.rows_written === valid });

    const quiet = await measure(main, 'sync_unchanged_delta', sourceId, 'auto', { target: '0 rows written' });
    yield strip({ ...quiet, ok: quiet.rows_written === 0 });

    // The floor: one sequential read of pages of 999 (Graph's largest), whatever pages the product reads.
    const floor = Math.ceil(main.emulator.tenant.users.size / 999) * 100;
    await control(main, 'POST', 'faults', { latencyMs: 100 });
    const slow = await measure(main, 'sync_full_100ms', await addSource(main), 'full');
    yield strip({
      ...slow,
      floor_ms: floor,
      ratio_vs_floor: Math.round((slow.wall_ms / floor) * 100) / 100,
      target: `wall ≤ 1.2 × ceil(users / 999) × 100 ms = ${Math.round(1.2 * floor)} ms (aim ≤ 0.5 × floor)`,
      ok: slow.wall_ms <= 1.2 * floor,
    });

    await control(main, 'POST', 'faults', { latencyMs: 100, latencyPerItemMs: 1 });
    const perItem = await measure(main, 'sync_full_latency_per_item', await addSource(main), 'full');
    yield strip({
      ...perItem,
      sequential_999_ms: floor + main.emulator.tenant.users.size,
      target: 'wall ≤ 30 s at 100 ms + 1 ms per object returned',
      ok: perItem.wall_ms <= 30_000,
    });
  } finally {
    await main.stop();
  }

  const photos = await startBench(photoUsers, 1);
  try {
    const sourceId = await addSource(photos, true);
    const first = await measure(photos, 'sync_photos', sourceId, 'full');
    const batches = first.requests['/v1.0/$batch'] ?? 0;
    yield strip({
      ...first,
      photo_batches: batches,
      target: `≤ ${Math.round(photoUsers * 0.052)} photo requests ($batch of 20)`,
      ok: batches <= photoUsers * 0.052,
    });
    const again = await measure(photos, 'sync_photos_unchanged', sourceId, 'full');
    const checks = again.requests['/v1.0/$batch'] ?? 0;
    yield strip({ ...again, photo_batches: checks, target: '0 photos written', ok: again.rows_written === 0 });
  } finally {
    await photos.stop();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  for await (const line of runSyncBenchmarks({ quick: process.argv.includes('--quick') })) {
    process.stdout.write(`${JSON.stringify(line)}\n`);
  }
  process.exit(0);
}
