import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { startThrowawayDatabase } from '../src/db/throwaway.ts';
import { searchPeople } from '../src/directory/search.ts';
import { createMetrics, metricsHandler, profileCounter, startMetricsServer } from '../src/http/metrics.ts';
import { buildQueries, percentile, round, seedProfiles } from './whois.ts';

/**
 * Issue 13's "16 scrapers vs /whois": `/whois` searches timed one after another over 100,000 profiles while
 * `scrapers` clients fetch `/metrics` in a loop from the same process, three ways: no scrapers; scrapers with
 * the profile count cached (what aad-sync does: one count per minute); scrapers with a count per scrape
 * (`countCacheMs: 0`, what it did before). One JSON line per phase.
 * Run: npx tsx bench/metrics-scrapers.ts [--profiles 100000] [--scrapers 16] [--queries 500]
 */

export async function runScrapersBenchmark(options: { profiles?: number; scrapers?: number; queries?: number } = {}) {
  const profiles = options.profiles ?? 100_000;
  const scraperCount = options.scrapers ?? 16;
  const database = await startThrowawayDatabase();
  try {
    const sourceId = await seedProfiles(database.sql, profiles);
    const queries = await buildQueries(database.sql, sourceId, options.queries ?? 500);
    const scope = { teamId: 'T0BENCH1' };
    for (const { text } of queries.slice(0, 50)) await searchPeople(database.sql, { scope, text });

    const phase = async (name: string, scrapers: number, countCacheMs: number) => {
      let counts = 0;
      const count = profileCounter(database.db);
      const metrics = createMetrics({
        countProfiles: () => {
          counts += 1;
          return count();
        },
        countCacheMs,
      });
      const server = await startMetricsServer(0, metricsHandler(metrics));
      let stop = false;
      let scrapes = 0;
      const loops = Array.from({ length: scrapers }, async () => {
        while (!stop) {
          await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
          scrapes += 1;
        }
      });
      const timings: number[] = [];
      for (const { text } of queries) {
        const t0 = performance.now();
        await searchPeople(database.sql, { scope, text });
        timings.push(performance.now() - t0);
      }
      stop = true;
      await Promise.all(loops);
      await server.close();
      const sorted = timings.sort((a, b) => a - b);
      return {
        name,
        users: profiles,
        scrapers,
        queries: queries.length,
        p50_ms: round(percentile(sorted, 50)),
        p95_ms: round(percentile(sorted, 95)),
        scrapes,
        profile_counts: counts,
      };
    };

    return [
      await phase('whois_no_scrapers', 0, 60_000),
      await phase('whois_scrapers_cached_count', scraperCount, 60_000),
      await phase('whois_scrapers_count_per_scrape', scraperCount, 0),
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
