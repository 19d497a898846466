import { editSimilarity } from './edit-distance.ts';
import { type DirectoryScope, type Queryable, scopeCondition } from './people.ts';
import { escapeLike } from './query.ts';

/**
 * The SQL of the /whois search passes. Each reads at most CANDIDATE_CAP rows found through the pg_trgm
 * indexes, then ranks them; the expressions below are spelled exactly as the indexes in src/db/schema.ts
 * so that the planner can use them.
 */

export const CANDIDATE_CAP = 500;
/** Trigram similarity from which a fuzzy candidate counts as a match rather than a suggestion. */
export const FUZZY_MATCH = 0.5;
/** Edit similarity (see edit-distance.ts) from which a candidate counts as a match: ~2 slips in 10 letters. */
export const EDIT_MATCH = 0.75;
/** Tier of an exact email match: nobody else is listed beside it. */
export const EXACT_EMAIL = 100;

export type Row = {
  id: string;
  display_name: string;
  job_title: string | null;
  department: string | null;
  email: string;
  score: number;
};

export type WordMode = 'substring' | 'prefix';

const FULL = `lower(first_name || ' ' || last_name)`;
const DISPLAY = 'lower(display_name)';
const EMAIL = 'lower(email)';
const TITLE = `lower(coalesce(job_title, ''))`;
const DEPARTMENT = `lower(coalesce(department, ''))`;
const INITIALS = 'lower(left(first_name, 1) || left(last_name, 1))';
const FIELDS = [FULL, DISPLAY, EMAIL, TITLE, DEPARTMENT];
const COLUMNS = 'id, display_name, job_title, department, email, first_name, last_name';

/**
 * Every word in a name, email, title or department (a substring; words too short for a trigram must start a
 * word instead), or the query's two letters as initials, or an address by its beginning. Ranked by tier:
 * exact email > local part > exact name > first or last name > prefix > word starts > initials > exact
 * title or department > words in title/department > words anywhere > substrings.
 */
export function exactPass(
  sql: Queryable,
  scope: DirectoryScope,
  query: { text: string; email?: string },
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
    words.length === 1 && Array.from(query.text).length === 2 ? [sql`${field(INITIALS)} = lower(${query.text})`] : [];
  // An address is looked up as one: its words ("com", "contoso") would match everybody.
  const match = query.email
    ? sql`${field(EMAIL)} like lower(${`${escapeLike(query.email)}%`})`
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
      select c.*, ${field(FULL)} as full_l, ${field(DISPLAY)} as display_l, ${field(EMAIL)} as email_l,
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

/**
 * Neighbours of the text among names: by trigrams (at the thresholds the transaction has set), or with
 * `initials` (like "c% p%") people whose name words start with the same letters as the query words: typing
 * slips rarely hit the first letter, and edit distance then ranks them where trigrams see little in common.
 * One word is looked for inside names ("vanse" in "Adele Vance"); several are compared with the whole name,
 * since word similarity would let "adle vance" prefer "Oscar Vance-Adams" to "Adele Vance". Titles and
 * departments are left to the exact pass: their few distinct values share trigrams with almost any word.
 */
export async function fuzzyPass(
  sql: Queryable,
  scope: DirectoryScope,
  text: string,
  options: { oneWord: boolean; take: number; initials?: string },
): Promise<FuzzyRow[]> {
  const field = (expression: string) => sql.unsafe(expression);
  // Repeated rather than taken from a CTE: an index condition needs a value, not a column.
  const t = sql`lower(${text}::text)`;
  const candidates = options.initials
    ? sql`${field(FULL)} like lower(${options.initials})`
    : options.oneWord
      ? sql`${t} <% ${field(FULL)} or ${t} <% ${field(DISPLAY)}`
      : sql`${t} % ${field(FULL)} or ${t} % ${field(DISPLAY)}`;
  const score = options.oneWord
    ? sql`greatest(word_similarity(q.text, ${field(FULL)}), word_similarity(q.text, ${field(DISPLAY)}))`
    : sql`greatest(similarity(q.text, ${field(FULL)}), similarity(q.text, ${field(DISPLAY)}),
        similarity(q.text, split_part(${field(EMAIL)}, '@', 1)))`;
  const rows = await sql<(Row & { first_name: string; last_name: string })[]>`
    with q as (select ${t} as text),
    c as materialized (
      select ${sql.unsafe(COLUMNS)} from profiles p
      where p.active and ${scopeCondition(sql, scope)} and (${candidates})
      limit ${CANDIDATE_CAP}
    )
    select c.id, c.display_name, c.job_title, c.department, c.email, c.first_name, c.last_name,
      ${score}::float8 as score
    from c, q`;
  return rankFuzzy(rows, text, options.oneWord).slice(0, options.take);
}

export type FuzzyRow = Row & { matches: boolean };

/** Best first: matches (by trigrams or by edit distance) before suggestions, then by the better of both. */
function rankFuzzy(rows: (Row & { first_name: string; last_name: string })[], text: string, oneWord: boolean) {
  const ranked: FuzzyRow[] = rows.map(({ first_name, last_name, ...row }) => {
    const names = oneWord
      ? [first_name, last_name, row.display_name]
      : [`${first_name} ${last_name}`, row.display_name];
    const edit = Math.max(...names.map((name) => editSimilarity(text, name)));
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
