import type { Sql } from '../db/client.ts';
import {
  type DirectoryScope,
  getPersonCard,
  type PersonCard,
  type PersonSummary,
  type Queryable,
  summaryFromRow,
} from './people.ts';
import { MAX_QUERY_WORDS, type ParsedQuery, parseQuery } from './query.ts';
import {
  EXACT_EMAIL,
  exactPass,
  type FoldedQuery,
  type FuzzyRow,
  fuzzyPass,
  initialsPass,
  type Row,
  rolePass,
  type WordMode,
} from './search-passes.ts';
import { resolveSlackMention, type SlackIdentityLookup } from './slack-identity.ts';

/**
 * The /whois search, in one transaction with a statement timeout, over the active profiles of a scope and
 * always through the pg_trgm indexes:
 * 1. every word of the query in a name, email, title or department, ranked exact > prefix > word start >
 *    title > anywhere (search-passes.ts `exactPass`);
 * 2. only when that finds nobody: namesakes by initials ranked by edit distance ("chole paetl"), names with
 *    close trigrams ("adel vance"), titles and departments with a slip ("sofware enginer"), then looser
 *    trigrams; what is not close enough to be a match becomes "did you mean".
 */

export type SearchResult =
  | { kind: 'match'; query: string; best: PersonCard; others: PersonSummary[] }
  | { kind: 'none'; query: string; suggestions: PersonSummary[] }
  | { kind: 'usage' };

export interface SearchOptions {
  scope: DirectoryScope;
  text: string;
  /** Other matches shown beside the best one (default 5). */
  limit?: number;
  /** Lets `<@U123>` find a person not yet matched to Slack; without it only cached matches are found. */
  slack?: Pick<SlackIdentityLookup, 'lookupSlackUserEmail'>;
}

const STATEMENT_TIMEOUT_MS = 2_000;
const SUGGESTIONS = 3;
/** Enough fuzzy rows to find SUGGESTIONS distinct names among namesakes. */
const FUZZY_ROWS = 20;
/** pg_trgm thresholds: close neighbours (and role slips) first, looser ones for "did you mean". */
const CLOSE = { similarity: '0.45', wordSimilarity: '0.5' };
const LOOSE = { similarity: '0.3', wordSimilarity: '0.4' };

export async function searchPeople(sql: Sql, options: SearchOptions): Promise<SearchResult> {
  const parsed = parseQuery(options.text);
  const limit = Math.max(0, Math.min(options.limit ?? 5, 20));
  if (parsed.kind === 'empty') return { kind: 'usage' };
  if (parsed.kind === 'mention') {
    const id = await resolveSlackMention(sql, options.scope, parsed.userId, options.slack);
    const best = id === undefined ? undefined : await getPersonCard(sql, options.scope, id);
    if (best) return { kind: 'match', query: parsed.label ?? `<@${parsed.userId}>`, best, others: [] };
    if (!parsed.label) return { kind: 'none', query: `<@${parsed.userId}>`, suggestions: [] };
    return searchPeople(sql, { ...options, text: parsed.label });
  }
  const { best, ...ranked } = await sql.begin(async (tx) => {
    const found = await rankPeople(tx, options.scope, parsed, limit);
    const matches = found.fuzzy ? found.rows.filter((r) => r.matches) : found.rows;
    const [first] = matches;
    // In the same transaction, so that the card's statement is planned once per connection too: planned for
    // each search, on profiles partitioned by source, it cost more than the search.
    return {
      ...found,
      matches,
      best: first && (await getPersonCard(tx, options.scope, Number(first.id), first.source_id)),
    };
  });
  const { matches } = ranked;
  if (matches.length === 0) {
    const suggestions = distinctNames(ranked.rows).slice(0, SUGGESTIONS);
    return { kind: 'none', query: parsed.text, suggestions: suggestions.map((r) => summaryFromRow(r)) };
  }
  const [top, ...rest] = matches;
  // Removed between the two statements: rare enough that answering "nobody" is honest.
  if (!best) return { kind: 'none', query: parsed.text, suggestions: [] };
  const others = !ranked.fuzzy && top.score >= EXACT_EMAIL ? [] : rest;
  return { kind: 'match', query: parsed.text, best, others: others.slice(0, limit).map((r) => summaryFromRow(r)) };
}

/** "Did you mean" is about names: three namesakes would waste the other two suggestions. */
function distinctNames<T extends Row>(rows: T[]): T[] {
  const seen = new Set<string>();
  return rows.filter((r) => {
    const name = r.display_name.toLowerCase();
    if (seen.has(name)) return false;
    seen.add(name);
    return true;
  });
}

type TextQuery = Extract<ParsedQuery, { kind: 'text' }>;

/** The sources a scope may see, as one sub-select (scopes name sources by workspace or by id). */
function scopeSources(sql: Queryable, scope: DirectoryScope) {
  if (scope === 'all') return sql`array(select id::text from sources)`;
  if ('teamId' in scope) return sql`array(select id::text from sources where slack_team_id = ${scope.teamId})`;
  return sql`array(select id::text from sources where id = any(${scope.sourceIds}::uuid[]))`;
}

/** Ranks within the search's transaction `tx`, whose guards (timeout, generic plans, no sequential scan) it sets. */
async function rankPeople(
  tx: Queryable,
  scope: DirectoryScope,
  query: TextQuery,
  limit: number,
): Promise<{ fuzzy: false; rows: Row[] } | { fuzzy: true; rows: FuzzyRow[] }> {
  // A mistyped address is compared by its local part: every address shares the domain.
  const fuzzyText = query.email ? query.email.slice(0, query.email.lastIndexOf('@')) : query.text;
  // One round trip: the guards for this transaction, the sources searched, and the query folded as the
  // stored columns are (whois_key), with what the trigram index can look up for each word (a pattern
  // without a whole trigram would make PostgreSQL read every row). Every statement is planned once per
  // connection (generic plans: its text fixes how each tier is read), never as a sequential scan.
  const [guard] = await tx<
    { sources: string[]; key: string; lower: string; words: string[]; modes: WordMode[]; fuzzy: string }[]
  >`
    select set_config('statement_timeout', ${String(STATEMENT_TIMEOUT_MS)}, true),
      set_config('plan_cache_mode', 'force_generic_plan', true),
      set_config('enable_seqscan', 'off', true),
      set_config('pg_trgm.similarity_threshold', ${CLOSE.similarity}, true),
      set_config('pg_trgm.word_similarity_threshold', ${CLOSE.wordSimilarity}, true),
      ${scopeSources(tx, scope)} as sources,
      whois_key(${query.text}) as key, lower(${query.text}) as lower, whois_key(${fuzzyText}) as fuzzy,
      array(select w from unnest(string_to_array(whois_key(${query.text}), ' ')) with ordinality as u(w, n)
        where w <> '' order by n limit ${MAX_QUERY_WORDS}) as words,
      array(select case when exists (select 1 from unnest(show_trgm(w)) t where strpos(t, ' ') = 0)
          then 'substring' else 'prefix' end
        from unnest(string_to_array(whois_key(${query.text}), ' ')) with ordinality as u(w, n)
        where w <> '' order by n limit ${MAX_QUERY_WORDS}) as modes`;
  const { sources } = guard;
  const folded: FoldedQuery = {
    key: guard.words.join(' '),
    words: guard.words.map((word, i) => ({ word, mode: guard.modes[i] })),
    lower: guard.lower,
    ...(query.email ? { email: guard.lower } : {}),
  };
  const rows = await exactPass(tx, sources, folded, limit + 1);
  if (rows.length > 0) return { fuzzy: false, rows };
  const fuzzyWords = guard.fuzzy.split(' ').filter(Boolean).slice(0, MAX_QUERY_WORDS);
  if (fuzzyWords.length === 0) return { fuzzy: true, rows: [] };
  const key = fuzzyWords.join(' ');
  const oneWord = fuzzyWords.length === 1;
  const take = Math.max(limit + 1, FUZZY_ROWS);
  // A name of several words with its first letters right (slips rarely hit a word's first letter): the
  // namesakes by initials, ranked by edit distance from a btree alone, cost far less than trigram
  // neighbours, which are looked for only when none of these namesakes is close enough to be a match.
  const namesakes =
    fuzzyWords.length >= 2
      ? await initialsPass(tx, sources, key, Array.from(fuzzyWords[0])[0] + Array.from(fuzzyWords[1])[0], take)
      : [];
  if (namesakes.some((r) => r.matches)) return { fuzzy: true, rows: namesakes };
  // Then close trigram neighbours: few candidates, all ranked, so the right person cannot be cut off by the cap.
  const close = await fuzzyPass(tx, sources, key, { oneWord, take });
  if (close.some((r) => r.matches)) return { fuzzy: true, rows: close };
  // Then a title or department with a slip in a word ("sofware enginer"), at the same threshold, below any name.
  if (!query.email) {
    const roles = await rolePass(tx, sources, fuzzyWords, limit + 1);
    if (roles.length > 0) return { fuzzy: true, rows: roles };
  }
  // Failing all that, the namesakes by initials or looser trigram neighbours become "did you mean".
  if (namesakes.length > 0) return { fuzzy: true, rows: namesakes };
  await tx`select set_config('pg_trgm.similarity_threshold', ${LOOSE.similarity}, true),
    set_config('pg_trgm.word_similarity_threshold', ${LOOSE.wordSimilarity}, true)`;
  return { fuzzy: true, rows: await fuzzyPass(tx, sources, key, { oneWord, take }) };
}
