import type { EmulatorReply } from '../http.ts';
import type { EmulatedGroup } from '../tenant.ts';
import { isReply } from './collection.ts';
import type { GraphContext } from './context.ts';
import { deltaPage, expired, filteredIds, preferredPageSize, tokenAlive } from './delta.ts';
import { GROUP_READ } from './groups.ts';
import { GROUP_SHAPE, readQuery, resolveSelect, view } from './odata.ts';

/**
 * GET /groups/delta, as "group: delta" (learn.microsoft.com/graph/api/group-delta) and "Get incremental
 * changes for groups" (learn.microsoft.com/graph/delta-query-groups) describe it:
 * - permission: GroupMember.Read.All is the least privileged (Group.Read.All, Directory.Read.All also do);
 * - `$select` picks the tracked properties; `members` in it adds `members@delta`: in the first round every
 *   direct member, afterwards only those added or removed (`"@removed": {"reason": "deleted"}`). Members are
 *   direct only: a nested group is a member of type `#microsoft.graph.group`, never expanded;
 * - a group deleted since the last round comes back as `{"id", "@removed": {"reason"}}`: `deleted` for a
 *   security group (gone for good), `changed` for a Microsoft 365 group (restorable);
 * - `$filter` takes object ids only (`id eq '…' or id eq '…'`, at most 50), which scope the rounds to them;
 *   any other filter, `$expand`, `$orderby`, `$search`, `$count` are refused as Graph refuses them;
 * - query options belong to the first request and travel inside the tokens; `$deltatoken=latest` answers
 *   at once with a deltaLink and no groups; tokens die as the users' do (7 days, a reset, expire-delta-tokens:
 *   400 `syncStateNotFound` or 410 `resyncRequired`).
 * A group with many members comes back as several items of the same id, each with a share of its members
 * (the caller merges them): MEMBERS_PER_ITEM here, so a round of big groups pages like Graph's.
 */

const MAX_PAGE = 100;
export const MEMBERS_PER_ITEM = 100;

interface GroupDeltaToken {
  r: 'groups-delta';
  g: number;
  t: number;
  select: string[];
  members: boolean;
  ids?: string[];
  /** `i`: first round, cursor = group id and member offset; `c`: changes, cursor = item index. */
  phase: 'i' | 'c';
  group: string | null;
  offset: number;
  since: number;
  upto: number;
}

type Item = Record<string, unknown>;

export function groupsDelta(context: GraphContext): EmulatorReply {
  const denied = context.require(GROUP_READ);
  if (denied) return denied;
  const query = readQuery(context, ['$select', '$top', '$filter', '$skiptoken', '$deltatoken', '$expand']);
  if (isReply(query)) return query;
  if (query.expand !== null) return context.unsupported('$expand is not supported on delta queries of groups.');
  const { store } = context.state;
  const pageSize = preferredPageSize(context, MAX_PAGE);

  let token: GroupDeltaToken;
  const presented = query.skiptoken ?? query.deltatoken;
  if (presented === 'latest' && query.deltatoken !== null) {
    const fresh = initialToken(context, query.select, query.filter);
    if (isReply(fresh)) return fresh;
    const latest = { ...fresh, phase: 'c' as const, since: store.groupLog.seq, upto: store.groupLog.seq };
    return deltaPage(context, 'groups', [], { deltaLink: seal(context, latest) }, pageSize);
  }
  if (presented !== null) {
    const opened = context.open<GroupDeltaToken>(presented);
    if (opened?.r !== 'groups-delta' || !tokenAlive(context, opened)) {
      return expired(context, 'groups', opened?.r === 'groups-delta' ? selected(opened) : null);
    }
    token = opened;
    if (query.deltatoken !== null) {
      token = { ...token, phase: 'c', group: null, offset: 0, since: token.upto, upto: store.groupLog.seq };
    }
  } else {
    const fresh = initialToken(context, query.select, query.filter);
    if (isReply(fresh)) return fresh;
    token = fresh;
  }

  const { items, next } =
    token.phase === 'i' ? firstRound(context, token, pageSize) : changes(context, token, pageSize);
  if (next) return deltaPage(context, 'groups', items, { nextLink: seal(context, { ...token, ...next }) }, pageSize);
  const end: GroupDeltaToken = { ...token, phase: 'c', group: null, offset: 0, since: token.upto, upto: token.upto };
  return deltaPage(context, 'groups', items, { deltaLink: seal(context, end) }, pageSize);
}

/** Every tracked group with all its direct members, in id order, a page at a time. */
function firstRound(
  context: GraphContext,
  token: GroupDeltaToken,
  pageSize: number,
): { items: Item[]; next: { group: string; offset: number } | null } {
  const { store } = context.state;
  const tracked = token.ids ? new Set(token.ids) : null;
  const groups = [...store.tenant.groups.values()]
    .filter((g) => (!tracked || tracked.has(g.id)) && (token.group === null || g.id >= token.group))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const items: Item[] = [];
  for (const group of groups) {
    const members = token.members ? store.directMembers(group) : [];
    let offset = group.id === token.group ? token.offset : 0;
    do {
      if (items.length === pageSize) return { items, next: { group: group.id, offset } };
      const share = members.slice(offset, offset + MEMBERS_PER_ITEM);
      items.push(
        represent(
          context,
          group,
          token,
          share.map((id) => ({ id, removed: false })),
        ),
      );
      offset += MEMBERS_PER_ITEM;
    } while (offset < members.length);
  }
  return { items, next: null };
}

/** The tracked groups changed in the round's window: deleted ones, and the net member changes of the others. */
function changes(
  context: GraphContext,
  token: GroupDeltaToken,
  pageSize: number,
): { items: Item[]; next: { offset: number } | null } {
  const { store } = context.state;
  const tracked = token.ids ? new Set(token.ids) : null;
  const all: Item[] = [];
  for (const change of store.groupLog.changesIn(token.since, token.upto)) {
    if (tracked && !tracked.has(change.groupId)) continue;
    const group = store.tenant.groups.get(change.groupId);
    if (change.deleted || !group) {
      all.push({ id: change.groupId, '@removed': { reason: change.deleted ?? 'deleted' } });
      continue;
    }
    const propertyChanged =
      change.touched === 'all' ||
      token.select.some((name) => name !== 'id' && (change.touched as Set<string>).has(name));
    const members = token.members ? [...change.members].map(([id, m]) => ({ id, removed: m.removed })) : [];
    if (!propertyChanged && members.length === 0) continue;
    let offset = 0;
    do {
      all.push(represent(context, group, token, members.slice(offset, offset + MEMBERS_PER_ITEM)));
      offset += MEMBERS_PER_ITEM;
    } while (offset < members.length);
  }
  const items = all.slice(token.offset, token.offset + pageSize);
  const end = token.offset + items.length;
  return { items, next: end < all.length ? { offset: end } : null };
}

function represent(
  context: GraphContext,
  group: EmulatedGroup,
  token: GroupDeltaToken,
  members: { id: string; removed: boolean }[],
): Item {
  const item = view(group, GROUP_SHAPE, token.select);
  if (token.members) {
    const { tenant } = context.state.store;
    item['members@delta'] = members.map(({ id, removed }) => ({
      '@odata.type': tenant.groups.has(id) ? '#microsoft.graph.group' : '#microsoft.graph.user',
      id,
      ...(removed ? { '@removed': { reason: 'deleted' } } : {}),
    }));
  }
  return item;
}

function initialToken(
  context: GraphContext,
  select: string[] | null,
  filter: string | null,
): GroupDeltaToken | EmulatorReply {
  const names = resolveSelect(context, GROUP_SHAPE, select, true);
  if (isReply(names)) return names;
  const ids = filteredIds(context, filter);
  if (isReply(ids)) return ids;
  const properties = names.filter((n) => n !== 'members');
  if (!properties.includes('id')) properties.unshift('id');
  return {
    r: 'groups-delta',
    g: context.state.deltaGeneration,
    t: context.state.now(),
    select: properties,
    members: names.includes('members'),
    ...(ids ? { ids } : {}),
    phase: 'i',
    group: null,
    offset: 0,
    since: -1,
    upto: context.state.store.groupLog.seq,
  };
}

const selected = (token: GroupDeltaToken) => [...token.select, ...(token.members ? ['members'] : [])];

function seal(context: GraphContext, token: GroupDeltaToken): string {
  return context.seal({ ...token, t: context.state.now() });
}
