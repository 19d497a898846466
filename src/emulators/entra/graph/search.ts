import { FilterError, type Predicate } from './filter.ts';

/**
 * `$search` on directory objects: `"property:text"` clauses joined by AND/OR. displayName and description
 * are tokenized (words split on spaces, symbols, case changes and digits) and each word of the text must
 * start some word of the value, in any order; other properties are matched by prefix, as Graph does.
 */

const TOKENIZED = new Set(['displayName', 'description']);

export function parseSearch(text: string, properties: Map<string, string>): Predicate {
  const clauses: { join: 'AND' | 'OR'; test: Predicate }[] = [];
  let rest = text.trim();
  let join: 'AND' | 'OR' = 'AND';
  while (rest.length > 0) {
    const match = /^"((?:[^"\\]|\\.)*)"\s*/.exec(rest);
    if (!match) {
      throw new FilterError(
        `Syntax error: character '${rest[0]}' is not valid at position ${text.length - rest.length} in '${text}'.`,
        'Request_BadRequest',
      );
    }
    clauses.push({ join, test: clause(match[1].replace(/\\(.)/g, '$1'), properties) });
    rest = rest.slice(match[0].length);
    if (rest.length === 0) break;
    const operator = /^(AND|OR)\s+/.exec(rest);
    if (!operator) throw new FilterError(`Syntax error in $search near '${rest.slice(0, 20)}'.`, 'Request_BadRequest');
    join = operator[1] as 'AND' | 'OR';
    rest = rest.slice(operator[0].length);
  }
  if (clauses.length === 0) throw new FilterError('The $search query is empty.', 'Request_BadRequest');
  return (entity) => {
    let result = clauses[0].test(entity);
    for (const { join: how, test } of clauses.slice(1))
      result = how === 'AND' ? result && test(entity) : result || test(entity);
    return result;
  };
}

function clause(text: string, properties: Map<string, string>): Predicate {
  const colon = text.indexOf(':');
  if (colon < 0) {
    throw new FilterError(
      `Invalid $search clause '${text}': use "property:value", e.g. "displayName:${text}".`,
      'Request_UnsupportedQuery',
    );
  }
  const property = properties.get(text.slice(0, colon).trim().toLowerCase());
  if (!property) {
    throw new FilterError(
      `Property '${text.slice(0, colon)}' is not supported in $search.`,
      'Request_UnsupportedQuery',
    );
  }
  const value = text.slice(colon + 1).trim();
  if (TOKENIZED.has(property)) {
    const wanted = words(value);
    return (entity) => {
      const actual = entity[property];
      if (typeof actual !== 'string') return false;
      const have = words(actual);
      return wanted.every((w) => have.some((h) => h.startsWith(w)));
    };
  }
  const prefix = value.toLowerCase();
  return (entity) =>
    typeof entity[property] === 'string' && (entity[property] as string).toLowerCase().startsWith(prefix);
}

/** "SalesEMEA-2024 Team" → ["sales", "emea", "2024", "team"]. */
export function words(text: string): string[] {
  return text
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .replace(/([A-Za-z])(\d)/g, '$1 $2')
    .replace(/(\d)([A-Za-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
}
