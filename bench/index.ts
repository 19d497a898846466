import { type BaselineMeasure, runBaselineBenchmarks } from './baseline-runs.ts';
import { runFreshnessBenchmark } from './freshness.ts';
import { runSyncBenchmarks, type SyncBenchLine, syncBenchSizes } from './sync.ts';
import { runTypeaheadBenchmark } from './typeahead.ts';
import { runWhoisBenchmark } from './whois.ts';

/**
 * `npm run bench`: every benchmark of DESIGN §7, one JSON object per line on `out`, notes on `log`.
 * Each line has at least name, users, wall_ms, peak_rss_mb, graph_requests, rows_written (null where a
 * figure does not apply), a `target` in words and `ok` (whether the target was met). `quick` runs smaller
 * tenants (a minute or two instead of ten).
 */

export interface BenchOptions {
  quick?: boolean;
  out: (line: string) => void;
  log: (text: string) => void;
}

/** No kind of /whois query (names, typos, titles, accents, scripts…) may be slower than this at p95. */
const WHOIS_KIND_P95_MS = 40;

const ratio = (ours: number, theirs: number) => (theirs > 0 ? Math.round((ours / theirs) * 1000) / 1000 : null);

/** A sync line with the baseline's figures beside it; ratio_vs_baseline < 1 means ours took less time. */
export function withBaseline(line: SyncBenchLine, baseline: BaselineMeasure | undefined) {
  if (!baseline) return { ...line, baseline: null, ratio_vs_baseline: null };
  return { ...line, baseline, ratio_vs_baseline: ratio(line.wall_ms, baseline.wall_ms) };
}

export async function runBenchmarks(options: BenchOptions): Promise<{ failed: string[] }> {
  const failed: string[] = [];
  const emit = (line: Record<string, unknown>) => {
    if (line.ok === false) failed.push(String(line.name));
    options.out(JSON.stringify(line));
  };
  const sizes = syncBenchSizes(options);

  options.log(`baseline implementation (SDK paging, one drizzle upsert per row), ${sizes.users} people…`);
  const baseline = await runBaselineBenchmarks(sizes, options.log);

  options.log(`aad-sync sync engine, ${sizes.users} people…`);
  for await (const line of runSyncBenchmarks(options)) emit(withBaseline(line, baseline.get(line.name)));

  const whoisLines = [
    { profiles: options.quick ? 10_000 : 100_000, sources: 1, target: 15 },
    { profiles: options.quick ? 100_000 : 1_000_000, sources: 10, target: 25 },
  ];
  for (const { profiles, sources, target } of whoisLines) {
    options.log(`/whois search over ${profiles} profiles in ${sources} source(s), in one of them…`);
    const whois = await runWhoisBenchmark({ profiles, sources, queries: 1000 });
    const slowestKind = Math.max(...Object.values(whois.p95_ms_by_kind));
    emit({
      ...whois,
      target: `p95 ≤ ${target} ms (search alone), every kind's p95 ≤ ${WHOIS_KIND_P95_MS} ms, 1,000 queries; no sequential scan, no index read outside the source`,
      target_p95_ms: target,
      ok:
        whois.p95_ms <= target &&
        slowestKind <= WHOIS_KIND_P95_MS &&
        whois.seq_scans === 0 &&
        whois.unscoped_index_reads === 0,
    });
  }

  options.log('group type-ahead through the real server, Graph answering in 50 ms…');
  emit(await runTypeaheadBenchmark({ loads: options.quick ? 50 : 100 }));

  options.log(
    'freshness: Entra changes reaching /whois through Graph change notifications, then a notification storm…',
  );
  emit(await runFreshnessBenchmark({ changes: options.quick ? 100 : 200 }));
  return { failed };
}
