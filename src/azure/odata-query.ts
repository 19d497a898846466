/**
 * Query strings for Graph. The Graph client copies query values into the URL as they are, so a `&` or `#`
 * in an admin's search text would cut the query short: every value is percent-encoded here, after the
 * OData escaping its position needs.
 */

export type QueryParams = Record<string, string | number | boolean | undefined>;

/** Percent-encodes a value, keeping the characters OData uses and URLs allow unencoded (`,` `:` `$` `/` `@`). */
export function encodeQueryValue(value: string): string {
  return encodeURIComponent(value).replace(/%(2C|3A|24|2F|40)/g, (escaped) => decodeURIComponent(escaped));
}

/** `?name=value&…` in the given order; undefined values are left out. Names are written as given. */
export function queryString(params: QueryParams): string {
  const parts = Object.entries(params)
    .filter((entry): entry is [string, string | number | boolean] => entry[1] !== undefined)
    .map(([name, value]) => `${name}=${encodeQueryValue(String(value))}`);
  return parts.length > 0 ? `?${parts.join('&')}` : '';
}

/** A `$search` clause `"property:text"`; inside the quotes `"` and `\` are escaped with a backslash. */
export function searchClause(property: string, text: string): string {
  return `"${property}:${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** An OData string literal: single quotes around, single quotes inside doubled. */
export function odataString(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** One path segment (an object id from our own database, still never trusted to be URL-safe). */
export function pathSegment(value: string): string {
  return encodeURIComponent(value);
}
