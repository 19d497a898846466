import type { DirectoryChange } from './graph/subscriptions.ts';
import { GroupLog } from './group-log.ts';
import { graphTimestamp } from './http.ts';
import type { EmulatedPhoto } from './photos.ts';

/**
 * The emulated directory and every change made to it. Users keep a fixed position in `records` (paging
 * cursors are positions, so a page never shifts when someone is added or removed), and each change gets a
 * sequence number in an append-only log, which is what delta tokens point into.
 */

export interface EmulatedUser {
  id: string;
  userPrincipalName: string;
  displayName: string;
  givenName: string | null;
  surname: string | null;
  mail: string | null;
  jobTitle: string | null;
  department: string | null;
  officeLocation: string | null;
  businessPhones: string[];
  mobilePhone: string | null;
  employeeId: string | null;
  employeeType: string | null;
  companyName: string | null;
  city: string | null;
  country: string | null;
  usageLocation: string | null;
  preferredLanguage: string | null;
  accountEnabled: boolean;
  userType: 'Member' | 'Guest';
  createdDateTime: string;
  deletedDateTime: string | null;
  /** The manager's object id; Graph exposes it only as the `manager` navigation property. */
  managerId: string | null;
  /** Any other Graph property, e.g. directory extensions set through the control API. */
  [property: string]: unknown;
}

/** A member account with only what Entra requires; every optional property empty. */
export function blankUser(
  id: string,
  userPrincipalName: string,
  displayName: string,
  createdDateTime: string,
): EmulatedUser {
  return {
    id,
    userPrincipalName,
    displayName,
    givenName: null,
    surname: null,
    mail: null,
    jobTitle: null,
    department: null,
    officeLocation: null,
    businessPhones: [],
    mobilePhone: null,
    employeeId: null,
    employeeType: null,
    companyName: null,
    city: null,
    country: null,
    usageLocation: null,
    preferredLanguage: null,
    accountEnabled: true,
    userType: 'Member',
    createdDateTime,
    deletedDateTime: null,
    managerId: null,
  };
}

export interface EmulatedGroup {
  id: string;
  displayName: string;
  description: string | null;
  mail: string | null;
  mailEnabled: boolean;
  mailNickname: string;
  securityEnabled: boolean;
  groupTypes: string[];
  visibility: string | null;
  membershipRule: string | null;
  createdDateTime: string;
  /** Direct members: user ids and group ids (nested groups). */
  members: Set<string>;
  [property: string]: unknown;
}

export interface EmulatedTenant {
  id: string;
  displayName: string;
  /** The verified domain users' addresses are in. */
  domain: string;
  initialDomain: string;
  /** Active users, in creation order. */
  users: Map<string, EmulatedUser>;
  /** Soft-deleted users (Entra's deleted items), restorable. */
  deletedUsers: Map<string, EmulatedUser>;
  groups: Map<string, EmulatedGroup>;
  photos: Map<string, EmulatedPhoto>;
  /** Users holding the Global Administrator role. */
  adminIds: Set<string>;
}

export type RemovalReason = 'changed' | 'deleted';

interface UserRecord {
  user: EmulatedUser;
  seq: number;
  /** What the manager link pointed to before its last change (for `manager@delta`). */
  formerManagerId: string | null;
  removed: RemovalReason | null;
  /** Log position of this user's latest entry; -1 before the first. */
  lastPosition: number;
}

/**
 * What one change touched: top-level property names (`manager` for the manager link), or `'all'` for a
 * creation, restore or removal. Graph's delta reports a user only when a change touched a property the
 * round tracks ("Use delta query to track changes in Microsoft Graph data", optional query parameters:
 * with `$select`, change tracking covers only the selected properties).
 */
export type Touched = ReadonlySet<string> | 'all';

export interface UserChange {
  user: EmulatedUser;
  removed: RemovalReason | null;
  /** Everything this user's changes inside the round touched. */
  touched: Touched;
  formerManagerId: string | null;
}

export class TenantStore {
  readonly tenant: EmulatedTenant;
  private readonly records: UserRecord[] = [];
  private readonly recordById = new Map<string, UserRecord>();
  private readonly idByUpn = new Map<string, string>();
  private readonly logSeq: number[] = [];
  private readonly logRecord: UserRecord[] = [];
  private readonly logTouched: Touched[] = [];
  /** Per log entry: the position of the same user's previous entry (-1: none), and the seq of the next (∞: none). */
  private readonly logPrevious: number[] = [];
  private readonly logNextSeq: number[] = [];
  /** Per log entry: the user's removal state right after that change. */
  private readonly logRemoved: (RemovalReason | null)[] = [];
  private seqCounter = 0;
  /** Bumped on any membership change, so cached transitive member lists know they are stale. */
  private membershipVersion = 0;
  private readonly transitiveCache = new Map<string, { version: number; ids: string[] }>();
  /** Group changes, for `/groups/delta`. */
  readonly groupLog = new GroupLog();
  /** Told of every change, for change notifications. */
  onChange: (change: DirectoryChange) => void = () => {};

  constructor(tenant: EmulatedTenant) {
    this.tenant = tenant;
    for (const user of tenant.users.values()) this.addRecord(user, 0);
  }

  get seq(): number {
    return this.seqCounter;
  }

  get userSlots(): number {
    return this.records.length;
  }

  /** The active user at `position`, if any; positions are stable for paging. */
  userAt(position: number): EmulatedUser | undefined {
    const record = this.records[position];
    return record && record.removed === null ? record.user : undefined;
  }

  findUser(idOrUpn: string): EmulatedUser | undefined {
    const key = idOrUpn.toLowerCase();
    const user = this.tenant.users.get(key) ?? this.tenant.users.get(this.idByUpn.get(key) ?? '');
    return user;
  }

  findAnyUser(id: string): { user: EmulatedUser; removed: RemovalReason | null } | undefined {
    const record = this.recordById.get(id.toLowerCase());
    return record && { user: record.user, removed: record.removed };
  }

  /** Creates a user or merges `fields` into an existing one; either way it shows up in delta. */
  upsertUser(fields: Partial<EmulatedUser> & { id: string }): EmulatedUser {
    const id = fields.id.toLowerCase();
    const record = this.recordById.get(id);
    const seq = ++this.seqCounter;
    if (!record) {
      const user = { ...fields, id } as EmulatedUser;
      this.tenant.users.set(id, user);
      const created = this.addRecord(user, seq);
      this.log(created, 'all');
      this.onChange({ kind: 'users', id, changeType: 'updated' });
      return user;
    }
    const { user } = record;
    const touched = new Set<string>();
    for (const [key, value] of Object.entries(fields)) {
      if (key !== 'id' && JSON.stringify(value) !== JSON.stringify(user[key])) {
        touched.add(key === 'managerId' ? 'manager' : key);
      }
    }
    if (user.userPrincipalName && fields.userPrincipalName !== undefined) {
      this.idByUpn.delete(user.userPrincipalName.toLowerCase());
    }
    if (touched.has('manager')) record.formerManagerId = user.managerId;
    Object.assign(user, fields, { id });
    this.idByUpn.set(user.userPrincipalName.toLowerCase(), id);
    record.seq = seq;
    this.log(record, touched);
    this.onChange({ kind: 'users', id, changeType: 'updated' });
    return user;
  }

  /** Soft delete (restorable; delta says `changed`) or permanent delete (delta says `deleted`) at `when`. */
  deleteUser(id: string, permanent: boolean, when: Date): boolean {
    const record = this.recordById.get(id.toLowerCase());
    if (!record || record.removed === 'deleted' || (record.removed === 'changed' && !permanent)) return false;
    const { user } = record;
    this.tenant.users.delete(user.id);
    this.idByUpn.delete(user.userPrincipalName.toLowerCase());
    if (permanent) {
      this.tenant.deletedUsers.delete(user.id);
      this.tenant.photos.delete(user.id);
      this.tenant.adminIds.delete(user.id);
      for (const group of this.tenant.groups.values()) {
        if (group.members.delete(user.id)) this.groupLog.member(group.id, user.id, 'user', true);
      }
      record.removed = 'deleted';
    } else {
      user.deletedDateTime = graphTimestamp(when.getTime());
      this.tenant.deletedUsers.set(user.id, user);
      record.removed = 'changed';
    }
    this.membershipVersion++;
    record.seq = ++this.seqCounter;
    this.log(record, 'all');
    // "subscription resource type": `updated` covers soft deletion, `deleted` is the permanent one.
    this.onChange({ kind: 'users', id: user.id, changeType: permanent ? 'deleted' : 'updated' });
    return true;
  }

  restoreUser(id: string): EmulatedUser | undefined {
    const record = this.recordById.get(id.toLowerCase());
    if (record?.removed !== 'changed') return undefined;
    const { user } = record;
    user.deletedDateTime = null;
    this.tenant.deletedUsers.delete(user.id);
    this.tenant.users.set(user.id, user);
    this.idByUpn.set(user.userPrincipalName.toLowerCase(), user.id);
    record.removed = null;
    this.membershipVersion++;
    record.seq = ++this.seqCounter;
    this.log(record, 'all');
    this.onChange({ kind: 'users', id: user.id, changeType: 'updated' });
    return user;
  }

  /**
   * Changes after `since` (up to and including `upto`), starting at log position `from`: one per user, at
   * that user's last entry inside the window, with everything its entries inside the window touched.
   */
  changesAfter(
    since: number,
    upto: number,
    from: number | null,
    limit: number,
  ): { changes: UserChange[]; next: number | null } {
    let position = from ?? this.firstLogPositionAfter(since);
    const changes: UserChange[] = [];
    while (position < this.logSeq.length && this.logSeq[position] <= upto && changes.length < limit) {
      if (this.logNextSeq[position] > upto) {
        const record = this.logRecord[position];
        changes.push({
          user: record.user,
          removed: this.logRemoved[position],
          touched: this.touchedInWindow(position, since),
          formerManagerId: record.formerManagerId,
        });
      }
      position++;
    }
    const more = position < this.logSeq.length && this.logSeq[position] <= upto;
    return { changes, next: more ? position : null };
  }

  private touchedInWindow(position: number, since: number): Touched {
    const touched = new Set<string>();
    for (let p = position; p >= 0 && this.logSeq[p] > since; p = this.logPrevious[p]) {
      const entry = this.logTouched[p];
      if (entry === 'all') return 'all';
      for (const name of entry) touched.add(name);
    }
    return touched;
  }

  // ---- groups ----

  upsertGroup(fields: Partial<EmulatedGroup> & { id: string }): EmulatedGroup {
    const id = fields.id.toLowerCase();
    const existing = this.tenant.groups.get(id);
    if (existing) {
      Object.assign(existing, fields, { id, members: existing.members });
      this.groupLog.changed(id, new Set(Object.keys(fields).filter((name) => name !== 'id' && name !== 'members')));
      this.onChange({ kind: 'groups', id, changeType: 'updated' });
      return existing;
    }
    const group = { members: new Set<string>(), ...fields, id } as EmulatedGroup;
    this.tenant.groups.set(id, group);
    this.groupLog.changed(id, 'all');
    this.membershipVersion++;
    this.onChange({ kind: 'groups', id, changeType: 'updated' });
    return group;
  }

  deleteGroup(id: string): boolean {
    const key = id.toLowerCase();
    const deleted = this.tenant.groups.get(key);
    if (!deleted) return false;
    this.tenant.groups.delete(key);
    for (const group of this.tenant.groups.values()) {
      if (group.members.delete(key)) this.groupLog.member(group.id, key, 'group', true);
    }
    // "Get incremental changes for groups": a deleted Microsoft 365 group is `changed` (restorable), a
    // deleted security group `deleted`.
    this.groupLog.deleted(key, deleted.groupTypes.includes('Unified') ? 'changed' : 'deleted');
    this.membershipVersion++;
    this.onChange({ kind: 'groups', id: key, changeType: 'deleted' });
    return true;
  }

  /** Adds/removes direct members; returns ids that are neither users nor groups of this tenant. */
  editMembers(groupId: string, add: string[], remove: string[]): string[] {
    const group = this.tenant.groups.get(groupId.toLowerCase());
    if (!group) throw new Error(`group ${groupId} not found`);
    const unknown = add.filter(
      (id) => !this.tenant.users.has(id.toLowerCase()) && !this.tenant.groups.has(id.toLowerCase()),
    );
    if (unknown.length > 0) return unknown;
    const kind = (id: string) => (this.tenant.groups.has(id) ? 'group' : 'user');
    for (const id of add.map((a) => a.toLowerCase())) {
      if (group.members.has(id)) continue;
      group.members.add(id);
      this.groupLog.member(group.id, id, kind(id), false);
    }
    for (const id of remove.map((r) => r.toLowerCase())) {
      if (group.members.delete(id)) this.groupLog.member(group.id, id, kind(id), true);
    }
    this.membershipVersion++;
    this.onChange({ kind: 'groups', id: group.id, changeType: 'updated' });
    return [];
  }

  /** Active direct members (users and groups), in insertion order. */
  directMembers(group: EmulatedGroup): string[] {
    return [...group.members].filter((id) => this.tenant.users.has(id) || this.tenant.groups.has(id));
  }

  /** Every active user and group reachable through nesting, each once; cycles are harmless. */
  transitiveMembers(group: EmulatedGroup): string[] {
    const cached = this.transitiveCache.get(group.id);
    if (cached && cached.version === this.membershipVersion) return cached.ids;
    const seen = new Set<string>();
    const queue = [group.id];
    for (let i = 0; i < queue.length; i++) {
      const current = this.tenant.groups.get(queue[i]);
      if (!current) continue;
      for (const member of current.members) {
        if (seen.has(member) || member === group.id) continue;
        if (this.tenant.groups.has(member)) {
          seen.add(member);
          queue.push(member);
        } else if (this.tenant.users.has(member)) {
          seen.add(member);
        }
      }
    }
    const ids = [...seen];
    this.transitiveCache.set(group.id, { version: this.membershipVersion, ids });
    return ids;
  }

  private addRecord(user: EmulatedUser, seq: number): UserRecord {
    const record: UserRecord = { user, seq, formerManagerId: null, removed: null, lastPosition: -1 };
    this.records.push(record);
    this.recordById.set(user.id, record);
    this.idByUpn.set(user.userPrincipalName.toLowerCase(), user.id);
    return record;
  }

  private log(record: UserRecord, touched: Touched): void {
    const position = this.logSeq.length;
    if (record.lastPosition >= 0) this.logNextSeq[record.lastPosition] = record.seq;
    this.logSeq.push(record.seq);
    this.logRecord.push(record);
    this.logTouched.push(touched);
    this.logPrevious.push(record.lastPosition);
    this.logNextSeq.push(Number.POSITIVE_INFINITY);
    this.logRemoved.push(record.removed);
    record.lastPosition = position;
  }

  private firstLogPositionAfter(seq: number): number {
    let low = 0;
    let high = this.logSeq.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.logSeq[mid] <= seq) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}
