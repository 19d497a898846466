import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Sql } from '../src/db/client.ts';
import { startThrowawayDatabase } from '../src/db/throwaway.ts';
import { ProfileStage, type StagedProfile } from '../src/directory/profile-stage.ts';
import { type SearchResult, searchPeople } from '../src/directory/search.ts';
import { explainSearch, unscopedIndexReads } from './explain-search.ts';
import { DEPARTMENTS, FIRST_NAMES, INTERNATIONAL_NAMES, LAST_NAMES, OFFICES, TITLES } from './people-lists.ts';
import { percentile } from './percentile.ts';

/**
 * The /whois benchmark of DESIGN §7: `profiles` people over `sources` sources, `queries` varied searches in
 * the first source timed one after another through `searchPeople` (the search alone, as Slack's 3-second
 * budget sees it), p95 per kind of query; then the plans of a few searches of every kind, which must read
 * profiles through indexes only, each index read limited to the searched source.
 * Run: npx tsx bench/whois.ts [--profiles 100000] [--sources 1] [--queries 1000] [--explain]
 */

export interface WhoisBenchmarkOptions {
  profiles?: number;
  /** Sources the profiles are spread over (row i in source i % sources); the first one is searched. */
  sources?: number;
  queries?: number;
  /** Prints EXPLAIN (ANALYZE) of representative searches to this function. */
  explain?: (text: string) => void;
}

/** Deterministic pseudo-random numbers (mulberry32), so every run asks the same questions. */
function random(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `count` people over `sources` sources (row i in source i % sources), generated in one statement: names, titles and
 * departments cycle through the shared word lists at co-prime strides (a fifth get a double-barrelled
 * surname, a tenth a name with accents or in another script), rows arrive in an order unrelated to names as
 * a sync would write them, managers form a tree of fan-out 8 within each source, and 2% are removed. Each
 * source is written as a sync writes it, through ProfileStage: its first import builds the source's own
 * partition of `profiles`, indexes it and attaches it, so a search of one source reads 1/sources of the rows.
 * Returns the first source, the one searched.
 */
export async function seedProfiles(sql: Sql, count: number, sources = 1): Promise<string> {
  const ids = (
    await sql<{ id: string }[]>`
      insert into sources (slack_team_id, status)
      select 'T0BENCH' || n, 'active' from generate_series(1, ${sources}) n order by n returning id`
  ).map((r) => r.id);
  const list = (values: readonly string[]) => [...values];
  const international = (part: 0 | 1 | 2) => INTERNATIONAL_NAMES.map((n) => n[part]);
  const n = INTERNATIONAL_NAMES.length;
  // Row i belongs to source i % sources; its manager is the person an eighth of the way down its own source.
  await sql`
        create unlogged table whois_seed as
          select i % ${sources} as k, md5(i::text)::uuid::text as graph_id, 'ext-' || i as external_id, f as first_name, l as last_name,
            dn as display_name,
            case when local ~ '^[a-z.]+$' then local else 'user' || i end
              || case when rn > 1 then rn::text else '' end || '@contoso.com' as email,
            t as job_title, d as department, o as office,
            '+1 425 555 ' || lpad((i % 10000)::text, 4, '0') as business_phone,
            case when i % 3 = 0 then null else '+1 206 555 ' || lpad((i * 7 % 10000)::text, 4, '0') end as mobile_phone,
            lpad(i::text, 6, '0') as employee_id,
            case when i / ${sources} >= 8 then md5((i / ${sources} / 8 * ${sources} + i % ${sources})::text)::uuid::text
              end as manager_graph_id
          from (
            select i, f, l, coalesce(dn, f || ' ' || l) as dn, t, d, o,
              lower(unaccent(f || '.' || replace(l, '-', ''))) as local,
              row_number() over (partition by f, l order by i) as rn
            from (
              select i,
                case when w then (${international(0)}::text[])[1 + k]
                  else (${list(FIRST_NAMES)}::text[])[1 + (i * 7 + i / 977) % ${FIRST_NAMES.length}] end as f,
                case when w then (${international(1)}::text[])[1 + k]
                  else (${list(LAST_NAMES)}::text[])[1 + (i * 13 + i / 331) % ${LAST_NAMES.length}]
                    || case when i % 5 = 0 then '-' || (${list(LAST_NAMES)}::text[])[1 + (i / 7) % ${LAST_NAMES.length}]
                       else '' end end as l,
                case when w then (${international(2)}::text[])[1 + k] end as dn,
                (${list(TITLES)}::text[])[1 + (i * 31 + i / 89) % ${TITLES.length}] as t,
                (${list(DEPARTMENTS)}::text[])[1 + (i * 17 + i / 53) % ${DEPARTMENTS.length}] as d,
                (${list(OFFICES)}::text[])[1 + i % ${OFFICES.length}] as o
              from generate_series(1, ${count}) as i,
                lateral (select (i / ${sources}) % 10 = 3 as w, (i / ${sources * 10}) % ${n} as k) x
            ) g
          ) r`;
  for (const [k, sourceId] of ids.entries()) {
    const stage = await ProfileStage.open(sql, sourceId, 'full');
    try {
      const pages = sql<StagedRow[]>`
        select graph_id, external_id, first_name, last_name, display_name, email, job_title, department, office,
          business_phone, mobile_phone, employee_id, manager_graph_id
        from whois_seed where k = ${k} order by graph_id`.cursor(1000);
      for await (const rows of pages) await stage.add(rows.map(stagedProfile));
      await stage.seal();
      await stage.apply('full');
    } finally {
      await stage.close();
    }
  }
  await sql`drop table whois_seed`;
  // 2% removed, as a later sync would have marked them (a second full read of a million people is not the point).
  await sql`
    update profiles set active = false, removed_at = now()
    where source_id = any(${ids}::uuid[]) and substr(external_id, 5)::int % 50 = 0`;
  // As after a sync has settled: GIN pending lists merged, statistics current.
  await sql`vacuum analyze profiles`;
  return ids[0];
}

interface StagedRow {
  graph_id: string;
  external_id: string;
  first_name: string;
  last_name: string;
  display_name: string;
  email: string;
  job_title: string;
  department: string;
  office: string;
  business_phone: string;
  mobile_phone: string | null;
  employee_id: string;
  manager_graph_id: string | null;
}

function stagedProfile(r: StagedRow): StagedProfile {
  return {
    graphId: r.graph_id,
    externalId: r.external_id,
    firstName: r.first_name,
    lastName: r.last_name,
    displayName: r.display_name,
    email: r.email,
    jobTitle: r.job_title,
    department: r.department,
    office: r.office,
    businessPhone: r.business_phone,
    mobilePhone: r.mobile_phone,
    employeeId: r.employee_id,
    managerGraphId: r.manager_graph_id,
  };
}

type Kind =
  | 'full name'
  | 'first name'
  | 'last name'
  | 'typo'
  | 'email'
  | 'email local part'
  | 'title'
  | 'department'
  | 'prefix'
  | 'initials'
  | 'accented'
  | 'non-Latin'
  | 'hostile'
  | 'nobody';

const MIX: [Kind, number][] = [
  ['full name', 17],
  ['first name', 10],
  ['last name', 5],
  ['typo', 15],
  ['email', 10],
  ['email local part', 5],
  ['title', 10],
  ['department', 4],
  ['prefix', 5],
  ['initials', 3],
  ['accented', 4],
  ['non-Latin', 4],
  ['hostile', 5],
  ['nobody', 3],
];

/** One entry per percent of the queries. */
const KINDS = MIX.flatMap(([kind, weight]) => Array<Kind>(weight).fill(kind));

const HOSTILE = [
  `'; drop table profiles; --`,
  '%_%',
  '\\\\%',
  '🙂🙂🙂',
  'אדל ואנס',
  '\u202eecnav eleda',
  '"quoted" name',
  'x'.repeat(5000),
  Array.from({ length: 5000 }, (_, i) => String.fromCharCode(33 + ((i * 7919) % 90))).join(''),
  'adele '.repeat(800),
];

function typo(word: string, next: () => number): string {
  if (word.length < 4) return word;
  const at = 1 + Math.floor(next() * (word.length - 2));
  const edit = Math.floor(next() * 3);
  if (edit === 0) return word.slice(0, at) + word.slice(at + 1);
  if (edit === 1) return word.slice(0, at) + word[at + 1] + word[at] + word.slice(at + 2);
  return word.slice(0, at) + 'aeiou'[Math.floor(next() * 5)] + word.slice(at + 1);
}

const LATIN = /^[\p{Script=Latin}\p{P}\s]+$/u;
/** What a colleague types for an accented name: no accents, no capitals ("elodie lefevre", "muller"). */
const plain = (text: string) =>
  text.normalize('NFD').replace(/\p{M}/gu, '').replace(/[Łł]/g, 'l').replace(/[Øø]/g, 'o').toLowerCase();

/** The questions, drawn from people of the searched source who exist (and some who do not), in a fixed mix and order. */
export async function buildQueries(sql: Sql, sourceId: string, count: number): Promise<{ kind: Kind; text: string }[]> {
  type Person = { first_name: string; last_name: string; display_name: string; email: string; job_title: string };
  const people = await sql<Person[]>`
    select first_name, last_name, display_name, email, job_title from profiles
    where source_id = ${sourceId} and active and id % 53 = 0 order by id limit 3000`;
  const international = await sql<Person[]>`
    select first_name, last_name, display_name, email, job_title from profiles
    where source_id = ${sourceId} and active and display_name = any(${INTERNATIONAL_NAMES.map((n) => n[2])}::text[])
    and id % 7 = 0 order by id limit 3000`;
  const accented = international.filter((p) => LATIN.test(p.display_name));
  const nonLatin = international.filter((p) => !LATIN.test(p.display_name));
  const next = random(7);
  const pick = <T>(items: readonly T[]) => items[Math.floor(next() * items.length)];
  const prefix = (word: string) =>
    Array.from(word)
      .slice(0, 1 + Math.floor(next() * 3))
      .join('');
  return Array.from({ length: count }, (_, i) => {
    const kind = KINDS[(i * 37) % KINDS.length];
    const p = pick(people);
    const text: Record<Kind, () => string> = {
      'full name': () => `${p.first_name} ${p.last_name}`,
      'first name': () => p.first_name,
      'last name': () => p.last_name.split('-')[0],
      typo: () => `${typo(p.first_name, next)} ${typo(p.last_name, next)}`,
      email: () => p.email,
      'email local part': () => p.email.split('@')[0],
      title: () => (next() < 0.5 ? p.job_title : pick(p.job_title.split(' ').filter((w) => w.length > 3))),
      department: () => pick(DEPARTMENTS),
      prefix: () => p.last_name.slice(0, 3 + Math.floor(next() * 3)),
      initials: () => `${p.first_name[0]}${p.last_name[0]}`.toLowerCase(),
      accented: () => {
        const a = pick(accented);
        return plain(next() < 0.5 ? `${a.first_name} ${a.last_name}` : a.last_name);
      },
      // The beginning of a first or last name, or the whole name as the directory writes it.
      'non-Latin': () => {
        const a = pick(nonLatin);
        const r = next();
        return r < 0.4 ? prefix(a.last_name) : r < 0.7 ? prefix(a.first_name) : a.display_name;
      },
      hostile: () => pick(HOSTILE),
      nobody: () => `${pick(['zqx', 'qwv', 'jjk', 'vvb'])}${Math.floor(next() * 1000)} ${pick(['xqz', 'kkj'])}`,
    };
    return { kind, text: text[kind]() };
  });
}

export const round = (ms: number) => Math.round(ms * 100) / 100;

const EXPLAINED = ['adele vance', 'adel vance', 'alex', 'payroll manager', 'adele.vance@contoso.com', 'adle vanse'];
/** Of every kind, the searches whose plans are checked for a sequential scan or an index read outside the source. */
const PLANNED_PER_KIND = 3;

export async function runWhoisBenchmark(options: WhoisBenchmarkOptions = {}) {
  const profiles = options.profiles ?? 100_000;
  const sources = options.sources ?? 1;
  const count = options.queries ?? 1000;
  const database = await startThrowawayDatabase();
  let peakRss = process.memoryUsage().rss;
  try {
    const seedStarted = performance.now();
    const sourceId = await seedProfiles(database.sql, profiles, sources);
    const seedMs = performance.now() - seedStarted;
    const queries = await buildQueries(database.sql, sourceId, count);
    // As /whois asks: the sources of one Slack workspace.
    const scope = { teamId: 'T0BENCH1' };
    // Warm-up: prepared statements and the buffer cache, as in a running app.
    for (const { text } of queries.slice(0, 50)) await searchPeople(database.sql, { scope, text });

    const timings: number[] = [];
    const byKind = new Map<Kind, number[]>();
    const outcomes: Record<SearchResult['kind'], number> = { match: 0, none: 0, usage: 0 };
    const started = performance.now();
    for (const { kind, text } of queries) {
      const t0 = performance.now();
      const result = await searchPeople(database.sql, { scope, text });
      const ms = performance.now() - t0;
      timings.push(ms);
      byKind.set(kind, [...(byKind.get(kind) ?? []), ms]);
      outcomes[result.kind] += 1;
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }
    const wallMs = performance.now() - started;
    const planned = [...byKind.keys()].flatMap((kind) =>
      queries.filter((q) => q.kind === kind).slice(0, PLANNED_PER_KIND),
    );
    let seqScans = 0;
    let unscopedScans = 0;
    for (const { text } of planned) {
      const plans = (await explainSearch(database.url, scope, text)).flat();
      seqScans += plans.filter((line) => /Seq Scan on profiles/.test(line)).length;
      unscopedScans += unscopedIndexReads(plans).length;
    }
    if (options.explain) await explainSearches(database.url, scope, options.explain);
    const sorted = [...timings].sort((a, b) => a - b);
    return {
      name:
        sources > 1 ? `whois_${profiles >= 1_000_000 ? `${profiles / 1_000_000}m` : `${profiles / 1000}k`}` : 'whois',
      users: profiles,
      sources,
      queries: count,
      p50_ms: round(percentile(sorted, 50)),
      p95_ms: round(percentile(sorted, 95)),
      p99_ms: round(percentile(sorted, 99)),
      max_ms: round(sorted[sorted.length - 1]),
      mean_ms: round(timings.reduce((a, b) => a + b, 0) / timings.length),
      wall_ms: Math.round(wallMs),
      seed_ms: Math.round(seedMs),
      peak_rss_mb: Math.round(peakRss / 1024 / 1024),
      graph_requests: 0,
      rows_written: 0,
      matched: outcomes.match,
      no_match: outcomes.none,
      p95_ms_by_kind: Object.fromEntries(
        [...byKind].map(([kind, ms]) => [
          kind,
          round(
            percentile(
              [...ms].sort((a, b) => a - b),
              95,
            ),
          ),
        ]),
      ),
      plans_checked: planned.length,
      seq_scans: seqScans,
      unscoped_index_reads: unscopedScans,
    };
  } finally {
    await database.stop();
  }
}

/** EXPLAIN (ANALYZE, BUFFERS) of every statement a few searches run, to show which indexes they use. */
async function explainSearches(url: string, scope: { teamId: string }, print: (text: string) => void) {
  for (const text of EXPLAINED) {
    for (const plan of await explainSearch(url, scope, text, 'explain (analyze, buffers, costs off)')) {
      print(`--- ${JSON.stringify(text)}\n${plan.filter((l) => !/Sort Key:/.test(l)).join('\n')}\n`);
    }
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      profiles: { type: 'string' },
      sources: { type: 'string' },
      queries: { type: 'string' },
      explain: { type: 'boolean' },
    },
  });
  const result = await runWhoisBenchmark({
    profiles: values.profiles ? Number(values.profiles) : undefined,
    sources: values.sources ? Number(values.sources) : undefined,
    queries: values.queries ? Number(values.queries) : undefined,
    explain: values.explain ? (text) => process.stderr.write(`${text}\n`) : undefined,
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}
