import { AdaptiveLimit } from './adaptive-limit.ts';
import type { GraphSend } from './graph-transport.ts';
import type { GraphUser, UsersDeltaPage } from './graph-types.ts';
import { groupUserMemberPages } from './groups.ts';
import { odataString, queryString } from './odata-query.ts';
import { usersDeltaLatest } from './users-delta.ts';
import { UPN_FIRST_CHARACTERS } from './users-full.ts';

/**
 * A full read of a group-scoped source straight from its groups, instead of reading the whole tenant and
 * keeping the members: each group's transitive user members with the mapped attributes
 * (`/groups/{id}/transitiveMembers/microsoft.graph.user?$select=…&$top=999`), and their managers, which a
 * members listing cannot `$expand`, looked up 15 people per request
 * (`/users?$filter=id in (…)&$select=id&$expand=manager($select=id)`: "requests are limited to 15
 * expressions in the filter clause by default" for `in` — "Use the $filter query parameter" — and an
 * advanced query, which would allow more, cannot `$expand`). As with the tenant read, the delta link for
 * the next incremental round is taken before the read (`$deltatoken=latest`).
 *
 * Worth it while the groups hold a small share of the tenant (`membersReadIsCheaper`): a group of 1,000 in
 * a tenant of 100,000 costs 1 + 67 requests instead of about 1,050.
 */

/** Ids per manager lookup: Graph's cap on an ordinary query's `in` list. */
const MANAGER_LOOKUP_IDS = 15;
const MEMBERS_PAGE = 999;
/** A tenant listing carries managers through `$expand`, which caps its pages at 100 (Graph known issue 13635). */
const EXPANDED_PAGE = 100;
const INITIAL_CONCURRENCY = 4;
const DEFAULT_MAX_CONCURRENCY = 24;

export interface GroupRef {
  groupId: string;
  displayName: string;
}

/** Requests a members read of `members` people costs, against a read of a tenant of `tenant` people. */
export function membersReadIsCheaper(members: number, tenant: number): boolean {
  const direct = Math.ceil(members / MEMBERS_PAGE) + Math.ceil(members / MANAGER_LOOKUP_IDS);
  // The tenant read: a count per first character and the tenant's, then pages of 100.
  const whole = UPN_FIRST_CHARACTERS.length + 1 + Math.ceil(tenant / EXPANDED_PAGE);
  return direct < whole;
}

/** The group's transitive user members as Graph counts them (an estimate: `$count` is eventually consistent). */
export async function groupUserCount(send: GraphSend, group: GroupRef): Promise<number> {
  const pages = groupUserMemberPages(send, group.groupId, ['id'], { groupName: group.displayName, top: 1 });
  for await (const page of pages) return page.count ?? page.users.length;
  return 0;
}

export interface GroupMembersReport {
  read: number;
  peakConcurrency: number;
  throttled: number;
}

/**
 * Everyone in the groups, each person once (a member of several groups is read with the first), with
 * their manager's object id; the last page carries the delta link taken before the read.
 */
export async function* groupMembersFull(
  send: GraphSend,
  options: {
    groups: readonly GroupRef[];
    select: readonly string[];
    maxConcurrency?: number;
    report?: GroupMembersReport;
  },
): AsyncGenerator<UsersDeltaPage> {
  const report = options.report ?? { read: 0, peakConcurrency: 0, throttled: 0 };
  const deltaLink = await usersDeltaLatest(send, options.select);
  const limit = new AdaptiveLimit({
    initial: INITIAL_CONCURRENCY,
    max: options.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY,
  });
  const seen = new Set<string>();
  for (const group of options.groups) {
    const pages = groupUserMemberPages(send, group.groupId, options.select, { groupName: group.displayName });
    for await (const page of pages) {
      const fresh = page.users.filter((user) => !seen.has(user.id));
      for (const user of fresh) seen.add(user.id);
      const users = await withManagers(send, fresh, limit);
      report.read += users.length;
      report.peakConcurrency = limit.peak;
      report.throttled = limit.throttled;
      yield { users, removed: [] };
    }
  }
  yield { users: [], removed: [], deltaLink };
}

/** The users with `managerId` set (null: no manager), their managers looked up in parallel, 15 per request. */
async function withManagers(send: GraphSend, users: GraphUser[], limit: AdaptiveLimit): Promise<GraphUser[]> {
  const managers = new Map<string, string | null>();
  const lookups: Promise<void>[] = [];
  for (let i = 0; i < users.length; i += MANAGER_LOOKUP_IDS) {
    const ids = users.slice(i, i + MANAGER_LOOKUP_IDS).map((user) => user.id);
    lookups.push(
      limit.run(async () => {
        const answer = await send({
          method: 'GET',
          url: `/users${queryString({
            $filter: `id in (${ids.map(odataString).join(',')})`,
            $select: 'id',
            $expand: 'manager($select=id)',
          })}`,
          purpose: 'reading managers',
          observe: limit.observe,
        });
        const body = answer.body as { value?: { id: string; manager?: { id?: unknown } | null }[] };
        for (const item of body.value ?? []) {
          managers.set(item.id, typeof item.manager?.id === 'string' ? item.manager.id : null);
        }
      }),
    );
  }
  await Promise.all(lookups);
  // Someone deleted between the two reads has no manager answer: they are read without one, and the next
  // delta round (whose link predates this read) reports the deletion.
  return users.map((user) => ({ ...user, managerId: managers.get(user.id) ?? null }));
}
