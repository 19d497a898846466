import type { GraphSend } from './graph-transport.ts';
import { queryString } from './odata-query.ts';
import { deltaRefusal, idFilter, USERS_DELTA_MAX_IDS } from './users-delta.ts';

/**
 * `/groups/delta?$select=members&$filter=id eq '…' or …`: the direct members of up to 50 groups, then only
 * who joined or left them ("group: delta", learn.microsoft.com/graph/api/group-delta: GroupMember.Read.All is
 * its least privileged permission; "Get incremental changes for groups", learn.microsoft.com/graph/delta-query-groups).
 * Members are direct only: a nested group is a member of type group, which the caller tracks as well.
 * A group may come back as several items in one round, each with a share of its members.
 */

/** Graph tracks at most this many objects in one filtered delta round (the same limit as users'). */
export const GROUPS_DELTA_MAX_IDS = USERS_DELTA_MAX_IDS;

export interface GroupMemberChange {
  id: string;
  kind: 'user' | 'group';
  removed: boolean;
}

export interface GroupDeltaItem {
  groupId: string;
  /** The group itself is gone: `changed` (restorable Microsoft 365 group) or `deleted`. */
  removed?: 'changed' | 'deleted';
  /** Users and groups only: devices, contacts and service principals are no people. */
  members: GroupMemberChange[];
}

export interface GroupsDeltaPage {
  groups: GroupDeltaItem[];
  deltaLink?: string;
}

type Item = { id: string; '@removed'?: { reason?: string }; 'members@delta'?: unknown };
type Member = { '@odata.type'?: string; id?: unknown; '@removed'?: unknown };

const KINDS: Record<string, 'user' | 'group'> = {
  '#microsoft.graph.user': 'user',
  '#microsoft.graph.group': 'group',
};

export async function* groupsDelta(
  send: GraphSend,
  input: { groupIds?: readonly string[]; deltaLink?: string },
): AsyncGenerator<GroupsDeltaPage> {
  let url: string | undefined = input.deltaLink ?? firstUrl(input.groupIds ?? []);
  while (url) {
    const answer = await send({ method: 'GET', url, accept: [400, 410], purpose: 'reading group memberships' });
    if (answer.status === 410 || answer.status === 400) {
      throw deltaRefusal(answer, '/groups/delta', 'group memberships');
    }
    const body = answer.body as { value?: Item[]; '@odata.nextLink'?: string; '@odata.deltaLink'?: string };
    const groups = (body.value ?? []).map(toItem);
    url = body['@odata.nextLink'];
    yield { groups, deltaLink: url ? undefined : body['@odata.deltaLink'] };
  }
}

function firstUrl(groupIds: readonly string[]): string {
  return `/groups/delta${queryString({ $select: 'members', $filter: idFilter(groupIds) })}`;
}

function toItem(item: Item): GroupDeltaItem {
  if (item['@removed']) {
    return { groupId: item.id, removed: item['@removed'].reason === 'changed' ? 'changed' : 'deleted', members: [] };
  }
  const raw = Array.isArray(item['members@delta']) ? (item['members@delta'] as Member[]) : [];
  const members: GroupMemberChange[] = [];
  for (const member of raw) {
    const kind = KINDS[String(member['@odata.type'] ?? '').toLowerCase()];
    if (kind && typeof member.id === 'string') members.push({ id: member.id, kind, removed: !!member['@removed'] });
  }
  return { groupId: item.id, members };
}
