import {
  AzureError,
  type FullReadReport,
  type GraphUser,
  membersReadIsCheaper,
  newFullReadReport,
  USERS_DELTA_MAX_IDS,
} from '../azure/index.ts';
import type { ProfileStage, StagedProfile } from '../directory/profile-stage.ts';
import { SyncFailure } from './errors.ts';
import { IgnoredTally } from './ignored.ts';
import { graphSelect, type Mapping, mapUser } from './mapping.ts';
import type { SourceReader } from './reader.ts';

/**
 * The reading half of a run: people stream from Graph page by page into the stage, validated on the way,
 * so memory holds one page plus id sets, and the database ingests while Graph is still answering.
 *
 * Scope: no groups → every user of the tenant (a full read: parallel partitions of `/users`, see
 * azure/users-full.ts; an incremental one: `/users/delta`). Groups → the transitive user members of each.
 * A full read of groups holding a small share of the tenant reads the members themselves, with their
 * attributes, and looks their managers up (azure/group-members-full.ts); otherwise, and in delta rounds, the
 * members' ids (in delta rounds from the membership tree, sync/membership.ts; else listed) are intersected
 * with the tenant read, which carries attributes and managers. A
 * delta round only reports people whose attributes changed, so someone who merely joined a group is invisible
 * to it: such newcomers are read by id in filtered delta rounds (50 a round, Graph's limit), so a join costs
 * a request, not a full read; someone who left is simply no longer a member. Only more than
 * MAX_NEWCOMERS_BY_ID newcomers at once make the run restart as a full read.
 */

export interface ReadInput {
  reader: SourceReader;
  stage: ProfileStage;
  mode: 'full' | 'delta';
  mapping: Mapping;
  groups: readonly { groupId: string; displayName: string }[];
  deltaLink: string | null;
  /** Full reads: one sequential read instead of parallel partitions (after the partitions missed someone). */
  sequential?: boolean;
  /** Group-scoped delta reads: who is active now, and who was found invalid before (null: unknown). */
  activeGraphIds?: ReadonlySet<string>;
  knownIgnoredIds?: ReadonlySet<string> | null;
  /**
   * Group-scoped reads: the transitive user members of the groups when already known (sync/membership.ts,
   * from `/groups/delta`); otherwise each group's members are listed.
   */
  members?: ReadonlySet<string>;
  /** Group-scoped delta reads: more newcomers than this make the run read in full (default MAX_NEWCOMERS_BY_ID). */
  maxNewcomersById?: number;
  onRead(read: number): void;
}

export interface ReadResult {
  read: number;
  ignored: IgnoredTally;
  deltaLink: string | null;
  /**
   * Group-scoped sources: people in scope found invalid (or not found at all), remembered so a delta read can
   * tell them from newcomers.
   */
  ignoredIds: string[] | null;
  /** Set when a delta read cannot be trusted and the run must restart as a full one. */
  needsFull?: string;
  /** Full reads: how the tenant was read (partitions, concurrency, throttling, any fallback). */
  fullRead?: FullReadReport;
}

/** Beyond this many, ignored ids are not remembered and group-scoped runs with newcomers read in full. */
const MAX_REMEMBERED_IGNORED = 10_000;
/** Up to this many group newcomers are read by id (20 filtered rounds); more at once make a full read cheaper. */
const MAX_NEWCOMERS_BY_ID = 1_000;

export async function readIntoStage(input: ReadInput): Promise<ReadResult> {
  const { reader, stage, mode, mapping, groups } = input;
  const select = graphSelect(mapping);
  const fullRead = mode === 'full' ? newFullReadReport() : undefined;
  const fromMembers = fullRead !== undefined && groups.length > 0 && (await readMembersFirst(reader, groups, fullRead));
  const members = groups.length > 0 && !fromMembers ? (input.members ?? (await readMembers(reader, groups))) : null;
  const ignored = new IgnoredTally();
  const ignoredIds = new Set<string>();
  const seenValid = new Set<string>();
  const trackIds = groups.length > 0;
  let read = 0;
  let deltaLink: string | null = null;

  const pages = fromMembers
    ? reader.groupMembersFull({ groups, select, report: fullRead })
    : mode === 'full'
      ? reader.usersFull({ select, report: fullRead, ...(input.sequential ? { partitioned: false } : {}) })
      : reader.usersDelta({ select, deltaLink: input.deltaLink ?? undefined });
  /** Validates and stages one page; `whole`: the users' full current state (a full read, or newcomers by id). */
  const take = async (users: readonly GraphUser[], whole: boolean) => {
    const batch: StagedProfile[] = [];
    for (const user of users) {
      if (members && !members.has(user.id)) continue;
      read++;
      const mapped =
        user.accountEnabled === false
          ? ({ ok: false, reason: 'account disabled', who: whoIs(user) } as const)
          : mapUser(user, mapping, user.managerId ?? null);
      if (!mapped.ok) {
        ignored.add(mapped.reason, mapped.who);
        if (trackIds) ignoredIds.add(user.id);
        // In a delta round an invalid or disabled person is a change: whoever they were, they leave.
        if (mode === 'delta') stage.markRemoved([user.id]);
        continue;
      }
      if (trackIds) seenValid.add(user.id);
      batch.push({ ...mapped.profile, keepManager: !whole && user.managerId === undefined });
    }
    await stage.add(batch);
    input.onRead(read);
  };
  for await (const page of groupFailures(pages, groups)) {
    if (mode === 'delta') {
      stage.markRemoved(page.removed.map((r) => r.id));
      // Deleted, yet possibly still a member as far as the groups tell: not a newcomer to read by id.
      for (const { id } of page.removed) if (members?.has(id)) ignoredIds.add(id);
    }
    await take(page.users, mode === 'full');
    if (page.deltaLink) deltaLink = page.deltaLink;
  }

  let needsFull: string | undefined;
  let remembered: Set<string> | null = trackIds ? ignoredIds : null;
  if (members && mode === 'delta') {
    const active = input.activeGraphIds ?? new Set<string>();
    stage.markRemoved([...active].filter((id) => !members.has(id)));
    const known = input.knownIgnoredIds;
    const newcomers = [...members].filter(
      (id) => !active.has(id) && !seenValid.has(id) && !ignoredIds.has(id) && !known?.has(id),
    );
    if (newcomers.length > (input.maxNewcomersById ?? MAX_NEWCOMERS_BY_ID)) {
      needsFull = `${newcomers.length} people joined the selected groups`;
    } else {
      // Their current state, by id: the delta link of these rounds is not kept (the run's own goes on).
      for (let i = 0; i < newcomers.length; i += USERS_DELTA_MAX_IDS) {
        const ids = newcomers.slice(i, i + USERS_DELTA_MAX_IDS);
        for await (const page of reader.usersDelta({ select, ids })) await take(page.users, true);
        // Graph has no such user (deleted, still a member in the tree): remembered, so it is not asked for
        // again every run; `/users/delta` reports a restore, which brings the person back.
        for (const id of ids) if (!seenValid.has(id)) ignoredIds.add(id);
      }
    }
    if (known) {
      for (const id of known) if (members.has(id) && !seenValid.has(id)) ignoredIds.add(id);
    } else {
      remembered = null;
    }
  }
  const ids = remembered && remembered.size <= MAX_REMEMBERED_IGNORED ? [...remembered] : null;
  return { read, ignored, deltaLink, ignoredIds: trackIds ? ids : null, needsFull, fullRead };
}

function whoIs(user: GraphUser): string {
  return String(user.userPrincipalName ?? user.displayName ?? user.id);
}

/**
 * Whether a full read of a group-scoped source should read the groups' members rather than the tenant:
 * Graph's counts of both say which costs fewer requests. Recorded in the run's `fullRead`.
 */
async function readMembersFirst(
  reader: SourceReader,
  groups: readonly { groupId: string; displayName: string }[],
  report: FullReadReport,
): Promise<boolean> {
  const [counts, tenant] = await Promise.all([
    guarded(Promise.all(groups.map((group) => reader.groupUserCount(group))), groups),
    reader.countUsers(),
  ]);
  const members = counts.reduce((a, b) => a + b, 0);
  if (!membersReadIsCheaper(members, tenant)) return false;
  Object.assign(report, {
    strategy: 'members',
    partitions: groups.length,
    expected: members,
    reason: `${members} group members of ${tenant} people: read from the groups`,
  });
  return true;
}

async function readMembers(
  reader: SourceReader,
  groups: readonly { groupId: string; displayName: string }[],
): Promise<Set<string>> {
  const ids = new Set<string>();
  await guarded(
    Promise.all(
      groups.map(async (group) => {
        for await (const page of reader.groupUserMembers(group.groupId, ['id'], { groupName: group.displayName })) {
          for (const user of page) ids.add(user.id);
        }
      }),
    ),
    groups,
  );
  return ids;
}

async function* groupFailures<T>(
  pages: AsyncGenerator<T>,
  groups: readonly { groupId: string; displayName: string }[],
): AsyncGenerator<T> {
  try {
    yield* pages;
  } catch (error) {
    throw groupFailure(error, groups);
  }
}

async function guarded<T>(work: Promise<T>, groups: readonly { groupId: string; displayName: string }[]): Promise<T> {
  try {
    return await work;
  } catch (error) {
    throw groupFailure(error, groups);
  }
}

/** A selected group that no longer exists fails the run with the group's name, for the admin to fix. */
function groupFailure(error: unknown, groups: readonly { groupId: string; displayName: string }[]): unknown {
  if (!(error instanceof AzureError) || error.code !== 'group_missing') return error;
  const group = groups.find((g) => g.groupId === error.detail.groupId);
  const name = group?.displayName ?? error.detail.groupId ?? 'selected';
  return new SyncFailure(
    'group_missing',
    `The group "${name}" (${group?.groupId ?? error.detail.groupId}) no longer exists in Entra ID: edit the groups to sync.`,
    { cause: error },
  );
}
