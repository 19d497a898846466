/**
 * The part of OData `$filter` directory queries use: eq/ne/ge/le, `in`, startswith/endswith, and/or/not
 * and parentheses. Operators Graph allows only in advanced queries (ne, not, endswith, ge, le, null
 * checks) are refused without `ConsistencyLevel: eventual` + `$count=true`, as Graph refuses them.
 */

export type Predicate = (entity: Record<string, unknown>) => boolean;

export class FilterError extends Error {
  constructor(
    message: string,
    readonly code: 'Request_BadRequest' | 'Request_UnsupportedQuery',
  ) {
    super(message);
  }
}

export interface FilterRules {
  resource: string;
  /** Lower-case property (or `parent/child`) → canonical path, for properties Graph lets you filter on. */
  properties: Map<string, string>;
  /** Properties Graph filters only in advanced queries. */
  advancedOnly: Set<string>;
  /** Properties `startsWith` works on (Graph refuses it on the others, e.g. `id`); absent: every filterable one. */
  startsWith?: Set<string>;
  advanced: boolean;
}

type Token = { kind: 'name' | 'string' | 'number' | 'punct'; text: string };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'") {
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) throw new FilterError('Unterminated string literal in $filter.', 'Request_BadRequest');
        if (text[i] === "'" && text[i + 1] === "'") {
          value += "'";
          i += 2;
        } else if (text[i] === "'") {
          i++;
          break;
        } else value += text[i++];
      }
      tokens.push({ kind: 'string', text: value });
    } else if ('(),'.includes(c)) {
      tokens.push({ kind: 'punct', text: c });
      i++;
    } else if (/[-0-9]/.test(c)) {
      const match = /^-?\d+(\.\d+)?/.exec(text.slice(i));
      if (!match) throw new FilterError(`Syntax error at position ${i} in $filter.`, 'Request_BadRequest');
      tokens.push({ kind: 'number', text: match[0] });
      i += match[0].length;
    } else {
      const match = /^[A-Za-z_][A-Za-z0-9_/.]*/.exec(text.slice(i));
      if (!match)
        throw new FilterError(
          `Syntax error: character '${c}' is not valid at position ${i} in '${text}'.`,
          'Request_BadRequest',
        );
      tokens.push({ kind: 'name', text: match[0] });
      i += match[0].length;
    }
  }
  return tokens;
}

export function parseFilter(text: string, rules: FilterRules): Predicate {
  const tokens = tokenize(text);
  let position = 0;
  const peek = () => tokens[position];
  const isWord = (word: string) => peek()?.kind === 'name' && peek().text.toLowerCase() === word;
  const expect = (text: string) => {
    if (peek()?.text !== text)
      throw new FilterError(`Syntax error: expected '${text}' in $filter.`, 'Request_BadRequest');
    position++;
  };
  const needAdvanced = (what: string) => {
    if (!rules.advanced) {
      throw new FilterError(
        `Unsupported Query. '${what}' needs the ConsistencyLevel: eventual header and $count=true.`,
        'Request_UnsupportedQuery',
      );
    }
  };
  const property = (): string => {
    const token = tokens[position++];
    const path = token?.kind === 'name' ? rules.properties.get(token.text.toLowerCase()) : undefined;
    if (!path) {
      throw new FilterError(
        `Unsupported or invalid query filter clause specified for property '${token?.text ?? ''}' of resource '${rules.resource}'.`,
        'Request_UnsupportedQuery',
      );
    }
    if (rules.advancedOnly.has(path)) needAdvanced(path);
    return path;
  };
  const literal = (): unknown => {
    const token = tokens[position++];
    if (!token) throw new FilterError('Syntax error: a value is missing in $filter.', 'Request_BadRequest');
    if (token.kind === 'string') return token.text;
    if (token.kind === 'number') return Number(token.text);
    const word = token.text.toLowerCase();
    if (word === 'true' || word === 'false') return word === 'true';
    if (word === 'null') return null;
    throw new FilterError(`Syntax error: '${token.text}' is not a value.`, 'Request_BadRequest');
  };

  const orExpression = (): Predicate => {
    let left = andExpression();
    while (isWord('or')) {
      position++;
      const a = left;
      const b = andExpression();
      left = (e) => a(e) || b(e);
    }
    return left;
  };
  const andExpression = (): Predicate => {
    let left = factor();
    while (isWord('and')) {
      position++;
      const a = left;
      const b = factor();
      left = (e) => a(e) && b(e);
    }
    return left;
  };
  const factor = (): Predicate => {
    if (isWord('not')) {
      needAdvanced('not');
      position++;
      const inner = factor();
      return (e) => !inner(e);
    }
    if (peek()?.text === '(') {
      position++;
      const inner = orExpression();
      expect(')');
      return inner;
    }
    if (isWord('startswith') || isWord('endswith')) {
      const fn = peek().text.toLowerCase();
      if (fn === 'endswith') needAdvanced('endswith');
      position++;
      expect('(');
      const path = property();
      if (rules.startsWith && !rules.startsWith.has(path)) {
        throw new FilterError(
          `Unsupported or invalid query filter clause specified for property '${path}' of resource '${rules.resource}'.`,
          'Request_UnsupportedQuery',
        );
      }
      expect(',');
      const value = literal();
      expect(')');
      if (typeof value !== 'string') throw new FilterError(`${fn} needs a string.`, 'Request_BadRequest');
      const needle = value.toLowerCase();
      return (e) => {
        const actual = read(e, path);
        if (typeof actual !== 'string') return false;
        const hay = actual.toLowerCase();
        return fn === 'startswith' ? hay.startsWith(needle) : hay.endsWith(needle);
      };
    }
    const path = property();
    const operator = tokens[position++]?.text.toLowerCase();
    if (operator === 'in') {
      expect('(');
      const values: unknown[] = [literal()];
      while (peek()?.text === ',') {
        position++;
        values.push(literal());
      }
      expect(')');
      // "When using the in operator, the request is limited to 15 expressions in the filter clause by default"
      // ("Use the $filter query parameter", operators table); advanced queries are bounded by URL length instead.
      if (!rules.advanced && values.length > MAX_IN_VALUES) {
        throw new FilterError(
          `Too many child clauses specified in search filter expression containing 'OR' operators: ${values.length}. Max allowed: ${MAX_IN_VALUES}.`,
          'Request_UnsupportedQuery',
        );
      }
      return (e) => values.some((v) => equal(read(e, path), v));
    }
    if (operator !== 'eq' && operator !== 'ne' && operator !== 'ge' && operator !== 'le') {
      throw new FilterError(`Syntax error: unsupported operator '${operator ?? ''}' in $filter.`, 'Request_BadRequest');
    }
    const value = literal();
    if (operator !== 'eq' || value === null) needAdvanced(`${operator} ${value === null ? 'null' : ''}`.trim());
    if (operator === 'eq') return (e) => equal(read(e, path), value);
    if (operator === 'ne') return (e) => !equal(read(e, path), value);
    return (e) => {
      const actual = read(e, path);
      if (actual === null || actual === undefined) return false;
      const order = String(actual).localeCompare(String(value));
      return operator === 'ge' ? order >= 0 : order <= 0;
    };
  };

  const predicate = orExpression();
  if (position !== tokens.length) {
    throw new FilterError(
      `Syntax error: '${tokens[position].text}' was not expected in $filter.`,
      'Request_BadRequest',
    );
  }
  return predicate;
}

function read(entity: Record<string, unknown>, path: string): unknown {
  const slash = path.indexOf('/');
  if (slash < 0) return entity[path];
  const parent = entity[path.slice(0, slash)];
  return parent && typeof parent === 'object' ? (parent as Record<string, unknown>)[path.slice(slash + 1)] : undefined;
}

/** Directory string comparisons are case-insensitive. */
function equal(actual: unknown, expected: unknown): boolean {
  if (expected === null) return actual === null || actual === undefined;
  if (typeof actual === 'string' && typeof expected === 'string')
    return actual.toLowerCase() === expected.toLowerCase();
  return actual === expected;
}

/** Values an `in` list may hold in an ordinary (not advanced) query. */
const MAX_IN_VALUES = 15;

/** Graph's delta queries take one kind of `$filter` only ("Use delta query to track changes in Microsoft Graph data"). */
export const MAX_DELTA_IDS = 50;

/**
 * The object ids of a delta `$filter`: `id eq '…'` joined by `or`, or `id in ('…', …)`, at most 50 ids
 * (user: delta). Anything else is Graph's `Request_UnsupportedQuery`.
 */
export function deltaFilterIds(text: string): Set<string> {
  const unsupported = () => new FilterError('Unsupported Query.', 'Request_UnsupportedQuery');
  const tokens = tokenize(text);
  const ids = new Set<string>();
  let position = 0;
  const word = (expected: string) => {
    const token = tokens[position++];
    if (token?.kind !== 'name' || token.text.toLowerCase() !== expected) throw unsupported();
  };
  const punct = (expected: string) => {
    if (tokens[position++]?.text !== expected) throw unsupported();
  };
  const value = () => {
    const token = tokens[position++];
    if (token?.kind !== 'string') throw unsupported();
    ids.add(token.text.toLowerCase());
  };
  word('id');
  if (tokens[position]?.kind === 'name' && tokens[position].text.toLowerCase() === 'in') {
    position++;
    punct('(');
    value();
    while (tokens[position]?.text === ',') {
      position++;
      value();
    }
    punct(')');
  } else {
    word('eq');
    value();
    while (position < tokens.length) {
      word('or');
      word('id');
      word('eq');
      value();
    }
  }
  if (position !== tokens.length) throw unsupported();
  if (ids.size > MAX_DELTA_IDS) {
    throw new FilterError(`A delta $filter may name at most ${MAX_DELTA_IDS} object ids.`, 'Request_UnsupportedQuery');
  }
  return ids;
}
