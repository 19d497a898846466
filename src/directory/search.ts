import type { Sql } from '../db/client.ts';
import { type DirectoryScope, getPersonCard, type PersonCard, type PersonSummary, summaryFromRow } from './people.ts';
import { escapeLike, type ParsedQuery, parseQuery } from './query.ts';
import { EXACT_EMAIL, exactPass, type FuzzyRow, fuzzyPass, type Row, type WordMode } from './search-passes.ts';
import { resolveSlackMention, type SlackIdentityLookup } from './slack-identity.ts';

/**
 * The /whois search, in one transaction with a statement timeout, over the active profiles of a scope and
 * always through the pg_trgm indexes:
 * 1. every word of the query in a name, email, title or department, ranked exact > prefix > word start >
 *    title > anywhere (search-passes.ts `exactPass`);
 * 2. only when that finds nobody: names with close trigrams ("adel vance"), then looser ones together with
 *    namesakes by initials ranked by edit distance ("chole paetl"); what is not close enough to be a match
 *    becomes "did you mean".
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
  const ranked = await rankPeople(sql, options.scope, parsed, limit);
  const matches = ranked.fuzzy ? ranked.rows.filter((r) => r.matches) : ranked.rows;
  if (matches.length === 0) {
    const suggestions = distinctNames(ranked.rows).slice(0, SUGGESTIONS);
    return { kind: 'none', query: parsed.text, suggestions: suggestions.map((r) => summaryFromRow(r)) };
  }
  const [top, ...rest] = matches;
  const best = await getPersonCard(sql, options.scope, Number(top.id));
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

const WORD = /[\p{L}\p{N}]+/gu;

async function rankPeople(
  sql: Sql,
  scope: DirectoryScope,
  query: TextQuery,
  limit: number,
): Promise<{ fuzzy: false; rows: Row[] } | { fuzzy: true; rows: FuzzyRow[] }> {
  // A mistyped address is compared by its local part: every address shares the domain.
  const fuzzyText = query.email ? query.email.slice(0, query.email.lastIndexOf('@')) : query.text;
  const fuzzyWords: string[] = [...(fuzzyText.match(WORD) ?? [])];
  return sql.begin(async (tx) => {
    // One round trip: the guards for this transaction, and what the trigram index can look up for each word
    // (a pattern without a whole trigram would make PostgreSQL read every row). Plans are made for the
    // values at hand, and never as a sequential scan.
    const [guard] = await tx<{ modes: (WordMode | '')[]; initials: boolean[]; trigrams: number }[]>`
      select set_config('statement_timeout', ${String(STATEMENT_TIMEOUT_MS)}, true),
        set_config('plan_cache_mode', 'force_custom_plan', true),
        set_config('enable_seqscan', 'off', true),
        array(
          select case
            when exists (select 1 from unnest(show_trgm(w)) t where strpos(t, ' ') = 0) then 'substring'
            when cardinality(show_trgm(w)) > 0 then 'prefix'
            else ''
          end
          from unnest(${query.words}::text[]) with ordinality as u(w, n) order by n
        ) as modes,
        array(
          select cardinality(show_trgm(left(w, 1))) > 0
          from unnest(${fuzzyWords}::text[]) with ordinality as u(w, n) order by n
        ) as initials,
        cardinality(show_trgm(${fuzzyText})) as trigrams`;
    const words = query.words.flatMap((word, i) =>
      guard.modes[i] ? [{ word, mode: guard.modes[i] as WordMode }] : [],
    );
    if (query.email || words.length > 0) {
      const rows = await exactPass(tx, scope, query, words, limit + 1);
      if (rows.length > 0) return { fuzzy: false, rows };
    }
    if (guard.trigrams === 0) return { fuzzy: true, rows: [] };
    const oneWord = fuzzyWords.length === 1;
    const take = Math.max(limit + 1, FUZZY_ROWS);
    // Close neighbours first: few candidates, all ranked, so the right person cannot be cut off by the cap.
    await tx`select set_config('pg_trgm.similarity_threshold', '0.45', true),
      set_config('pg_trgm.word_similarity_threshold', '0.5', true)`;
    const close = await fuzzyPass(tx, scope, fuzzyText, { oneWord, take });
    if (close.some((r) => r.matches)) return { fuzzy: true, rows: close };
    // Then, for a name of several words, the people whose first two name words start with the same letters,
    // ranked by edit distance; failing that, looser trigram neighbours. What is not close enough becomes
    // "did you mean".
    if (fuzzyWords.length >= 2 && guard.initials[0] && guard.initials[1]) {
      const initials = `${escapeLike(Array.from(fuzzyWords[0])[0])}% ${escapeLike(Array.from(fuzzyWords[1])[0])}%`;
      const rows = await fuzzyPass(tx, scope, fuzzyText, { oneWord, take, initials });
      if (rows.length > 0) return { fuzzy: true, rows };
    }
    await tx`select set_config('pg_trgm.similarity_threshold', '0.3', true),
      set_config('pg_trgm.word_similarity_threshold', '0.4', true)`;
    return { fuzzy: true, rows: await fuzzyPass(tx, scope, fuzzyText, { oneWord, take }) };
  });
}
