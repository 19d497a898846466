/**
 * Turns whatever someone typed after /whois (or `aad-sync whois`) into a bounded, inert query.
 * Nothing here touches the database: the text only ever reaches SQL as bind parameters.
 */

/** Characters of the query that take part in matching; anything longer is cut, never rejected. */
export const MAX_QUERY_CHARS = 100;
/** Words beyond this are ignored: each word adds an index probe to the search. */
export const MAX_QUERY_WORDS = 6;
/** Longer input is cut before any other work so that a 5,000-character paste costs nothing. */
const MAX_RAW_CHARS = 1_000;

export type ParsedQuery =
  | { kind: 'empty' }
  /** `<@U123>` or `<@U123|adele>`: Slack's escaped form of an @mention (the `|label` is optional). */
  | { kind: 'mention'; userId: string; label?: string }
  | { kind: 'text'; text: string; words: string[]; email?: string };

const MENTION = /^<@([UW][A-Z0-9]{2,30})(?:\|([^<>]{0,80}))?>$/;
// Controls and invisible format characters (bidi overrides, zero-width joiners) carry no meaning for a search.
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Co}\p{Cs}]/gu;
const WORD = /[\p{L}\p{N}]+/gu;
const EMAIL = /^[^\s@]+@[^\s@]+$/;

/** Normalises free text: compatibility forms folded, invisible characters dropped, spaces collapsed, length capped. */
export function cleanText(raw: string, maxChars = MAX_QUERY_CHARS): string {
  const text = raw.slice(0, MAX_RAW_CHARS).normalize('NFKC').replace(INVISIBLE, ' ').replace(/\s+/g, ' ').trim();
  return Array.from(text).slice(0, maxChars).join('').trim();
}

export function parseQuery(raw: string): ParsedQuery {
  const mention = MENTION.exec(raw.slice(0, MAX_RAW_CHARS).trim());
  if (mention) {
    const label = mention[2] ? cleanText(mention[2]) : '';
    return { kind: 'mention', userId: mention[1], ...(label ? { label } : {}) };
  }
  // `@adele` typed where Slack did not turn it into a mention is a name; `adele@contoso.com` is not touched.
  const text = cleanText(raw).replace(/^@+(?=\S)/, '');
  const words = (text.match(WORD) ?? []).slice(0, MAX_QUERY_WORDS);
  if (!text || words.length === 0) return text ? { kind: 'text', text, words } : { kind: 'empty' };
  return { kind: 'text', text, words, ...(EMAIL.test(text) ? { email: text } : {}) };
}

/** Escapes `%`, `_` and `\` so that the text matches itself in a LIKE pattern (escape character `\`). */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
