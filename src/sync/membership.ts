import { DeltaExpiredError, GROUPS_DELTA_MAX_IDS, type GroupDeltaItem } from '../azure/index.ts';
import type { Sql } from '../db/client.ts';
import {
  type DirectMembers,
  type Edge,
  forgetGroupTree,
  type GroupTree,
  loadGroupTree,
  type MembersChange,
  saveGroupTree,
} from '../db/group-trees.ts';
import type { SourceReader } from './reader.ts';

/**
 * Who is in a group-scoped source's groups, learnt incrementally: `/groups/delta` (filtered to the chosen
 * groups and every group nested in them, `members` selected) reports direct members, then only who joined
 * or left which group; the tree of direct members is kept (db/group-trees.ts) and the transitive user
 * members are computed from it. The run compares them with the directory as before (read.ts): a newcomer is
 * read by id, someone no longer reachable from any chosen group leaves — a leave from one group while a
 * nested one still holds the person changes nothing. A group newly nested brings its members (the link is
 * restarted to follow it, one first round); a nested group removed takes away those not held otherwise.
 *
 * Not trusted, and the run reads in full (saying why): the link expired (400 syncStateNotFound, 410
 * resyncRequired), or a chosen group was deleted (the full read then names it). Beyond GROUPS_DELTA_MAX_IDS
 * groups to follow, Graph's filter limit, the run lists each chosen group's members instead, as before.
 */

export interface GroupRef {
  groupId: string;
  displayName: string;
}

export interface MembershipReport {
  /** `continued`: the stored link went on; `started`: a first round (no tree, another choice of groups, a new nested group). */
  read: 'continued' | 'started';
  groups: number;
  /** Member changes a continued round reported. */
  changes: number;
}

export type MembershipOutcome =
  | { kind: 'tracked'; users: Set<string>; report: MembershipReport; save(tx: Sql): Promise<void> }
  /** The tree cannot be trusted: the run reads in full; the tree is forgotten so the next run starts anew. */
  | { kind: 'untrusted'; why: string }
  /** More groups than one filtered round follows: members are listed instead. */
  | { kind: 'untracked'; why: string };

/** Rounds that may each discover a deeper level of nesting before giving up on following the tree. */
const MAX_RESTARTS = 10;

interface MembershipInput {
  reader: SourceReader;
  sql: Sql;
  sourceId: string;
  groups: readonly GroupRef[];
}

export async function trackMembership(input: MembershipInput): Promise<MembershipOutcome> {
  const outcome = await followTree(input);
  // A tree that cannot be trusted, or that no longer follows these groups, is forgotten: the next run starts anew.
  if (outcome.kind !== 'tracked') await forgetGroupTree(input.sql, input.sourceId);
  return outcome;
}

async function followTree(input: MembershipInput): Promise<MembershipOutcome> {
  const { reader, sql, sourceId, groups } = input;
  const chosen = [...new Set(groups.map((g) => g.groupId))].sort();
  const nameOf = (id: string) => groups.find((g) => g.groupId === id)?.displayName ?? id;
  const key = chosen.join(',');
  if (chosen.length > GROUPS_DELTA_MAX_IDS) return { kind: 'untracked', why: tooMany(chosen.length) };
  const stored = await loadGroupTree(sql, sourceId);
  let tree: GroupTree;
  let change: MembersChange;
  let report: MembershipReport;

  if (stored && stored.chosen === key) {
    tree = stored;
    const edges = new Map<string, { edge: Edge; present: boolean }>();
    let changes = 0;
    try {
      for await (const page of reader.groupsDelta({ deltaLink: stored.deltaLink })) {
        for (const item of page.groups) {
          if (item.removed && chosen.includes(item.groupId)) {
            return { kind: 'untrusted', why: `the group "${nameOf(item.groupId)}" was deleted in Entra ID` };
          }
          changes += apply(tree.members, item, (edge, present) =>
            edges.set(`${edge.groupId}\u0000${edge.memberId}`, { edge, present }),
          );
        }
        if (page.deltaLink) tree.deltaLink = page.deltaLink;
      }
    } catch (error) {
      if (error instanceof DeltaExpiredError)
        return { kind: 'untrusted', why: 'the group membership delta link expired' };
      throw error;
    }
    const all = [...edges.values()];
    change = {
      replace: false,
      added: all.filter((e) => e.present).map((e) => e.edge),
      removed: all.filter((e) => !e.present).map((e) => e.edge),
    };
    report = { read: 'continued', groups: tree.tracked.length, changes };
  } else {
    const started = await startRound(reader, chosen, chosen, nameOf);
    if (typeof started === 'string') return { kind: 'untrusted', why: started };
    tree = { chosen: key, ...started };
    change = { replace: true };
    report = { read: 'started', groups: chosen.length, changes: 0 };
  }

  // Follow every group nested in the chosen ones: one not followed yet restarts the link to take it in.
  for (let restarts = 0; ; restarts++) {
    const reachable = reachableGroups(tree.members, chosen);
    const tracked = new Set(tree.tracked);
    if ([...reachable].every((id) => tracked.has(id))) break;
    if (reachable.size > GROUPS_DELTA_MAX_IDS || restarts === MAX_RESTARTS) {
      return { kind: 'untracked', why: tooMany(reachable.size) };
    }
    const started = await startRound(reader, [...reachable].sort(), chosen, nameOf);
    if (typeof started === 'string') return { kind: 'untrusted', why: started };
    tree = { chosen: key, ...started };
    change = { replace: true };
    report = { read: 'started', groups: tree.tracked.length, changes: report.changes };
  }

  const users = new Set<string>();
  for (const groupId of reachableGroups(tree.members, chosen)) {
    for (const [memberId, isGroup] of tree.members.get(groupId) ?? []) if (!isGroup) users.add(memberId);
  }
  const saved = tree;
  return { kind: 'tracked', users, report, save: (tx) => saveGroupTree(tx, sourceId, saved, change) };
}

/**
 * A first round over `ids`: every tracked group's direct members (a group's items merged). A missing chosen
 * group is a reason not to trust the tree; a missing nested one was simply deleted meanwhile.
 */
async function startRound(
  reader: SourceReader,
  ids: readonly string[],
  chosen: readonly string[],
  nameOf: (id: string) => string,
): Promise<Omit<GroupTree, 'chosen'> | string> {
  const members: DirectMembers = new Map();
  let deltaLink: string | undefined;
  try {
    for await (const page of reader.groupsDelta({ groupIds: ids })) {
      for (const item of page.groups) if (!item.removed) apply(members, item, () => {});
      if (page.deltaLink) deltaLink = page.deltaLink;
    }
  } catch (error) {
    if (error instanceof DeltaExpiredError) return 'Microsoft Graph refused to start tracking group memberships';
    throw error;
  }
  const missing = chosen.find((id) => !members.has(id));
  if (missing) return `the group "${nameOf(missing)}" no longer exists in Entra ID`;
  if (!deltaLink) return 'Microsoft Graph ended a group membership round without a delta link';
  return { tracked: [...ids], deltaLink, members };
}

const tooMany = (groups: number) =>
  `${groups} groups are chosen or nested in them, more than one Graph delta query follows (${GROUPS_DELTA_MAX_IDS})`;

/** Applies one item's member changes to the tree; returns how many there were. */
function apply(members: DirectMembers, item: GroupDeltaItem, changed: (edge: Edge, present: boolean) => void): number {
  if (item.removed) {
    // A nested group deleted: it is no one's member any more, and holds no one.
    for (const [groupId, direct] of members) {
      if (direct.delete(item.groupId)) changed({ groupId, memberId: item.groupId, isGroup: true }, false);
    }
    for (const [memberId, isGroup] of members.get(item.groupId) ?? []) {
      changed({ groupId: item.groupId, memberId, isGroup }, false);
    }
    members.delete(item.groupId);
    return 1;
  }
  let direct = members.get(item.groupId);
  if (!direct) {
    direct = new Map();
    members.set(item.groupId, direct);
  }
  for (const member of item.members) {
    const edge = { groupId: item.groupId, memberId: member.id, isGroup: member.kind === 'group' };
    if (member.removed) direct.delete(member.id);
    else direct.set(member.id, edge.isGroup);
    changed(edge, !member.removed);
  }
  return item.members.length;
}

/** The chosen groups and every group nested in them, at any depth (cycles are harmless). */
function reachableGroups(members: DirectMembers, chosen: readonly string[]): Set<string> {
  const seen = new Set(chosen);
  const queue = [...chosen];
  for (let i = 0; i < queue.length; i++) {
    for (const [memberId, isGroup] of members.get(queue[i]) ?? []) {
      if (isGroup && !seen.has(memberId)) {
        seen.add(memberId);
        queue.push(memberId);
      }
    }
  }
  return seen;
}
