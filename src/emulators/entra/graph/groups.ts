import type { EmulatorReply } from '../http.ts';
import type { EmulatedGroup, EmulatedUser } from '../tenant.ts';
import { arraySource, isReply, listPage, startPosition } from './collection.ts';
import type { GraphContext } from './context.ts';
import type { FilterRules } from './filter.ts';
import { GROUP_SHAPE, context as odataContext, readQuery, resolveSelect, USER_SHAPE, view } from './odata.ts';
import { collectionPredicate, USER_READ, userFilterRules } from './users.ts';

/** GET /groups (type-ahead by $search or startswith), /groups/{id}, members and transitive members. */

export const GROUP_READ = ['GroupMember.Read.All', 'Group.Read.All', 'Directory.Read.All'];
const DEFAULT_PAGE = 100;

const GROUP_FILTER: FilterRules = {
  resource: 'Group',
  properties: new Map(
    ['id', 'displayName', 'mail', 'mailEnabled', 'mailNickname', 'securityEnabled', 'description'].map((p) => [
      p.toLowerCase(),
      p,
    ]),
  ),
  advancedOnly: new Set(['description']),
  advanced: false,
};
const GROUP_SEARCH = new Map(['displayName', 'description', 'mail', 'mailNickname'].map((p) => [p.toLowerCase(), p]));

export function listGroups(context: GraphContext): EmulatorReply {
  const denied = context.require(GROUP_READ);
  if (denied) return denied;
  const query = readQuery(context, ['$select', '$top', '$filter', '$search', '$count', '$skiptoken']);
  if (isReply(query)) return query;
  const select = resolveSelect(context, GROUP_SHAPE, query.select);
  if (isReply(select)) return select;
  const keep = collectionPredicate(
    context,
    query,
    { ...GROUP_FILTER, advanced: context.eventual && query.count },
    GROUP_SEARCH,
  );
  if (isReply(keep)) return keep;
  const start = startPosition(context, query.skiptoken, 'groups');
  if (isReply(start)) return start;

  return listPage(context, {
    source: arraySource([...context.state.store.tenant.groups.values()]),
    keep,
    start,
    limit: query.top ?? DEFAULT_PAGE,
    count: query.count,
    contextUrl: odataContext(context.base, 'groups', query.select && select),
    path: 'groups',
    resource: 'groups',
    shape: (group) => view(group, GROUP_SHAPE, select),
  });
}

export function getGroup(context: GraphContext, id: string): EmulatorReply {
  const denied = context.require(GROUP_READ);
  if (denied) return denied;
  const query = readQuery(context, ['$select']);
  if (isReply(query)) return query;
  const group = context.state.store.tenant.groups.get(id.toLowerCase());
  if (!group) return context.notFound(id);
  const select = resolveSelect(context, GROUP_SHAPE, query.select);
  if (isReply(select)) return select;
  return context.ok({
    '@odata.context': `${odataContext(context.base, 'groups', query.select && select)}/$entity`,
    ...view(group, GROUP_SHAPE, select),
  });
}

const CASTS = new Set([
  'microsoft.graph.user',
  'microsoft.graph.group',
  'microsoft.graph.device',
  'microsoft.graph.orgcontact',
  'microsoft.graph.serviceprincipal',
]);

/**
 * `/groups/{id}/members` and `/transitiveMembers`, optionally cast (`/microsoft.graph.user`). A cast alone,
 * or with $select/$top, is an ordinary query; a cast (or a members list) with $filter, $search or $count
 * is an advanced query and needs `ConsistencyLevel: eventual` plus `$count=true`.
 */
export function listMembers(
  context: GraphContext,
  id: string,
  relation: 'members' | 'transitiveMembers',
  cast: string | null,
): EmulatorReply {
  const denied = context.require(GROUP_READ);
  if (denied) return denied;
  const castType = cast?.toLowerCase() ?? null;
  if (castType !== null && !CASTS.has(castType))
    return context.badRequest(`Resource not found for the segment '${cast}'.`);
  const query = readQuery(context, ['$select', '$top', '$filter', '$search', '$count', '$skiptoken']);
  if (isReply(query)) return query;
  const { store } = context.state;
  const group = store.tenant.groups.get(id.toLowerCase());
  if (!group) return context.notFound(id);
  const advanced = context.eventual && query.count;
  if ((query.filter !== null || query.search !== null || query.count) && !advanced) {
    return context.unsupported(
      'Unsupported Query. Filtering, searching or counting members needs the ConsistencyLevel: eventual header and $count=true.',
    );
  }
  if (castType === 'microsoft.graph.group' && group.groupTypes.includes('Unified')) {
    return context.unsupported('Microsoft 365 groups cannot have groups as members.');
  }

  const selects = memberSelects(context, castType, query.select);
  if (isReply(selects)) return selects;
  const keepUser = collectionPredicate(
    context,
    query,
    userFilterRules(advanced),
    new Map([['displayname', 'displayName']]),
  );
  if (isReply(keepUser)) return keepUser;
  const resource = `${relation}:${group.id}:${castType ?? ''}`;
  const start = startPosition(context, query.skiptoken, resource);
  if (isReply(start)) return start;

  const ids = relation === 'members' ? store.directMembers(group) : store.transitiveMembers(group);
  const resolve = (memberId: string): EmulatedUser | EmulatedGroup | undefined =>
    store.tenant.users.get(memberId) ?? store.tenant.groups.get(memberId);
  const wanted = (member: EmulatedUser | EmulatedGroup) => {
    const isGroup = member.members instanceof Set;
    if (castType !== null && castType !== (isGroup ? 'microsoft.graph.group' : 'microsoft.graph.user')) return false;
    return keepUser(member);
  };
  // Without permission to read users, Graph still lists them but with nothing beyond type and id.
  const fullUsers = context.has(USER_READ);
  const entitySet =
    castType === 'microsoft.graph.user'
      ? 'users'
      : castType === 'microsoft.graph.group'
        ? 'groups'
        : 'directoryObjects';
  return listPage(context, {
    source: { size: ids.length, at: (position: number) => resolve(ids[position]) },
    keep: wanted,
    start,
    limit: query.top ?? DEFAULT_PAGE,
    count: query.count,
    contextUrl: `${context.base}/v1.0/$metadata#${entitySet}`,
    path: `groups/${group.id}/${relation}${cast ? `/${cast}` : ''}`,
    resource,
    shape: (member) => {
      if (member.members instanceof Set) {
        return {
          '@odata.type': '#microsoft.graph.group',
          ...view(member as EmulatedGroup, GROUP_SHAPE, selects.group),
        };
      }
      const shaped = view(member as EmulatedUser, USER_SHAPE, selects.user);
      if (!fullUsers) for (const key of Object.keys(shaped)) if (key !== 'id') shaped[key] = null;
      return { '@odata.type': '#microsoft.graph.user', ...shaped };
    },
  });
}

/**
 * `$select` on a members list: a cast names one type, whose properties it must use; a plain directory-object
 * list takes properties of either type and gives each member the ones that apply to it.
 */
function memberSelects(
  context: GraphContext,
  castType: string | null,
  select: string[] | null,
): { user: string[]; group: string[] } | EmulatorReply {
  if (castType === 'microsoft.graph.user' || castType === 'microsoft.graph.group') {
    const shape = castType === 'microsoft.graph.user' ? USER_SHAPE : GROUP_SHAPE;
    const names = resolveSelect(context, shape, select);
    if (isReply(names)) return names;
    return { user: names, group: names };
  }
  if (select === null) return { user: [...USER_SHAPE.defaults], group: [...GROUP_SHAPE.defaults] };
  const unknown = select.find(
    (p) => !USER_SHAPE.properties.has(p.toLowerCase()) && !GROUP_SHAPE.properties.has(p.toLowerCase()),
  );
  if (unknown) {
    return context.badRequest(
      `Could not find a property named '${unknown}' on type 'microsoft.graph.directoryObject'.`,
    );
  }
  const pick = (shape: typeof USER_SHAPE) =>
    select.filter((p) => shape.properties.has(p.toLowerCase())).map((p) => shape.properties.get(p.toLowerCase())!);
  return { user: pick(USER_SHAPE), group: pick(GROUP_SHAPE) };
}
