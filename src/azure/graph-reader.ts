import { createGraphTransport, type GraphTransportOptions } from './graph-transport.ts';
import type { GraphUser, GroupSummary, PhotoRequest, PhotoResult, UsersDeltaPage } from './graph-types.ts';
import { type GroupMembersReport, type GroupRef, groupMembersFull, groupUserCount } from './group-members-full.ts';
import { getGroup, groupUserMembers, searchGroups } from './groups.ts';
import { type GroupsDeltaPage, groupsDelta } from './groups-delta.ts';
import { photos } from './photos.ts';
import { countUsers } from './user-count.ts';
import { usersDelta } from './users-delta.ts';
import { type FullReadOptions, usersFull } from './users-full.ts';

/**
 * Read-only access to one tenant's directory through Microsoft Graph. Collections stream page by page
 * (async generators), so a run never holds the tenant in memory. Failures are AzureErrors (plus
 * DeltaExpiredError from `usersDelta` and `groupsDelta`).
 */
export interface GraphReader {
  /**
   * A delta round: from `deltaLink`, or an initial round (everyone's current state). `ids` (at most
   * USERS_DELTA_MAX_IDS) limits an initial round to those users: their current state without a full read.
   */
  usersDelta(input: {
    select: readonly string[];
    deltaLink?: string;
    ids?: readonly string[];
  }): AsyncGenerator<UsersDeltaPage>;
  /**
   * Everyone in the tenant, read in parallel partitions (users-full.ts); the last page carries the delta
   * link taken before the read. Throws PartitionMismatchError when the partitions missed someone.
   */
  usersFull(input: FullReadOptions): AsyncGenerator<UsersDeltaPage>;
  groupUserMembers(
    groupId: string,
    select: readonly string[],
    options?: { groupName?: string },
  ): AsyncGenerator<GraphUser[]>;
  /** Transitive user members of the groups, each once, with their managers (group-members-full.ts). */
  groupMembersFull(input: {
    groups: readonly GroupRef[];
    select: readonly string[];
    report?: GroupMembersReport;
  }): AsyncGenerator<UsersDeltaPage>;
  /**
   * Direct members of the groups (at most GROUPS_DELTA_MAX_IDS), then, from `deltaLink`, who joined or left
   * them (groups-delta.ts). Throws DeltaExpiredError when Graph no longer knows the link.
   */
  groupsDelta(input: { groupIds?: readonly string[]; deltaLink?: string }): AsyncGenerator<GroupsDeltaPage>;
  /** The group's transitive user members as Graph counts them (eventually consistent). */
  groupUserCount(group: GroupRef): Promise<number>;
  getGroup(id: string): Promise<GroupSummary | null>;
  searchGroups(text: string, options?: { top?: number }): Promise<GroupSummary[]>;
  photos(requests: readonly PhotoRequest[]): AsyncGenerator<PhotoResult>;
  /** Users with an enabled account, as Graph's (eventually consistent) `$count` gives it. */
  countUsers(): Promise<number>;
}

export interface GraphReaderOptions extends GraphTransportOptions {
  /** Full reads: false for one sequential read; concurrency bound of partitioned ones. */
  fullReads?: Pick<FullReadOptions, 'partitioned' | 'maxConcurrency' | 'minPartitionedUsers' | 'splitAbove'>;
}

export function createGraphReader(options: GraphReaderOptions): GraphReader {
  const transport = createGraphTransport(options);
  const { send } = transport;
  return {
    usersDelta: (input) => usersDelta(send, input),
    usersFull: (input) => usersFull(send, { ...options.fullReads, ...input }),
    groupUserMembers: (groupId, select, opts) => groupUserMembers(send, groupId, select, opts),
    groupMembersFull: (input) =>
      groupMembersFull(send, { maxConcurrency: options.fullReads?.maxConcurrency, ...input }),
    groupsDelta: (input) => groupsDelta(send, input),
    groupUserCount: (group) => groupUserCount(send, group),
    getGroup: (id) => getGroup(send, id),
    searchGroups: (text, opts) => searchGroups(send, text, opts),
    photos: (requests) => photos(transport, requests),
    countUsers: () => countUsers(send),
  };
}
