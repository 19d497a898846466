import type { Sql } from '../db/client.ts';
import {
  type DirectoryScope,
  getPersonCard,
  type PersonCard,
  type PersonSummary,
  type Queryable,
  scopeCondition,
  summaryFromRow,
} from './people.ts';
import { escapeLike, type ParsedQuery, parseQuery } from './query.ts';
import { resolveSlackMention, type SlackIdentityLookup } from './slack-identity.ts';

/**
 * The /whois search. Two passes over the active profiles of a scope, each on the pg_trgm GIN indexes:
 * 1. every word of the query appears in a name, email, title or department (substring, or word start for
 *    words under three characters), ranked exact > prefix > word-start > title > anywhere;
 * 2. only when pass 1 finds nobody: trigram similarity, which forgives typos, and also feeds "did you mean".
 * A pass ranks at most CANDIDATE_CAP rows, so a query matching half the company costs the same as a precise one.
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

export const CANDIDATE_CAP = 500;
const STATEMENT_TIMEOUT_MS = 2_000;
/** Below this similarity a fuzzy candidate is only a suggestion, not a match. */
export const FUZZY_MATCH = 0.5;
const SUGGESTIONS = 3;

type Row = Record<string, unknown> & { score: number };

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
  if (ranked.rows.length === 0 || (ranked.fuzzy && ranked.rows[0].score < FUZZY_MATCH)) {
    return {
      kind: 'none',
      query: parsed.text,
      suggestions: ranked.rows.slice(0, SUGGESTIONS).map((r) => summaryFromRow(r)),
    };
  }
  const [top, ...rest] = ranked.rows;
  const best = await getPersonCard(sql, options.scope, Number(top.id));
  // Removed between the two statements: rare enough that answering "nobody" is honest.
  if (!best) return { kind: 'none', query: parsed.text, suggestions: [] };
  const exactEmail = !ranked.fuzzy && top.score >= EXACT_EMAIL;
  const others = exactEmail ? [] : rest.filter((r) => !ranked.fuzzy || r.score >= FUZZY_MATCH);
  return { kind: 'match', query: parsed.text, best, others: others.slice(0, limit).map((r) => summaryFromRow(r)) };
}

type TextQuery = Extract<ParsedQuery, { kind: 'text' }>;
type WordMode = 'substring' | 'prefix';

async function rankPeople(sql: Sql, scope: DirectoryScope, query: TextQuery, limit: number) {
  // A mistyped address is compared by its local part: every address shares the domain.
  const fuzzyText = query.email ? query.email.slice(0, query.email.lastIndexOf('@')) : query.text;
  return sql.begin(async (tx) => {
    // One round trip: the guards for this transaction, and which words the trigram index can look up
    // (a pattern without a whole trigram would make PostgreSQL read every row).
    const [guard] = await tx<{ modes: (WordMode | '')[]; trigrams: number }[]>`
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
        cardinality(show_trgm(${fuzzyText})) as trigrams`;
    const words = query.words.flatMap((word, i) =>
      guard.modes[i] ? [{ word, mode: guard.modes[i] as WordMode }] : [],
    );
    const take = limit + 1;
    if (query.email || words.length > 0) {
      const rows = await exactPass(tx, scope, query, words, take);
      if (rows.length > 0) return { fuzzy: false, rows };
    }
    if (guard.trigrams === 0) return { fuzzy: true, rows: [] as Row[] };
    const oneWord = !/[^\p{L}\p{N}]/u.test(fuzzyText);
    for (const stage of FUZZY_STAGES) {
      await tx`select set_config('pg_trgm.similarity_threshold', ${stage.similarity}, true),
        set_config('pg_trgm.word_similarity_threshold', ${stage.wordSimilarity}, true)`;
      const rows = await fuzzyPass(tx, scope, fuzzyText, oneWord, Math.max(take, SUGGESTIONS));
      if (rows.length > 0) return { fuzzy: true, rows };
    }
    return { fuzzy: true, rows: [] as Row[] };
  });
}

/**
 * Close matches first: their few candidates all get ranked, so the right person cannot be cut off by
 * CANDIDATE_CAP. Only when nothing is close does the looser stage look for "did you mean" suggestions.
 */
const FUZZY_STAGES = [
  { similarity: '0.45', wordSimilarity: '0.5' },
  { similarity: '0.3', wordSimilarity: '0.4' },
];

// Expressions exactly as the indexes of src/db/schema.ts spell them, so that the planner uses those indexes.
const FULL = `lower(first_name || ' ' || last_name)`;
const DISPLAY = 'lower(display_name)';
const EMAIL_L = 'lower(email)';
const TITLE = `lower(coalesce(job_title, ''))`;
const DEPARTMENT = `lower(coalesce(department, ''))`;
const INITIALS = 'lower(left(first_name, 1) || left(last_name, 1))';
const FIELDS = [FULL, DISPLAY, EMAIL_L, TITLE, DEPARTMENT];

const EXACT_EMAIL = 100;

const COLUMNS = 'id, display_name, job_title, department, email, first_name, last_name';

function exactPass(
  sql: Queryable,
  scope: DirectoryScope,
  query: TextQuery,
  words: { word: string; mode: WordMode }[],
  take: number,
) {
  const field = (expression: string) => sql.unsafe(expression);
  const anyField = (pattern: string) =>
    FIELDS.map((f) => sql`${field(f)} like lower(${pattern})`).reduce((a, b) => sql`${a} or ${b}`);
  const wordMatches = words.map(({ word, mode }) => {
    const w = escapeLike(word);
    return mode === 'substring' ? sql`(${anyField(`%${w}%`)})` : sql`(${anyField(`${w}%`)} or ${anyField(`% ${w}%`)})`;
  });
  const initials =
    words.length === 1 && query.text.length === 2 ? [sql`${field(INITIALS)} = lower(${query.text})`] : [];
  // An address is looked up as one: its words ("com", "contoso") would match everybody.
  const match = query.email
    ? sql`${field(EMAIL_L)} like lower(${`${escapeLike(query.email)}%`})`
    : [sql`(${wordMatches.reduce((a, b) => sql`${a} and ${b}`)})`, ...initials].reduce((a, b) => sql`${a} or ${b}`);
  const wordStarts = words.map(({ word }) => `% ${escapeLike(word)}%`);
  return sql<Row[]>`
    with q as (
      select lower(${query.text}::text) as text, lower(${escapeLike(query.text)}::text) as prefix,
        array(select lower(x) from unnest(${wordStarts}::text[]) x) as starts
    ), c as materialized (
      select ${sql.unsafe(COLUMNS)} from profiles p
      where p.active and ${scopeCondition(sql, scope)} and (${match})
      limit ${CANDIDATE_CAP}
    ), f as (
      select c.*, ${field(FULL)} as full_l, ${field(DISPLAY)} as display_l, ${field(EMAIL_L)} as email_l,
        ${field(TITLE)} as title_l, ${field(DEPARTMENT)} as department_l,
        lower(first_name) as first_l, lower(last_name) as last_l, ${field(INITIALS)} as initials_l
      from c
    )
    select f.id, f.display_name, f.job_title, f.department, f.email,
      case
        when email_l = q.text then ${EXACT_EMAIL}
        when split_part(email_l, '@', 1) = q.text then 98
        when full_l = q.text or display_l = q.text or last_l || ' ' || first_l = q.text
          or last_l || ', ' || first_l = q.text then 95
        when first_l = q.text or last_l = q.text then 90
        when full_l like q.prefix || '%' or display_l like q.prefix || '%' or email_l like q.prefix || '%' then 80
        when ' ' || translate(full_l || ' ' || display_l, '-.''', '   ') like all (q.starts) then 75
        when initials_l = q.text then 70
        when title_l = q.text or department_l = q.text then 65
        when ' ' || translate(title_l || ' ' || department_l, '-/&,()', '      ') like all (q.starts) then 60
        when ' ' || translate(full_l || ' ' || display_l || ' ' || email_l || ' ' || title_l || ' ' || department_l,
          '-.''@_+/&,()', '           ') like all (q.starts) then 50
        else 40
      end as score
    from f, q
    order by score desc, similarity(q.text, display_l) desc, display_name, id
    limit ${take}`;
}

function fuzzyPass(sql: Queryable, scope: DirectoryScope, text: string, oneWord: boolean, take: number) {
  const field = (expression: string) => sql.unsafe(expression);
  // The text is repeated rather than taken from `q`: an index condition needs a value, not a column.
  const t = sql`lower(${text}::text)`;
  // One word is looked for inside names ("vanse" in "Adele Vance"); several are compared with the whole
  // name, since word similarity would let "adle vance" prefer "Oscar Vance-Adams" to "Adele Vance".
  // Titles and departments are left to the first pass: their few distinct values share trigrams with
  // almost any word, so trigram similarity over them would read much of the table.
  const candidates = oneWord
    ? sql`${t} <% ${field(FULL)} or ${t} <% ${field(DISPLAY)}`
    : sql`${t} % ${field(FULL)} or ${t} % ${field(DISPLAY)}`;
  const score = oneWord
    ? sql`greatest(word_similarity(q.text, ${field(FULL)}), word_similarity(q.text, ${field(DISPLAY)}))`
    : sql`greatest(similarity(q.text, ${field(FULL)}), similarity(q.text, ${field(DISPLAY)}),
        similarity(q.text, split_part(${field(EMAIL_L)}, '@', 1)))`;
  return sql<Row[]>`
    with q as (select ${t} as text),
    c as materialized (
      select ${sql.unsafe(COLUMNS)} from profiles p
      where p.active and ${scopeCondition(sql, scope)} and (${candidates})
      limit ${CANDIDATE_CAP}
    )
    select c.id, c.display_name, c.job_title, c.department, c.email, ${score}::float8 as score
    from c, q
    order by score desc, display_name, id
    limit ${take}`;
}
