import { type EmulatorReply, header } from '../http.ts';
import type { EmulatedUser, Touched } from '../tenant.ts';
import { isReply } from './collection.ts';
import type { GraphContext } from './context.ts';
import { deltaFilterIds, FilterError } from './filter.ts';
import { readQuery, resolveSelect, USER_SHAPE, view } from './odata.ts';
import { USER_READ } from './users.ts';

/**
 * GET /users/delta. A round is the initial listing (or the changes since the last deltaLink) read page
 * by page through `@odata.nextLink`; its last page carries `@odata.deltaLink` for the next round. Tokens
 * hold the round's boundaries in the change log, so a page costs its size, not the tenant's.
 *
 * Like Graph: query options belong to the first request only (they travel inside the tokens); `$top` is
 * ignored; pages hold at most 200 users (`Prefer: odata.maxpagesize=N` may ask for fewer); tokens older
 * than 7 days, from before a reset or /_emulator/expire-delta-tokens, or not issued here are refused with
 * 400 `syncStateNotFound` (or 410 `resyncRequired` with a Location header, when the emulator is told so).
 * `$filter` takes object ids only (`id eq '…' or …`, `id in (…)`, ≤ 50), which scope the round to them.
 */

const MAX_PAGE = 200;
const TOKEN_LIFETIME_MS = 7 * 24 * 3600 * 1000;

interface DeltaToken {
  r: 'delta';
  /** Generation of the delta state; reset and expire-delta-tokens start a new one. */
  g: number;
  /** Issued at, emulator clock (ms). */
  t: number;
  select: string[];
  manager: boolean;
  /** `i`: initial listing, position = user slot; `c`: changes, position = change-log index (null: start). */
  phase: 'i' | 'c';
  position: number | null;
  since: number;
  upto: number;
  /** `$filter=id eq '…'` / `id in (…)`: the only users this round tracks. */
  ids?: string[];
}

export function usersDelta(context: GraphContext): EmulatorReply {
  const denied = context.require(USER_READ);
  if (denied) return denied;
  const query = readQuery(context, ['$select', '$top', '$filter', '$skiptoken', '$deltatoken', '$expand', '$orderby']);
  if (isReply(query)) return query;
  if (query.expand !== null) return context.unsupported('$expand is not supported on delta queries of users.');
  const { state } = context;
  const pageSize = preferredPageSize(context);

  let token: DeltaToken;
  const presented = query.skiptoken ?? query.deltatoken;
  if (presented === 'latest' && query.deltatoken !== null) {
    const fresh = initialToken(context, query.select, query.filter);
    if (isReply(fresh)) return fresh;
    const latest = { ...fresh, phase: 'c' as const, since: state.store.seq, upto: state.store.seq };
    return deltaPage(context, 'users', [], { deltaLink: seal(context, latest) }, pageSize);
  }
  if (presented !== null) {
    const opened = context.open<DeltaToken>(presented);
    if (opened?.r !== 'delta' || !tokenAlive(context, opened)) {
      return expired(context, 'users', opened && [...opened.select, ...(opened.manager ? ['manager'] : [])]);
    }
    token = opened;
    if (query.deltatoken !== null) {
      // A deltaLink starts a new round: everything changed after the previous round's end.
      token = { ...token, phase: 'c', position: null, since: token.upto, upto: state.store.seq };
    }
  } else {
    const fresh = initialToken(context, query.select, query.filter);
    if (isReply(fresh)) return fresh;
    token = fresh;
  }

  const { store } = state;
  const tracked = token.ids ? new Set(token.ids) : null;
  const items: Record<string, unknown>[] = [];
  let next: number | null;
  if (token.phase === 'i') {
    let position = token.position ?? 0;
    for (; position < store.userSlots && items.length < pageSize; position++) {
      const user = store.userAt(position);
      if (user && (!tracked || tracked.has(user.id)))
        items.push(represent(user, token, user.managerId ? { id: user.managerId } : null));
    }
    next = position < store.userSlots ? position : null;
  } else {
    const page = store.changesAfter(token.since, token.upto, token.position, pageSize);
    for (const change of page.changes) {
      if (tracked && !tracked.has(change.user.id)) continue;
      if (change.removed) {
        items.push({ id: change.user.id, '@removed': { reason: change.removed } });
        continue;
      }
      if (!tracks(token, change.touched)) continue;
      const managerChanged = token.manager && (change.touched === 'all' || change.touched.has('manager'));
      const manager = !managerChanged
        ? null
        : change.user.managerId
          ? { id: change.user.managerId }
          : change.formerManagerId
            ? { id: change.formerManagerId, removed: true }
            : null;
      items.push(represent(change.user, token, manager));
    }
    next = page.next;
  }
  if (next !== null)
    return deltaPage(context, 'users', items, { nextLink: seal(context, { ...token, position: next }) }, pageSize);
  const end: DeltaToken = { ...token, phase: 'c', position: null, since: token.upto, upto: token.upto };
  return deltaPage(context, 'users', items, { deltaLink: seal(context, end) }, pageSize);
}

/**
 * Whether a change shows in this round: with `$select`, Graph tracks changes to the selected properties
 * only ("Use delta query to track changes in Microsoft Graph data", learn.microsoft.com/graph/delta-query-overview,
 * optional query parameters), so a change to anything else does not make the user appear.
 */
function tracks(token: DeltaToken, touched: Touched): boolean {
  if (touched === 'all') return true;
  if (token.manager && touched.has('manager')) return true;
  return token.select.some((name) => touched.has(name));
}

function initialToken(
  context: GraphContext,
  select: string[] | null,
  filter: string | null,
): DeltaToken | EmulatorReply {
  const names = resolveSelect(context, USER_SHAPE, select, true);
  if (isReply(names)) return names;
  const ids = filteredIds(context, filter);
  if (isReply(ids)) return ids;
  const manager = names.includes('manager');
  const properties = names.filter((n) => n !== 'manager');
  if (!properties.includes('id')) properties.unshift('id');
  const { state } = context;
  return {
    r: 'delta',
    g: state.deltaGeneration,
    t: state.now(),
    select: properties,
    manager,
    phase: 'i',
    position: 0,
    since: -1,
    upto: state.store.seq,
    ...(ids ? { ids } : {}),
  };
}

/** A delta round's `$filter`: the object ids it names (≤ 50), or Graph's 400 for anything else. */
export function filteredIds(context: GraphContext, filter: string | null): string[] | undefined | EmulatorReply {
  if (filter === null) return undefined;
  try {
    return [...deltaFilterIds(filter)];
  } catch (error) {
    if (error instanceof FilterError) return context.error(400, error.code, error.message);
    throw error;
  }
}

function represent(
  user: EmulatedUser,
  token: DeltaToken,
  manager: { id: string; removed?: boolean } | null,
): Record<string, unknown> {
  const shaped = view(user, USER_SHAPE, token.select);
  if (token.manager && manager) {
    shaped['manager@delta'] = [
      {
        '@odata.type': '#microsoft.graph.user',
        id: manager.id,
        ...(manager.removed ? { '@removed': { reason: 'deleted' } } : {}),
      },
    ];
  }
  return shaped;
}

function seal(context: GraphContext, token: DeltaToken): string {
  return context.seal({ ...token, t: context.state.now() });
}

/** One page of a delta round of `resource`: the items, then the next page's link or the next round's. */
export function deltaPage(
  context: GraphContext,
  resource: 'users' | 'groups',
  items: Record<string, unknown>[],
  link: { nextLink?: string; deltaLink?: string },
  pageSize: number,
): EmulatorReply {
  const base = `${context.base}/v1.0/${resource}/delta`;
  const body: Record<string, unknown> = { '@odata.context': `${context.base}/v1.0/$metadata#${resource}` };
  if (link.nextLink) body['@odata.nextLink'] = `${base}?$skiptoken=${link.nextLink}`;
  body.value = items;
  if (link.deltaLink) body['@odata.deltaLink'] = `${base}?$deltatoken=${link.deltaLink}`;
  const asked = /odata\.maxpagesize=\d+/i.test(header(context.request, 'prefer') ?? '');
  return context.ok(body, asked ? { 'preference-applied': `odata.maxpagesize=${pageSize}` } : {});
}

export function preferredPageSize(context: GraphContext, max = MAX_PAGE): number {
  const match = /odata\.maxpagesize=(\d+)/i.exec(header(context.request, 'prefer') ?? '');
  const wanted = match ? Number(match[1]) : max;
  return Math.max(1, Math.min(max, wanted));
}

/** Whether a presented token may still be used: same delta generation, younger than 7 days. */
export function tokenAlive(context: GraphContext, token: { g: number; t: number } | null): boolean {
  return (
    token !== null && token.g === context.state.deltaGeneration && context.state.now() - token.t <= TOKEN_LIFETIME_MS
  );
}

/** A token that is no longer usable: 400 `syncStateNotFound`, or 410 `resyncRequired` when told so. */
export function expired(context: GraphContext, resource: 'users' | 'groups', select: string[] | null): EmulatorReply {
  if (context.state.deltaExpiryStyle === 'gone') {
    const location = `${context.base}/v1.0/${resource}/delta${select ? `?$select=${select.join(',')}` : ''}`;
    return context.error(
      410,
      'resyncRequired',
      'Resync required. Replace any local items with the server’s versions (including deletes) if you’re sure that the service was up to date with your local changes when you last sync’d.',
      { location },
    );
  }
  return context.error(
    400,
    'syncStateNotFound',
    'The sync state generation is not found. The delta token is expired and data must be synchronized again.',
  );
}
