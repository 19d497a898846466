import { AzureError } from './errors.ts';
import type { GraphSend } from './graph-transport.ts';
import type { GraphUser, GroupSummary } from './graph-types.ts';
import { odataString, pathSegment, queryString, searchClause } from './odata-query.ts';

/** Groups: type-ahead search, one group by id, its transitive user members. */

const EVENTUAL = { ConsistencyLevel: 'eventual' };
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Graph caps `$search` terms; longer type-ahead input is an accident. */
const MAX_SEARCH_LENGTH = 120;

interface Collection<T> {
  value?: T[];
  '@odata.nextLink'?: string;
}

type GroupItem = { id: string; displayName?: string | null };

const summary = (group: GroupItem): GroupSummary => ({ id: group.id, displayName: group.displayName ?? group.id });

export async function getGroup(send: GraphSend, id: string): Promise<GroupSummary | null> {
  const answer = await send({
    method: 'GET',
    url: `/groups/${pathSegment(id)}${queryString({ $select: 'id,displayName' })}`,
    accept: [404],
    purpose: 'reading a group',
  });
  return answer.status === 404 ? null : summary(answer.body as GroupItem);
}

/**
 * Type-ahead over the tenant's groups. `$search` matches word prefixes anywhere in the name ("mark" finds
 * "Sales & Marketing"); when Graph refuses the search text, or the text is symbols only, a `startswith`
 * filter takes over. A pasted object id finds its group directly.
 */
export async function searchGroups(
  send: GraphSend,
  text: string,
  options: { top?: number } = {},
): Promise<GroupSummary[]> {
  const top = Math.min(Math.max(options.top ?? 20, 1), 999);
  const term = text.trim().slice(0, MAX_SEARCH_LENGTH);
  if (GUID.test(term)) {
    const group = await getGroup(send, term);
    if (group) return [group];
  }
  const list = async (params: Record<string, string | number>, headers?: Record<string, string>, accept?: number[]) =>
    send({
      method: 'GET',
      url: `/groups${queryString({ ...params, $select: 'id,displayName', $top: top })}`,
      headers,
      accept,
      purpose: 'searching groups',
    });
  const groups = (answer: { body: unknown }) => (answer.body as Collection<GroupItem>).value?.map(summary) ?? [];
  const startsWith = async () => groups(await list({ $filter: `startswith(displayName,${odataString(term)})` }));
  if (term === '') return groups(await list({}));
  // $search splits names into words at symbols, so text without a letter or digit can only be a prefix.
  if (!/[\p{L}\p{N}]/u.test(term)) return startsWith();
  const searched = await list({ $search: searchClause('displayName', term) }, EVENTUAL, [400]);
  return searched.status === 400 ? startsWith() : groups(searched);
}

/**
 * Every user in the group, nested groups included, one page (≤ 999) at a time. The cast to
 * microsoft.graph.user together with `$count` is an advanced query: it needs `ConsistencyLevel: eventual`.
 */
export async function* groupUserMembers(
  send: GraphSend,
  groupId: string,
  select: readonly string[],
  options: { groupName?: string } = {},
): AsyncGenerator<GraphUser[]> {
  for await (const page of groupUserMemberPages(send, groupId, select, options)) yield page.users;
}

/** As `groupUserMembers`, each page with Graph's count of the group's user members (`@odata.count`, first page). */
export async function* groupUserMemberPages(
  send: GraphSend,
  groupId: string,
  select: readonly string[],
  options: { groupName?: string; top?: number } = {},
): AsyncGenerator<{ users: GraphUser[]; count?: number }> {
  const fields = [...new Set(['id', ...select])].join(',');
  let url: string | undefined =
    `/groups/${pathSegment(groupId)}/transitiveMembers/microsoft.graph.user` +
    queryString({ $select: fields, $top: options.top ?? 999, $count: 'true' });
  while (url) {
    const answer = await send({
      method: 'GET',
      url,
      headers: EVENTUAL,
      accept: [404],
      purpose: 'reading group members',
    });
    if (answer.status === 404) {
      const name = options.groupName ? `"${options.groupName}"` : groupId;
      throw new AzureError(
        'group_missing',
        `The group ${name} no longer exists in Entra ID: edit the groups of this connection.`,
        { status: 404, groupId, path: '/groups/{id}/transitiveMembers/microsoft.graph.user' },
      );
    }
    const body = answer.body as Collection<GraphUser> & { '@odata.count'?: unknown };
    const count = body['@odata.count'];
    yield {
      users: (body.value ?? []).map(({ '@odata.type': _type, ...user }) => user as GraphUser),
      ...(typeof count === 'number' ? { count } : {}),
    };
    url = body['@odata.nextLink'];
  }
}
