import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { addSource, type Bench, changeOnePercent, control, graphRequests, runChild, startBench, sum } from './sync.ts';

/**
 * The baseline (bench/baseline.ts) through the same scenarios as bench/sync.ts, on the same seeded tenants,
 * each run in a child process: a fresh full sync at 0 ms, the re-run with nothing changed, the re-run after
 *  1% of users changed, a quiet re-run, fresh full syncs at 100 ms per request (and + 1 ms per object), and photos. Lacking delta
 * queries and change detection, its "delta" runs are full re-reads and rewrites: that is the point.
 */

export interface BaselineMeasure {
  wall_ms: number;
  peak_rss_mb: number;
  graph_requests: number;
  rows_written: number;
}

const SCRIPT = path.join(fileURLToPath(new URL('.', import.meta.url)), 'baseline.ts');

async function measure(bench: Bench, name: string, sourceId: string, what: 'users' | 'photos') {
  const before = graphRequests(bench.emulator);
  const env = { ...bench.env, AZURE_TENANT_ID: bench.emulator.tenantId };
  const output = await runChild(SCRIPT, [sourceId, what], env, `${name} (baseline)`);
  const result = JSON.parse(output.trim().split('\n').pop()!) as {
    outcome: { written: number; photos: number };
    wallMs: number;
    peakRssMb: number;
  };
  const after = graphRequests(bench.emulator);
  return {
    wall_ms: result.wallMs,
    peak_rss_mb: result.peakRssMb,
    graph_requests: sum(after) - sum(before),
    rows_written: result.outcome.written + result.outcome.photos,
  };
}

/** Baseline figures by sync line name, for tenants of `users` people (and `photoUsers` with photos). */
export async function runBaselineBenchmarks(
  sizes: { users: number; photoUsers: number },
  log: (line: string) => void = () => {},
): Promise<Map<string, BaselineMeasure>> {
  const results = new Map<string, BaselineMeasure>();
  const step = async (bench: Bench, name: string, sourceId: string, what: 'users' | 'photos' = 'users') => {
    log(`baseline: ${name}…`);
    results.set(name, await measure(bench, name, sourceId, what));
  };

  const main = await startBench(sizes.users, 0);
  try {
    const sourceId = await addSource(main);
    await step(main, 'sync_full_0ms', sourceId);
    await step(main, 'sync_unchanged_full', sourceId);
    await changeOnePercent(main);
    await step(main, 'sync_delta_1pct', sourceId);
    await step(main, 'sync_unchanged_delta', sourceId);
    await control(main, 'POST', 'faults', { latencyMs: 100 });
    await step(main, 'sync_full_100ms', await addSource(main));
    await control(main, 'POST', 'faults', { latencyMs: 100, latencyPerItemMs: 1 });
    await step(main, 'sync_full_latency_per_item', await addSource(main));
  } finally {
    await main.stop();
  }

  const photos = await startBench(sizes.photoUsers, 1);
  try {
    const sourceId = await addSource(photos, true);
    await step(photos, 'sync_photos', sourceId, 'photos');
    await step(photos, 'sync_photos_unchanged', sourceId, 'photos');
  } finally {
    await photos.stop();
  }
  return results;
}
