import type postgres from 'postgres';
import { editSimilarity } from './edit-distance.ts';
import type { Queryable } from './people.ts';
import { escapeLike } from './query.ts';

/**
 * The SQL of the /whois search passes, over the `search_*` columns of migration 0008 (accents, case and
 * punctuation folded by `whois_key`, words between spaces) and the indexes that lead with the source, so
 * that a search reads the rows of its own sources only. Every statement names the table `p`.
 */

/** Fuzzy candidates read at most, best trigram score first. */
export const CANDIDATE_CAP = 500;
/** Trigram similarity from which a fuzzy candidate counts as a match rather than a suggestion. */
export const FUZZY_MATCH = 0.5;
/** Edit similarity (see edit-distance.ts) from which a candidate counts as a match: ~2 slips in 10 letters. */
export const EDIT_MATCH = 0.75;
/** Tier of an exact email match: nobody else is listed beside it. */
export const EXACT_EMAIL = 100;

export type Row = {
  id: string;
  /** The person's source, so that reading their card reads that source's partition only. */
  source_id: string;
  display_name: string;
  job_title: string | null;
  department: string | null;
  email: string;
  score: number;
};

export type WordMode = 'substring' | 'prefix';

/** The query as the database folded it (`whois_key`), so that it compares like the stored columns. */
export interface FoldedQuery {
  /** The words folded and joined by one space: "Vance, Adele" is "vance adele". */
  key: string;
  /** Each word, found anywhere in a word when it has a whole trigram, otherwise only at a word's start. */
  words: { word: string; mode: WordMode }[];
  /** The text lower-cased, compared with addresses. */
  lower: string;
  /** The lower-cased address when the query is one. */
  email?: string;
}

/** `p.source_id` among `sourceIds`, spelled so that the source leads every index condition. */
function inSources(sql: Queryable, sourceIds: string[]) {
  return sourceIds.length === 1
    ? sql`p.source_id = ${sourceIds[0]}::uuid`
    : sql`p.source_id = any(${sourceIds}::uuid[])`;
}

type Fragment = postgres.PendingQuery<postgres.Row[]>;

/**
 * A tier of the exact pass and how its first `take` people by name are read:
 * - `lookup`: everyone matching `where`, through the index that answers it, then sorted. Names and addresses
 *   sort much like the name order, so reading in name order until `take` of them match could read most of the
 *   source; a lookup reads what matches and no more.
 * - `ordered`: each alternative from a btree that holds it in name order, `take` rows each.
 * - `scan`: words a large share of the source may hold (in titles, departments, anywhere): the first
 *   SCAN_ROWS people in name order are read, and only when fewer than `take` of them match is the tier looked up.
 * - `names`: people among those whose names hold every word at a word's start (`NamesLookup`), plus those
 *   `lookup` finds, if given.
 */
type Tier =
  | { score: number; read: 'lookup' | 'scan'; where: Fragment }
  | { score: number; read: 'ordered'; where: readonly Fragment[] }
  | { score: number; read: 'names'; where: Fragment; lookup?: Fragment };

/** People a `scan` tier reads in name order before it turns to its index (enough for words ~3% of people hold). */
const SCAN_ROWS = 200;
/** Letters from which a word is looked up by its own trigrams, its start checked on the rows found. */
const LONG_WORD = 5;

/**
 * Ranked by tier: exact email > local part > exact name > whole words of a name > name or address prefix >
 * word starts in names > initials > exact title or department > whole words of one > word starts there >
 * word starts anywhere > substrings; within a tier by name. Each tier keeps its first `take` people, and a
 * person counts at their best tier: whoever belongs in the first `take` overall is among the first `take` of
 * their own tier, so the ranking is exact however many people match (the test "a query matching 5,000
 * people" checks it). One statement; a tier is read only when the tiers above it found fewer than `take`
 * people. Its text depends only on the shape of the query (words, tiers, sources), never on the values, so
 * that PostgreSQL plans it once per connection (the transaction asks for generic plans): planning this
 * statement for each search cost more than running it.
 *
 * Tiers share what they read (a CTE is computed when first read, and only then): the `names` tiers filter one
 * lookup of the people whose names hold every word at a word's start (`n`), and the `scan` tiers one read of
 * the first SCAN_ROWS people in name order (`hd`). A full name only one person has reaches every tier: it
 * read the names trigram index three times and those first people four times before they were shared.
 */
export function exactPass(sql: Queryable, sourceIds: string[], query: FoldedQuery, take: number) {
  const { tiers: unsorted, names: namesWhere } = exactTiers(sql, query);
  // Best first: a tier is skipped once the ones above it are full.
  const tiers = unsorted.sort((a, b) => b.score - a.score);
  if (sourceIds.length === 0 || tiers.length === 0) return Promise.resolve([] as Row[]);
  const names = tiers.map((_, i) => sql.unsafe(`t${i}`));
  const seen = tiers.map((_, i) => sql.unsafe(`s${i}`));
  const source = inSources(sql, sourceIds);
  const shared = [
    ...(namesWhere
      ? [
          sql`n as (select p.id, p.search_display, p.search_names from profiles p
          where p.active and ${source} and (${namesWhere}))`,
        ]
      : []),
    ...(tiers.some((t) => t.read === 'scan')
      ? [
          sql`hd as (select p.id, p.search_display, p.search_role, p.search_doc from profiles p
          where p.active and ${source} order by p.search_display, p.id limit ${SCAN_ROWS})`,
        ]
      : []),
  ];
  const tier = (t: Tier, i: number) => {
    // A tier runs only while the tiers above it (their distinct people in s<i>) leave room: a one-time
    // filter, its index is not even read.
    const room = i === 0 ? sql`true` : sql`(select count(*) from ${seen[i]}) < ${take}`;
    const people = sql`from profiles p where ${room} and p.active and ${source}`;
    const lookup = (where: Fragment) =>
      sql`select * from (select p.id, p.search_display ${people} and (${where}) offset 0) s`;
    const ordered = (where: Fragment) =>
      sql`(select p.id, p.search_display ${people} and (${where}) order by p.search_display, p.id limit ${take})`;
    let rows: Fragment;
    let before = sql``;
    if (t.read === 'lookup') rows = lookup(t.where);
    else if (t.read === 'ordered') rows = t.where.map(ordered).reduce((a, b) => sql`${a} union all ${b}`);
    else if (t.read === 'names') {
      const within = sql`select p.id, p.search_display from n p where ${room} and (${t.where})`;
      // Distinct: a person found both ways must not take two of the tier's `take` places.
      rows = t.lookup ? sql`${within} union ${lookup(t.lookup)}` : within;
    } else {
      // When the first SCAN_ROWS people by name hold `take` matches, those are the tier's first `take`.
      const head = sql.unsafe(`h${i}`);
      before = sql`${head} as (select p.id, p.search_display from hd p where ${room} and (${t.where})
        order by p.search_display, p.id limit ${take}), `;
      const full = sql`(select count(*) from ${head}) >= ${take}`;
      rows = sql`select * from ${head} where ${full} union all ${lookup(sql`not ${full} and (${t.where})`)}`;
    }
    const above =
      i === 0
        ? sql``
        : i === 1
          ? sql`s1 as (select id from t0), `
          : sql`${seen[i]} as (select id from ${seen[i - 1]} union select id from ${names[i - 1]}), `;
    return sql`${above}${before}${names[i]} as (select id, ${sql.unsafe(String(t.score))} as tier, search_display
      from (${rows}) r order by search_display, id limit ${take})`;
  };
  const all = names.map((t) => sql`select * from ${t}`).reduce((a, b) => sql`${a} union all ${b}`);
  return sql<Row[]>`
    with ${[...shared, ...tiers.map(tier)].reduce((a, b) => sql`${a}, ${b}`)},
    best as (select distinct on (id) id, tier from (${all}) h order by id, tier desc)
    select p.id, p.source_id, p.display_name, p.job_title, p.department, p.email, best.tier as score
    from best join profiles p on p.id = best.id and ${source}
    order by best.tier desc, p.search_display, p.id
    limit ${take}`;
}

/**
 * `column` starts with `prefix`, as a range the btree index reads whether or not the plan knows the prefix
 * (a LIKE 'prefix%' with a bound parameter is not turned into a range in a generic plan). Columns are in
 * collation "C", so the range is by code point; U+10FFFF, the last one, never follows a prefix in a name.
 */
function startsWith(sql: Queryable, column: string, prefix: string) {
  return sql`${sql.unsafe(column)} >= ${prefix} and ${sql.unsafe(column)} < ${`${prefix}\u{10FFFF}`}`;
}

/**
 * The tiers, and the condition of the lookup the `names` tiers share: every word at the start of a word of
 * the names. Whoever has the whole query as words of their names (`% key %`) or names starting with it
 * (` key%`) is among those people. One word is the exception: its whole-word tier is looked up alone, as
 * a word is far more often the start of other words ("wil") than a word itself.
 */
function exactTiers(sql: Queryable, query: FoldedQuery): { tiers: Tier[]; names?: Fragment } {
  const like = (column: string, patterns: string[]) =>
    patterns.map((pattern) => sql`${sql.unsafe(column)} like ${pattern}`).reduce((a, b) => sql`${a} and ${b}`);
  if (query.email) {
    // An address is looked up as one: its words ("com", "contoso") would match everybody.
    return {
      tiers: [
        { score: EXACT_EMAIL, read: 'lookup', where: sql`p.search_email = ${query.email}` },
        { score: 80, read: 'lookup', where: startsWith(sql, 'p.search_email', query.email) },
      ],
    };
  }
  if (query.words.length === 0) return { tiers: [] };
  const key = escapeLike(query.key);
  const words = query.words.map(({ word }) => word);
  // "vance adele" and "de la cruz maria" are names said surname first.
  const turned =
    words.length > 1
      ? [
          [...words.slice(1), words[0]],
          [words.at(-1), ...words.slice(0, -1)],
        ]
      : [];
  // A word at a word's start (or, with `end` ' ', a whole word). A long word is looked up by its own trigrams
  // and its start checked on the rows found: the trigrams of a word's start ("  c", " ca") are in most rows
  // of a column (contoso, com), and intersecting their long posting lists cost more than checking the few
  // more rows the word's letters alone find ("catherine" inside a word is rare; "son" is not: long words only).
  const wordAt = (column: string, { word, mode }: FoldedQuery['words'][number], end = '') =>
    mode === 'substring' && Array.from(word).length >= LONG_WORD
      ? sql`${sql.unsafe(column)} like ${`%${escapeLike(word)}%`} and strpos(${sql.unsafe(column)}, ${` ${word}${end}`}) > 0`
      : sql`${sql.unsafe(column)} like ${`% ${escapeLike(word)}${end}%`}`;
  const starts = (column: string) =>
    query.words.map((word) => wordAt(column, word)).reduce((a, b) => sql`${a} and ${b}`);
  const anywhere = query.words.map(({ word, mode }) => `${mode === 'substring' ? '%' : '% '}${escapeLike(word)}%`);
  const single = !/\s/.test(query.lower);
  const wholeWords = sql`p.search_names like ${`% ${key} %`}`;
  return {
    names: starts('p.search_names'),
    tiers: [
      ...(single
        ? [
            { score: 98, read: 'lookup', where: startsWith(sql, 'p.search_email', `${query.lower}@`) } as const,
            { score: 80, read: 'lookup', where: startsWith(sql, 'p.search_email', query.lower) } as const,
          ]
        : []),
      {
        score: 95,
        read: 'lookup',
        where: sql`p.search_display = any(${[query.key, ...turned.map((w) => w.join(' '))]}::text[])`,
      },
      words.length === 1
        ? ({ score: 90, read: 'lookup', where: wordAt('p.search_names', query.words[0], ' ') } as const)
        : ({ score: 90, read: 'names', where: wholeWords } as const),
      {
        score: 80,
        read: 'names',
        where: sql`p.search_names like ${` ${key}%`}`,
        lookup: startsWith(sql, 'p.search_display', query.key),
      },
      { score: 75, read: 'names', where: sql`true` },
      ...(words.length === 1 && Array.from(query.key).length === 2
        ? [{ score: 70, read: 'ordered', where: [sql`p.search_initials = ${query.key}`] } as const]
        : []),
      // The title and the department apart, each from its own btree in name order (migration 0009).
      {
        score: 65,
        read: 'ordered',
        where: [ROLE_PARTS.title, ROLE_PARTS.department].map((part) => sql`${sql.unsafe(part)} = ${query.key}`),
      },
      { score: 62, read: 'scan', where: sql`p.search_role like ${`% ${key} %`}` },
      { score: 60, read: 'scan', where: starts('p.search_role') },
      { score: 50, read: 'scan', where: starts('p.search_doc') },
      ...(query.words.some((w) => w.mode === 'substring')
        ? [{ score: 40, read: 'scan', where: like('p.search_doc', anywhere) } as const]
        : []),
    ],
  };
}

/** The title and the department in `search_role` (' title | department '), as the indexes of 0009 spell them. */
const ROLE_PARTS = {
  title: "btrim(split_part(p.search_role, '|', 1))",
  department: "btrim(split_part(p.search_role, '|', 2))",
};

/**
 * Neighbours of the folded text among names, by trigrams (at the thresholds the transaction has set): one
 * word is looked for inside names ("vanse" in "Adele Vance"); several are compared with the whole name,
 * since word similarity would let "adle vance" prefer "Oscar Vance-Adams" to "Adele Vance". The
 * CANDIDATE_CAP closest by trigrams are ranked, by the better of trigrams and edit distance.
 */
export async function fuzzyPass(
  sql: Queryable,
  sourceIds: string[],
  key: string,
  options: { oneWord: boolean; take: number },
): Promise<FuzzyRow[]> {
  if (sourceIds.length === 0) return [];
  const candidates = options.oneWord ? sql`${key} <% p.search_names` : sql`${key} % p.search_names`;
  const score = options.oneWord
    ? sql`word_similarity(${key}, p.search_names)`
    : sql`greatest(similarity(${key}, p.search_names), similarity(${key}, split_part(p.search_email, '@', 1)))`;
  const rows = await sql<FuzzyCandidate[]>`
    select p.id, p.source_id, p.display_name, p.job_title, p.department, p.email, p.first_name, p.last_name,
      p.search_display as display_key, ${score}::float8 as score
    from profiles p
    where p.active and ${inSources(sql, sourceIds)} and (${candidates})
    order by score desc, p.search_display, p.id
    limit ${CANDIDATE_CAP}`;
  return rankFuzzy(rows, key, options.oneWord).slice(0, options.take);
}

/** Namesakes by initials read for ranking by edit distance. */
const INITIALS_CANDIDATES = 50;

/**
 * People whose first and last names start with the first letters of the query's first two words, closest by
 * edit distance first ("chole paetl" is two slips from "Chloe Patel", where trigrams see little in common):
 * typing slips rarely hit the first letter. Ranked from `profiles_search_initials_idx` alone.
 */
export async function initialsPass(sql: Queryable, sourceIds: string[], key: string, initials: string, take: number) {
  if (sourceIds.length === 0) return [];
  const rows = await sql<FuzzyCandidate[]>`
    with c as (
      select p.id, p.search_display, levenshtein(left(p.search_display, 100), ${key}) as distance from profiles p
      where p.active and ${inSources(sql, sourceIds)}
        and p.search_initials = ${initials}
      order by distance, p.search_display, p.id
      limit ${INITIALS_CANDIDATES}
    )
    select p.id, p.source_id, p.display_name, p.job_title, p.department, p.email, p.first_name, p.last_name,
      c.search_display as display_key, 0::float8 as score
    from c join profiles p on p.id = c.id and ${inSources(sql, sourceIds)}`;
  return rankFuzzy(rows, key, false).slice(0, take);
}

type FuzzyCandidate = Row & { first_name: string; last_name: string; display_key: string };

/**
 * Titles and departments with every word close to a query word ("sofware enginer", "payrol"), at the
 * word-similarity threshold the transaction has set; all are matches, in name order. Planned once (a generic
 * plan), so read as a `scan` tier is: a slip of a common word ("managr") is answered by the first SCAN_ROWS
 * people in name order, a rare one through the trigram index; a plan that read in name order alone would
 * read the whole source for a rare one.
 */
export async function rolePass(sql: Queryable, sourceIds: string[], words: string[], take: number) {
  if (sourceIds.length === 0 || words.length === 0) return [];
  const close = words.map((w) => sql`${w} <% p.search_role`).reduce((a, b) => sql`${a} and ${b}`);
  const source = inSources(sql, sourceIds);
  const rows = await sql<Row[]>`
    with h as (select p.id, p.search_display from (select p.id, p.search_display, p.search_role from profiles p
        where p.active and ${source} order by p.search_display, p.id limit ${SCAN_ROWS}) p
      where ${close} order by p.search_display, p.id limit ${take}),
    r as (select * from h where (select count(*) from h) >= ${take}
      union all select * from (select p.id, p.search_display from profiles p
        where (select count(*) from h) < ${take} and p.active and ${source} and ${close} offset 0) s)
    select p.id, p.source_id, p.display_name, p.job_title, p.department, p.email, 1::float8 as score
    from (select id from r order by search_display, id limit ${take}) r join profiles p on p.id = r.id and ${source}
    order by p.search_display, p.id`;
  return rows.map((row): FuzzyRow => ({ ...row, matches: true }));
}

export type FuzzyRow = Row & { matches: boolean };

/** Best first: matches (by trigrams or by edit distance) before suggestions, then by the better of both. */
function rankFuzzy(rows: FuzzyCandidate[], key: string, oneWord: boolean) {
  const ranked: FuzzyRow[] = rows.map(({ first_name, last_name, display_key, ...row }) => {
    const [first, last] = [fold(first_name), fold(last_name)];
    const names = oneWord ? [first, last, display_key] : [`${first} ${last}`, display_key];
    const edit = Math.max(...names.map((name) => editSimilarity(key, name)));
    return { ...row, matches: row.score >= FUZZY_MATCH || edit >= EDIT_MATCH, score: Math.max(row.score, edit) };
  });
  return ranked.sort(
    (a, b) =>
      Number(b.matches) - Number(a.matches) ||
      b.score - a.score ||
      a.display_name.localeCompare(b.display_name) ||
      Number(a.id) - Number(b.id),
  );
}

/** Close to the database's `whois_key` for ranking by edit distance: marks dropped, lower case, words by spaces. */
function fold(text: string): string {
  return (
    text
      .normalize('NFD')
      .replace(/\p{M}/gu, '')
      .toLowerCase()
      .match(/[\p{L}\p{N}]+/gu) ?? []
  ).join(' ');
}
