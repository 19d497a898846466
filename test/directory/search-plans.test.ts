import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explainSearch, unscopedIndexReads } from '../../bench/explain-search.ts';
import { buildQueries, seedProfiles } from '../../bench/whois.ts';
import { startTestDatabase, type TestDatabase } from '../helpers/database.ts';

/**
 * The plans of /whois as PostgreSQL makes them for 1,000,000 profiles over 10 sources. Building a million
 * rows with their trigram indexes takes minutes, so this file builds 10,000 (the benchmark's generator, 10
 * sources) and then tells the planner, through PostgreSQL 18's pg_restore_relation_stats, that the table
 * and each index hold 100 times as many rows: every estimate the planner makes (rows per source, per
 * pattern, per index) is then the one of a million-row table with the same distribution. `npm run bench`
 * checks the plans again on a real 1,000,000-row table (`whois_1m`: seq_scans, unscoped_index_reads).
 */

let database: TestDatabase;
let queries: { kind: string; text: string }[];
const MIRRORED_ROWS = 1_000_000;
const scope = { teamId: 'T0BENCH1' };

beforeAll(async () => {
  database = await startTestDatabase();
  const sourceId = await seedProfiles(database.sql, 10_000, 10);
  // Each source is a partition of profiles (its first import built it): every partition and its indexes grow.
  const relations = await database.sql<{ relname: string; relpages: number; reltuples: number; table: boolean }[]>`
    with parts as (select inhrelid from pg_inherits where inhparent = 'profiles'::regclass)
    select c.relname, c.relpages, c.reltuples, c.relkind = 'r' as table from pg_class c
    where (c.oid in (select inhrelid from parts) or c.oid in (select indexrelid from pg_index where indrelid in (select inhrelid from parts)))
      and c.reltuples > 0`;
  const rows = relations.filter((r) => r.table).reduce((sum, r) => sum + r.reltuples, 0);
  expect(relations.filter((r) => r.table)).toHaveLength(10);
  const scale = MIRRORED_ROWS / rows;
  for (const { relname, relpages, reltuples } of relations) {
    await database.sql`select pg_restore_relation_stats('schemaname', 'public', 'relname', ${relname}::text,
      'relpages', ${relpages}::integer, 'reltuples', ${Math.round(reltuples * scale)}::real)`;
  }
  const all = await buildQueries(database.sql, sourceId, 1000);
  // A few of every kind the benchmark asks.
  queries = [...new Set(all.map((q) => q.kind))].flatMap((kind) => all.filter((q) => q.kind === kind).slice(0, 2));
}, 120_000);
afterAll(async () => {
  await database?.stop();
});

describe('/whois plans at 1,000,000 profiles over 10 sources', () => {
  it('are made for a million rows', async () => {
    const [plan] = await database.sql`explain select * from profiles`;
    const rows = Number(/rows=(\d+)/.exec(String(plan['QUERY PLAN']))?.[1]);
    expect(rows).toBeGreaterThan(0.9 * MIRRORED_ROWS);
  });

  it('read profiles through indexes only, each limited to the searched source', async () => {
    const texts = [
      ...queries.map((q) => q.text),
      'a',
      'mi',
      'manager',
      'engineering',
      'contoso',
      'sofware enginer',
      'chole paetl',
      'x'.repeat(200),
    ];
    expect(queries.map((q) => q.kind)).toEqual(expect.arrayContaining(['accented', 'non-Latin', 'typo', 'title']));
    for (const text of texts) {
      const plans = (await explainSearch(database.url, scope, text)).flat();
      expect(plans.length, text).toBeGreaterThan(0);
      expect(
        plans.filter((line) => /Seq Scan on profiles/.test(line)),
        text,
      ).toEqual([]);
      expect(unscopedIndexReads(plans), text).toEqual([]);
    }
  }, 120_000);

  it('read an exact title or department from its own btree, in name order', async () => {
    const plans = (await explainSearch(database.url, scope, 'engineering')).flat().join('\n');
    expect(plans).toMatch(/Index Scan using profiles_search_title_idx/);
    expect(plans).toMatch(/Index Scan using profiles_search_department_idx/);
  });

  it('read the names trigram index once and the first people in name order once, however many tiers run', async () => {
    // A full name only one person has runs every tier of the exact pass (to find the others to list).
    const [exact] = await explainSearch(database.url, scope, 'adele vance');
    const names = exact.filter((line) => /Index Scan on profiles_search_names_trgm/.test(line));
    const heads = exact.filter(
      (line, i) =>
        /Index Scan using profiles_search_display_idx/.test(line) &&
        /Index Cond: \(source_id = \$\d+\)$/.test(exact[i + 1]?.trim() ?? ''),
    );
    // profiles is partitioned by source: a read appears once per partition the plan keeps (each partition has
    // its own copy of the index, `<index>_p<oid>`), so "once" is: no partition's index is read twice.
    const indexOf = (line: string) => /(profiles_\w+)/.exec(line.replace(/^.*? (?:using|on) /, ''))?.[1];
    expect(names.length).toBeGreaterThan(0);
    expect(new Set(names.map(indexOf)).size).toBe(names.length);
    expect(heads.length).toBeGreaterThan(0);
    expect(new Set(heads.map(indexOf)).size).toBe(heads.length);
  });
});
