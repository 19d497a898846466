import type { EmulatorReply } from '../http.ts';
import type { EmulatedUser } from '../tenant.ts';
import { isReply, listPage, parseOr400, startPosition } from './collection.ts';
import type { GraphContext } from './context.ts';
import { type FilterRules, type Predicate, parseFilter } from './filter.ts';
import { type ODataQuery, context as odataContext, readQuery, resolveSelect, USER_SHAPE, view } from './odata.ts';
import { parseSearch } from './search.ts';
import { upnIndex, upnPrefixOf } from './upn-index.ts';

/** GET /users, /users/{id}, /users/{id}/manager (and /me through the router). */

export const USER_READ = ['User.Read.All', 'User.ReadWrite.All', 'Directory.Read.All'];
const DEFAULT_PAGE = 100;

const FILTERABLE = [
  'id',
  'accountEnabled',
  'userType',
  'displayName',
  'givenName',
  'surname',
  'mail',
  'userPrincipalName',
  'jobTitle',
  'department',
  'employeeId',
  'employeeType',
  'companyName',
  'city',
  'country',
  'usageLocation',
  'officeLocation',
  'mobilePhone',
  'preferredLanguage',
  ...Array.from({ length: 15 }, (_, i) => `onPremisesExtensionAttributes/extensionAttribute${i + 1}`),
];
const USER_FILTER_PROPERTIES = new Map(FILTERABLE.map((p) => [p.toLowerCase(), p]));
// From "Advanced query capabilities on Microsoft Entra ID objects" (filter support by property of users).
const ADVANCED_ONLY = new Set(
  FILTERABLE.filter(
    (p) =>
      p.startsWith('onPremises') ||
      ['officeLocation', 'mobilePhone', 'companyName', 'employeeType', 'preferredLanguage'].includes(p),
  ),
);
/** Graph refuses `startsWith` on id, accountEnabled, userType, jobTitle and the extension attributes. */
const STARTS_WITH = new Set(
  FILTERABLE.filter(
    (p) => !['id', 'accountEnabled', 'userType', 'jobTitle'].includes(p) && !p.startsWith('onPremises'),
  ),
);
/**
 * `$expand` on directory objects "returns a maximum of 100 objects" (Graph known issue 13635): a page of
 * users with their managers expanded holds at most 100, whatever `$top` asks for.
 */
export const MAX_EXPANDED_PAGE = 100;
const SEARCHABLE = new Map(
  ['displayName', 'mail', 'userPrincipalName', 'givenName', 'surname', 'jobTitle'].map((p) => [p.toLowerCase(), p]),
);

export function userFilterRules(advanced: boolean): FilterRules {
  return {
    resource: 'User',
    properties: USER_FILTER_PROPERTIES,
    advancedOnly: ADVANCED_ONLY,
    startsWith: STARTS_WITH,
    advanced,
  };
}

/** Checks shared by Graph's directory collections: advanced-query headers, $filter and $search. */
export function collectionPredicate(
  context: GraphContext,
  query: ODataQuery,
  rules: FilterRules,
  searchable: Map<string, string>,
): Predicate | EmulatorReply {
  if (query.search !== null && !context.eventual) {
    return context.unsupported(
      "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'",
    );
  }
  if (query.count && !context.eventual) return context.badRequest('$count is not currently supported.');
  const filter = query.filter === null ? null : parseOr400(context, () => parseFilter(query.filter!, rules));
  if (isReply(filter)) return filter;
  const search = query.search === null ? null : parseOr400(context, () => parseSearch(query.search!, searchable));
  if (isReply(search)) return search;
  return (entity) => (filter === null || filter(entity)) && (search === null || search(entity));
}

export function listUsers(context: GraphContext): EmulatorReply {
  const denied = context.require(USER_READ);
  if (denied) return denied;
  const query = readQuery(context, ['$select', '$top', '$filter', '$search', '$count', '$expand', '$skiptoken']);
  if (isReply(query)) return query;
  const select = resolveSelect(context, USER_SHAPE, query.select);
  if (isReply(select)) return select;
  const expand = readExpand(context, query);
  if (isReply(expand)) return expand;
  const keep = collectionPredicate(context, query, userFilterRules(context.eventual && query.count), SEARCHABLE);
  if (isReply(keep)) return keep;
  const start = startPosition(context, query.skiptoken, 'users');
  if (isReply(start)) return start;

  const { store } = context.state;
  const prefix = query.search === null ? upnPrefixOf(query.filter) : null;
  return listPage<EmulatedUser>(context, {
    matches: prefix === null ? undefined : upnIndex(store).slotsWithPrefix(prefix),
    source: { size: store.userSlots, at: (p) => store.userAt(p) },
    keep,
    start,
    limit: Math.min(query.top ?? DEFAULT_PAGE, expand === null ? Number.POSITIVE_INFINITY : MAX_EXPANDED_PAGE),
    count: query.count,
    contextUrl: odataContext(context.base, 'users', query.select && select),
    path: 'users',
    resource: 'users',
    shape: (user) => withManager(context, view(user, USER_SHAPE, select), user, expand),
  });
}

export function getUser(context: GraphContext, id: string, self: boolean): EmulatorReply {
  const denied = self ? null : context.require(USER_READ);
  if (denied) return denied;
  const query = readQuery(context, ['$select', '$expand']);
  if (isReply(query)) return query;
  const user = context.state.store.findUser(id);
  if (!user) return context.notFound(id);
  const select = resolveSelect(context, USER_SHAPE, query.select);
  if (isReply(select)) return select;
  const expand = readExpand(context, query);
  if (isReply(expand)) return expand;
  return context.ok({
    '@odata.context': `${odataContext(context.base, 'users', query.select && select)}/$entity`,
    ...withManager(context, view(user, USER_SHAPE, select), user, expand),
  });
}

export function getManager(context: GraphContext, id: string): EmulatorReply {
  const denied = context.require(USER_READ);
  if (denied) return denied;
  const query = readQuery(context, ['$select']);
  if (isReply(query)) return query;
  const { store } = context.state;
  const user = store.findUser(id);
  if (!user) return context.notFound(id);
  const manager = user.managerId ? store.findUser(user.managerId) : undefined;
  if (!manager) return context.notFound('manager');
  const select = resolveSelect(context, USER_SHAPE, query.select);
  if (isReply(select)) return select;
  return context.ok({
    '@odata.context': `${context.base}/v1.0/$metadata#directoryObjects/$entity`,
    '@odata.type': '#microsoft.graph.user',
    ...view(manager, USER_SHAPE, select),
  });
}

/** `$expand=manager` or `$expand=manager($select=id,displayName)`; null when not asked for. */
function readExpand(context: GraphContext, query: ODataQuery): string[] | null | EmulatorReply {
  if (query.expand === null) return null;
  if (context.eventual && query.count) {
    return context.unsupported('$expand is not supported together with advanced query options.');
  }
  const match = /^manager(?:\(\$select=([^)]*)\))?$/i.exec(query.expand.trim());
  if (!match)
    return context.badRequest(
      `Parsing OData Select and Expand failed: Could not find a property named '${query.expand}' to expand.`,
    );
  const select = match[1] === undefined ? null : match[1].split(',').map((s) => s.trim());
  return resolveSelect(context, USER_SHAPE, select ?? ['id', 'displayName']);
}

function withManager(
  context: GraphContext,
  shaped: Record<string, unknown>,
  user: EmulatedUser,
  expand: string[] | null,
): Record<string, unknown> {
  if (expand === null || !user.managerId) return shaped;
  const manager = context.state.store.findUser(user.managerId);
  if (!manager) return shaped;
  return { ...shaped, manager: { '@odata.type': '#microsoft.graph.user', ...view(manager, USER_SHAPE, expand) } };
}
