import type { EmulatorReply } from '../http.ts';
import type { EmulatedGroup, EmulatedUser } from '../tenant.ts';
import type { GraphContext } from './context.ts';

/**
 * OData system query options as Graph reads them ($-prefixed, names case-insensitive), and the user and
 * group shapes Graph returns: default properties without `$select`, only the chosen ones with it.
 */

export interface ODataQuery {
  select: string[] | null;
  top: number | null;
  filter: string | null;
  search: string | null;
  count: boolean;
  expand: string | null;
  skiptoken: string | null;
  deltatoken: string | null;
}

const KNOWN = [
  '$select',
  '$top',
  '$filter',
  '$search',
  '$count',
  '$expand',
  '$orderby',
  '$skiptoken',
  '$deltatoken',
  '$skip',
  '$format',
];

export function readQuery(context: GraphContext, allowed: readonly string[]): ODataQuery | EmulatorReply {
  const values = new Map<string, string>();
  for (const [rawName, value] of context.request.query) {
    const name = rawName.toLowerCase();
    if (!name.startsWith('$')) continue;
    if (!KNOWN.includes(name)) return context.badRequest(`Query option '${rawName}' is not allowed.`);
    if (!allowed.includes(name)) {
      return context.badRequest(`Query option '${rawName}' is not allowed on this resource.`);
    }
    if (values.has(name))
      return context.badRequest(
        `Query option '${rawName}' was specified more than once, but it must be specified at most once.`,
      );
    values.set(name, value);
  }
  let top: number | null = null;
  if (values.has('$top')) {
    const raw = values.get('$top')!;
    top = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (!(top >= 1 && top <= 999)) {
      return context.unsupported(`Invalid page size specified: '${raw}'. Must be between 1 and 999 inclusive.`);
    }
  }
  const count = values.get('$count');
  if (count !== undefined && count !== 'true' && count !== 'false') {
    return context.badRequest(`The value '${count}' is not valid for the query option '$count'.`);
  }
  const select = values.has('$select')
    ? values
        .get('$select')!
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : null;
  return {
    select,
    top,
    filter: values.get('$filter') ?? null,
    search: values.get('$search') ?? null,
    count: count === 'true',
    expand: values.get('$expand') ?? null,
    skiptoken: values.get('$skiptoken') ?? null,
    deltatoken: values.get('$deltatoken') ?? null,
  };
}

const USER_DEFAULT = [
  'businessPhones',
  'displayName',
  'givenName',
  'jobTitle',
  'mail',
  'mobilePhone',
  'officeLocation',
  'preferredLanguage',
  'surname',
  'userPrincipalName',
  'id',
];

const USER_MORE = [
  'accountEnabled',
  'ageGroup',
  'city',
  'companyName',
  'country',
  'createdDateTime',
  'creationType',
  'deletedDateTime',
  'department',
  'employeeHireDate',
  'employeeId',
  'employeeOrgData',
  'employeeType',
  'externalUserState',
  'faxNumber',
  'imAddresses',
  'isResourceAccount',
  'lastPasswordChangeDateTime',
  'mailNickname',
  'otherMails',
  'onPremisesDistinguishedName',
  'onPremisesDomainName',
  'onPremisesExtensionAttributes',
  'onPremisesImmutableId',
  'onPremisesLastSyncDateTime',
  'onPremisesSamAccountName',
  'onPremisesSecurityIdentifier',
  'onPremisesSyncEnabled',
  'onPremisesUserPrincipalName',
  'postalCode',
  'proxyAddresses',
  'showInAddressList',
  'state',
  'streetAddress',
  'usageLocation',
  'userType',
];

const USER_COLLECTIONS = new Set(['businessPhones', 'imAddresses', 'otherMails', 'proxyAddresses']);

const GROUP_DEFAULT = [
  'id',
  'createdDateTime',
  'deletedDateTime',
  'description',
  'displayName',
  'groupTypes',
  'mail',
  'mailEnabled',
  'mailNickname',
  'membershipRule',
  'membershipRuleProcessingState',
  'onPremisesSyncEnabled',
  'securityEnabled',
  'visibility',
];

const GROUP_COLLECTIONS = new Set(['groupTypes', 'proxyAddresses']);

export interface EntityShape {
  name: string;
  defaults: readonly string[];
  /** Lower-case name → canonical spelling. */
  properties: Map<string, string>;
  collections: Set<string>;
  /** Navigation properties that may appear in `$select` of a delta query. */
  navigation: Set<string>;
}

const canonical = (names: readonly string[]) => new Map(names.map((n) => [n.toLowerCase(), n]));

export const USER_SHAPE: EntityShape = {
  name: 'microsoft.graph.user',
  defaults: USER_DEFAULT,
  properties: canonical([...USER_DEFAULT, ...USER_MORE]),
  collections: USER_COLLECTIONS,
  navigation: new Set(['manager']),
};

export const GROUP_SHAPE: EntityShape = {
  name: 'microsoft.graph.group',
  defaults: GROUP_DEFAULT,
  properties: canonical([...GROUP_DEFAULT, 'proxyAddresses', 'securityIdentifier', 'classification']),
  collections: GROUP_COLLECTIONS,
  navigation: new Set(['members']),
};

/** Canonical property names for `$select`, or an error naming the first unknown one. */
export function resolveSelect(
  context: GraphContext,
  shape: EntityShape,
  select: string[] | null,
  allowNavigation = false,
): string[] | EmulatorReply {
  if (select === null) return [...shape.defaults];
  const names: string[] = [];
  for (const raw of select) {
    const lower = raw.toLowerCase();
    const name =
      shape.properties.get(lower) ??
      (allowNavigation && shape.navigation.has(lower) ? lower : undefined) ??
      (lower.startsWith('extension_') ? raw : undefined);
    if (!name) return context.badRequest(`Could not find a property named '${raw}' on type '${shape.name}'.`);
    if (!names.includes(name)) names.push(name);
  }
  return names;
}

/** The JSON Graph returns for `entity` with `properties` (absent values are null, absent collections []). */
export function view(
  entity: EmulatedUser | EmulatedGroup,
  shape: EntityShape,
  properties: readonly string[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of properties) {
    if (shape.navigation.has(name)) continue;
    const value = entity[name];
    out[name] = value === undefined || value === null ? (shape.collections.has(name) ? [] : null) : value;
  }
  return out;
}

export function context(base: string, entitySet: string, select: string[] | null): string {
  return `${base}/v1.0/$metadata#${entitySet}${select ? `(${select.join(',')})` : ''}`;
}
