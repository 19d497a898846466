import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { startThrowawayDatabase } from '../src/db/throwaway.ts';
import { searchPeople } from '../src/directory/search.ts';
import { createMetrics, metricsHandler, profileCounter, startMetricsServer } from '../src/http/metrics.ts';
import { percentile } from './percentile.ts';
import { buildQueries, round, seedProfiles } from './whois.ts';

/**
 * Issue 13's "16 scrapers vs /whois": `/whois` searches timed one after another over 100,000 profiles while
 * `scrapers` clients in another process fetch `/metrics` from this one as fast as it answers, four ways: no
 * scrapers; anonymous scrapers (they get 401 now that /metrics needs METRICS_TOKEN or its own port); scrapers
 * with the token, the profile count cached (one count per minute, what aad-sync does); and scrapers with the
 * token and a count per scrape (`countCacheMs: 0`, what it did before). One JSON line per phase.
 * Run: npx tsx bench/metrics-scrapers.ts [--profiles 100000] [--scrapers 16] [--queries 300]
 */

const TOKEN = 'bench-metrics-token';

/** `count` clients looping on `url` in a child process (so their own work is not charged to this one). */
function startScrapers(url: string, count: number, token?: string) {
  const script = `
    let stop = false, done = 0;
    process.on('SIGTERM', () => { stop = true; });
    const headers = ${JSON.stringify(token ? { authorization: `Bearer ${token}` } : {})};
    const loop = async () => { while (!stop) { await (await fetch(${JSON.stringify(url)}, { headers })).text(); done++; } };
    Promise.all(Array.from({ length: ${count} }, loop)).then(() => { process.stdout.write(String(done)); process.exit(0); });`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
  });
  const exited = new Promise<number>((resolve) => child.once('exit', () => resolve(Number(out) || 0)));
  return {
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

export async function runScrapersBenchmark(options: { profiles?: number; scrapers?: number; queries?: number } = {}) {
  const profiles = options.profiles ?? 100_000;
  const scraperCount = options.scrapers ?? 16;
  const database = await startThrowawayDatabase();
  try {
    const sourceId = await seedProfiles(database.sql, profiles);
    const queries = await buildQueries(database.sql, sourceId, options.queries ?? 300);
    const scope = { teamId: 'T0BENCH1' };
    for (const { text } of queries.slice(0, 50)) await searchPeople(database.sql, { scope, text });

    const phase = async (name: string, scrapers: { count: number; token?: string }, countCacheMs: number) => {
      let counts = 0;
      const count = profileCounter(database.db);
      const metrics = createMetrics({
        countProfiles: () => {
          counts += 1;
          return count();
        },
        countCacheMs,
      });
      const server = await startMetricsServer(0, metricsHandler(metrics, TOKEN));
      const clients =
        scrapers.count > 0
          ? startScrapers(`http://127.0.0.1:${server.port}/metrics`, scrapers.count, scrapers.token)
          : undefined;
      // Let the scrapers start before timing.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const timings: number[] = [];
      for (const { text } of queries) {
        const t0 = performance.now();
        await searchPeople(database.sql, { scope, text });
        timings.push(performance.now() - t0);
      }
      const scrapes = (await clients?.stop()) ?? 0;
      await server.close();
      const sorted = timings.sort((a, b) => a - b);
      return {
        name,
        users: profiles,
        scrapers: scrapers.count,
        queries: queries.length,
        p50_ms: round(percentile(sorted, 50)),
        p95_ms: round(percentile(sorted, 95)),
        scrapes,
        profile_counts: counts,
      };
    };

    return [
      await phase('whois_no_scrapers', { count: 0 }, 60_000),
      await phase('whois_anonymous_scrapers', { count: scraperCount }, 60_000),
      await phase('whois_scrapers_cached_count', { count: scraperCount, token: TOKEN }, 60_000),
      await phase('whois_scrapers_count_per_scrape', { count: scraperCount, token: TOKEN }, 0),
    ];
  } finally {
    await database.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({
    options: { profiles: { type: 'string' }, scrapers: { type: 'string' }, queries: { type: 'string' } },
  });
  const lines = await runScrapersBenchmark({
    profiles: values.profiles ? Number(values.profiles) : undefined,
    scrapers: values.scrapers ? Number(values.scrapers) : undefined,
    queries: values.queries ? Number(values.queries) : undefined,
  });
  for (const line of lines) console.log(JSON.stringify(line));
  process.exit(0);
}
