/**
 * Every change to the groups, in order, for `/groups/delta` (graph/groups-delta.ts): a group created or
 * changed (which properties), a group deleted, a direct member added or removed. Sequence numbers are the
 * log's own; a delta token holds the window of the log its round covers.
 */

export type MemberKind = 'user' | 'group';

export type GroupLogEntry =
  | { seq: number; groupId: string; kind: 'changed'; touched: ReadonlySet<string> | 'all' }
  | { seq: number; groupId: string; kind: 'deleted'; reason: 'changed' | 'deleted' }
  | { seq: number; groupId: string; kind: 'member'; memberId: string; memberKind: MemberKind; removed: boolean };

/** What a round reports of one group: its last state in the window. */
export interface GroupChange {
  groupId: string;
  /** Set when the group is gone at the end of the window. */
  deleted: 'changed' | 'deleted' | null;
  touched: Set<string> | 'all';
  /** Net member changes, in the order they last happened. */
  members: Map<string, { kind: MemberKind; removed: boolean }>;
}

export class GroupLog {
  private readonly entries: GroupLogEntry[] = [];
  private counter = 0;

  get seq(): number {
    return this.counter;
  }

  changed(groupId: string, touched: ReadonlySet<string> | 'all'): void {
    this.entries.push({ seq: ++this.counter, groupId, kind: 'changed', touched });
  }

  deleted(groupId: string, reason: 'changed' | 'deleted'): void {
    this.entries.push({ seq: ++this.counter, groupId, kind: 'deleted', reason });
  }

  member(groupId: string, memberId: string, memberKind: MemberKind, removed: boolean): void {
    this.entries.push({ seq: ++this.counter, groupId, kind: 'member', memberId, memberKind, removed });
  }

  /** Per group changed in (since, upto], in the order of each group's first change there. */
  changesIn(since: number, upto: number): GroupChange[] {
    const byGroup = new Map<string, GroupChange>();
    for (let i = this.firstAfter(since); i < this.entries.length && this.entries[i].seq <= upto; i++) {
      const entry = this.entries[i];
      let change = byGroup.get(entry.groupId);
      if (!change) {
        change = { groupId: entry.groupId, deleted: null, touched: new Set(), members: new Map() };
        byGroup.set(entry.groupId, change);
      }
      if (entry.kind === 'deleted') {
        change.deleted = entry.reason;
      } else if (entry.kind === 'changed') {
        change.deleted = null;
        if (entry.touched === 'all' || change.touched === 'all') change.touched = 'all';
        else for (const name of entry.touched) change.touched.add(name);
      } else {
        change.members.delete(entry.memberId);
        change.members.set(entry.memberId, { kind: entry.memberKind, removed: entry.removed });
      }
    }
    return [...byGroup.values()];
  }

  private firstAfter(seq: number): number {
    let low = 0;
    let high = this.entries.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.entries[mid].seq <= seq) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}
