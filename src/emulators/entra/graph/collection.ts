import type { EmulatorReply } from '../http.ts';
import type { GraphContext } from './context.ts';
import { FilterError, type Predicate } from './filter.ts';

/**
 * Paging shared by every Graph collection: a position-addressed source, a page of matching items from a
 * position, and `$skiptoken`s that remember where the next page starts (and for which resource).
 */

export interface PageSource<T> {
  size: number;
  at(position: number): T | undefined;
}

export function arraySource<T>(items: readonly T[]): PageSource<T> {
  return { size: items.length, at: (position) => items[position] };
}

/** A page from the ascending positions an index found to match: costs the page, not the collection. */
function indexedPage<T>(
  source: PageSource<T>,
  matches: readonly number[],
  start: number,
  limit: number,
): { items: T[]; next: number | null } {
  let low = 0;
  let high = matches.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (matches[mid] < start) low = mid + 1;
    else high = mid;
  }
  const items: T[] = [];
  let i = low;
  for (; i < matches.length && items.length < limit; i++) {
    const item = source.at(matches[i]);
    if (item !== undefined) items.push(item);
  }
  return { items, next: i < matches.length ? matches[i] : null };
}

function collectPage<T>(
  source: PageSource<T>,
  start: number,
  limit: number,
  keep: (item: T) => boolean,
): { items: T[]; next: number | null } {
  const items: T[] = [];
  let position = start;
  for (; position < source.size && items.length < limit; position++) {
    const item = source.at(position);
    if (item !== undefined && keep(item)) items.push(item);
  }
  // A nextLink only when something is left to read (Graph never ends on an empty page for plain lists).
  let rest = position;
  while (rest < source.size) {
    const item = source.at(rest);
    if (item !== undefined && keep(item)) return { items, next: position };
    rest++;
  }
  return { items, next: null };
}

function countMatching<T>(source: PageSource<T>, keep: (item: T) => boolean): number {
  let count = 0;
  for (let position = 0; position < source.size; position++) {
    const item = source.at(position);
    if (item !== undefined && keep(item)) count++;
  }
  return count;
}

interface PageToken {
  r: string;
  p: number;
}

/** The start position from `$skiptoken` (0 without one), or an error for a token of another resource. */
export function startPosition(
  context: GraphContext,
  skiptoken: string | null,
  resource: string,
): number | EmulatorReply {
  if (skiptoken === null) return 0;
  const token = context.open<PageToken>(skiptoken);
  if (!token || token.r !== resource || !Number.isInteger(token.p)) {
    return context.badRequest('The specified page token value has expired or is invalid.');
  }
  return token.p;
}

function pageToken(context: GraphContext, resource: string, position: number): string {
  return context.seal({ r: resource, p: position } satisfies PageToken);
}

export interface Listing<T> {
  source: PageSource<T>;
  keep: (item: T) => boolean;
  start: number;
  limit: number;
  /** `$count=true`: add `@odata.count` (all matches, not just this page). */
  count: boolean;
  contextUrl: string;
  /** Path of the collection under /v1.0 for `@odata.nextLink`, and the resource its `$skiptoken` is for. */
  path: string;
  resource: string;
  shape: (item: T) => Record<string, unknown>;
  /** Ascending positions of exactly the items `keep` accepts, when an index knows them. */
  matches?: readonly number[];
}

/** One page of a Graph collection in Graph's envelope. */
export function listPage<T>(context: GraphContext, listing: Listing<T>): EmulatorReply {
  const { matches } = listing;
  const page = matches
    ? indexedPage(listing.source, matches, listing.start, listing.limit)
    : collectPage(listing.source, listing.start, listing.limit, listing.keep);
  const body: Record<string, unknown> = { '@odata.context': listing.contextUrl };
  if (listing.count) body['@odata.count'] = matches ? matches.length : countMatching(listing.source, listing.keep);
  if (page.next !== null) {
    body['@odata.nextLink'] = context.link(listing.path, ['$skiptoken'], {
      $skiptoken: pageToken(context, listing.resource, page.next),
    });
  }
  body.value = page.items.map(listing.shape);
  return context.ok(body);
}

/** Runs a parser that may throw FilterError, turning it into Graph's 400. */
export function parseOr400(context: GraphContext, parse: () => Predicate): Predicate | EmulatorReply {
  try {
    return parse();
  } catch (error) {
    if (error instanceof FilterError) return context.error(400, error.code, error.message);
    throw error;
  }
}

export function isReply(value: unknown): value is EmulatorReply {
  return (
    typeof value === 'object' &&
    value !== null &&
    'status' in value &&
    typeof (value as EmulatorReply).status === 'number'
  );
}
