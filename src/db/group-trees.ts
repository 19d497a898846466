import type { Sql } from './client.ts';

/**
 * Owner of `group_trees` and `group_tree_members`: per group-scoped source, the `/groups/delta` link that
 * follows the chosen groups and the groups nested in them, and the direct members it reported (users and
 * groups). src/sync/membership.ts reads and advances it; a run saves it with what it applies.
 */

/** group id → its direct members: member id → whether the member is a group. */
export type DirectMembers = Map<string, Map<string, boolean>>;

export interface GroupTree {
  /** The chosen group ids, sorted and joined: a tree of another choice is not this one's. */
  chosen: string;
  /** Every group the delta link follows. */
  tracked: string[];
  deltaLink: string;
  members: DirectMembers;
}

export interface Edge {
  groupId: string;
  memberId: string;
  isGroup: boolean;
}

/** How the members changed since the tree was loaded: all of them anew, or these edges added and removed. */
export type MembersChange = { replace: true } | { replace: false; added: Edge[]; removed: Edge[] };

export async function loadGroupTree(sql: Sql, sourceId: string): Promise<GroupTree | null> {
  const [row] = await sql<{ chosen: string; tracked: string[]; delta_link: string }[]>`
    select chosen, tracked, delta_link from group_trees where source_id = ${sourceId}`;
  if (!row) return null;
  const members: DirectMembers = new Map();
  const edges = await sql<{ group_id: string; member_id: string; member_is_group: boolean }[]>`
    select group_id, member_id, member_is_group from group_tree_members where source_id = ${sourceId}`;
  for (const edge of edges) {
    let direct = members.get(edge.group_id);
    if (!direct) {
      direct = new Map();
      members.set(edge.group_id, direct);
    }
    direct.set(edge.member_id, edge.member_is_group);
  }
  return { chosen: row.chosen, tracked: row.tracked, deltaLink: row.delta_link, members };
}

const EDGES_PER_INSERT = 5_000;

/** Saves the tree: in the run's own transaction, so it moves on only with what the run applies. */
export async function saveGroupTree(sql: Sql, sourceId: string, tree: GroupTree, change: MembersChange): Promise<void> {
  await sql`
    insert into group_trees (source_id, chosen, tracked, delta_link) values
      (${sourceId}, ${tree.chosen}, ${tree.tracked}, ${tree.deltaLink})
    on conflict (source_id) do update set chosen = excluded.chosen, tracked = excluded.tracked,
      delta_link = excluded.delta_link, updated_at = now()`;
  let added: Edge[];
  if (change.replace) {
    await sql`delete from group_tree_members where source_id = ${sourceId}`;
    added = [...tree.members].flatMap(([groupId, direct]) =>
      [...direct].map(([memberId, isGroup]) => ({ groupId, memberId, isGroup })),
    );
  } else {
    added = change.added;
    if (change.removed.length > 0) {
      await sql`
        delete from group_tree_members where source_id = ${sourceId} and (group_id, member_id) in (
          select * from unnest(${change.removed.map((e) => e.groupId)}::text[], ${change.removed.map((e) => e.memberId)}::text[]))`;
    }
  }
  for (let i = 0; i < added.length; i += EDGES_PER_INSERT) {
    const rows = added.slice(i, i + EDGES_PER_INSERT);
    await sql`
      insert into group_tree_members (source_id, group_id, member_id, member_is_group)
      select ${sourceId}, g, m, k = 'group' from unnest(${rows.map((e) => e.groupId)}::text[],
        ${rows.map((e) => e.memberId)}::text[], ${rows.map((e) => (e.isGroup ? 'group' : 'user'))}::text[]) as t(g, m, k)
      on conflict do nothing`;
  }
}

/** The tree can no longer be trusted (its link expired, a chosen group is gone): the next run starts anew. */
export async function forgetGroupTree(sql: Sql, sourceId: string): Promise<void> {
  await sql`delete from group_trees where source_id = ${sourceId}`;
  await sql`delete from group_tree_members where source_id = ${sourceId}`;
}
