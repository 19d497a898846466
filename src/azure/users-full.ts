import { AdaptiveLimit } from './adaptive-limit.ts';
import { AzureError } from './errors.ts';
import type { GraphCall, GraphSend } from './graph-transport.ts';
import type { GraphUser, UsersDeltaPage } from './graph-types.ts';
import { odataString, queryString } from './odata-query.ts';
import { usersDelta, usersDeltaLatest } from './users-delta.ts';

/**
 * A full read of every user, fast: the tenant split into partitions read in parallel through `/users`
 * (bounded, adaptive concurrency), with the delta link for the next incremental round taken *before*
 * the read (`$deltatoken=latest`), so a change made while the read runs is replayed by that round.
 *
 * Why partitions by the first characters of `userPrincipalName`:
 * - Graph filters few user properties in ordinary queries, and an advanced query (`ConsistencyLevel:
 *   eventual` + `$count`) cannot `$expand` — yet `$expand=manager` is how a listing carries each person's
 *   manager. `startsWith` on `userPrincipalName` works in ordinary queries ("Advanced query capabilities
 *   on Microsoft Entra ID objects", filter support by property), `id` takes only `eq`/`in`, and `ge`/`le`
 *   ranges would depend on a collation Graph does not document. `startsWith` is case-insensitive.
 * - A UPN is required, unique, and "can only contain A–Z, a–z, 0–9, ' . - _ ! # ^ ~" before the `@`
 *   (user resource, userPrincipalName; guests' `…#EXT#@…` names too). So the 44 one-character prefixes
 *   below are disjoint and cover every valid UPN; a big partition is split again by the second character,
 *   which may also be the `@` of a one-letter alias.
 * - A tenant of at most `minPartitionedUsers` (2,000) people is read sequentially: ten delta pages cost
 *   less than counting 44 partitions.
 * - Exactness is checked, not assumed: the partitions' `$count`s must add up to the tenant's before the
 *   read (else one sequential read — the delta query's first round — is done instead), and the people
 *   read must number the tenant's count after it (else PartitionMismatchError: the caller restarts with
 *   a sequential read). Both land in the run record.
 *
 * `$expand` caps Graph's pages at 100 users (known issue 13635) whatever `$top` says; `$top=999` is still
 * asked for, in case Graph lifts the cap. Memory stays bounded: at most `maxConcurrency` pages wait for
 * the consumer, and one id per person is kept to drop anyone a rename moved between two partitions.
 */

export const UPN_FIRST_CHARACTERS = [..."abcdefghijklmnopqrstuvwxyz0123456789'.-_!#^~"];
const UPN_NEXT_CHARACTERS = [...UPN_FIRST_CHARACTERS, '@'];
const EVENTUAL = { ConsistencyLevel: 'eventual' };
export const DEFAULT_MAX_CONCURRENCY = 24;
const DEFAULT_MIN_PARTITIONED_USERS = 2_000;
const INITIAL_CONCURRENCY = 4;
/** Users per page with `$expand` (Graph's cap): no partition is split below one page. */
const PAGE = 100;

export interface FullReadReport {
  /** `members`: a group-scoped source read from its groups' members (group-members-full.ts). */
  strategy: 'partitioned' | 'sequential' | 'members';
  /** Partitions read (for `members`: groups). */
  partitions: number;
  /** The tenant's user count (Graph's `$count`), when the read was partitioned. */
  expected: number | null;
  read: number;
  peakConcurrency: number;
  /** 429s received while reading. */
  throttled: number;
  /** Why the read was sequential when a partitioned one was asked for. */
  fallback?: string;
  /** Why a sequential read was chosen up front (a small tenant). */
  reason?: string;
}

export interface FullReadOptions {
  select: readonly string[];
  /** false: one sequential read (the first round of a delta query). */
  partitioned?: boolean;
  maxConcurrency?: number;
  /** Tenants up to this many people are read sequentially (default 2,000). */
  minPartitionedUsers?: number;
  /** Partitions above this many people split by the second character (default: see `plan`; tests make it small). */
  splitAbove?: number;
  /** Filled in as the read goes, for the run record. */
  report?: FullReadReport;
}

/** The partitions did not add up to the tenant after the read: pages already handed out must be discarded. */
export class PartitionMismatchError extends Error {}

export function newFullReadReport(): FullReadReport {
  return { strategy: 'partitioned', partitions: 0, expected: null, read: 0, peakConcurrency: 0, throttled: 0 };
}

interface Partition {
  prefix: string;
  estimate: number;
}

type UserItem = Record<string, unknown> & { id: string; manager?: { id?: string } | null };

export async function* usersFull(send: GraphSend, options: FullReadOptions): AsyncGenerator<UsersDeltaPage> {
  const report = options.report ?? newFullReadReport();
  if (options.partitioned === false) {
    report.strategy = 'sequential';
    yield* sequential(send, options.select, report);
    return;
  }
  const max = options.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY;
  const limit = new AdaptiveLimit({ initial: INITIAL_CONCURRENCY, max });
  const observe = limit.observe;
  const count = async (prefix: string | null) => {
    const filter = prefix === null ? undefined : `startswith(userPrincipalName,${odataString(prefix)})`;
    const answer = await limit.run(() =>
      send({
        method: 'GET',
        url: `/users${queryString({ $filter: filter, $count: 'true', $top: 1, $select: 'id' })}`,
        headers: EVENTUAL,
        purpose: 'counting users',
        observe,
      }),
    );
    const counted = (answer.body as { '@odata.count'?: unknown } | undefined)?.['@odata.count'];
    if (typeof counted !== 'number') {
      throw new AzureError('graph_unavailable', 'Microsoft Graph answered a user count without a number.', {
        path: '/users',
      });
    }
    return counted;
  };

  const finish = () => {
    report.peakConcurrency = limit.peak;
    report.throttled = limit.throttled;
  };
  const total = await count(null);
  const small = options.minPartitionedUsers ?? DEFAULT_MIN_PARTITIONED_USERS;
  if (total <= small) {
    report.strategy = 'sequential';
    report.reason = `${total} people: at most ${small} are read sequentially`;
    finish();
    yield* sequential(send, options.select, report);
    return;
  }
  const deltaLink = await usersDeltaLatest(send, options.select);
  const counts = await Promise.all(UPN_FIRST_CHARACTERS.map(count));
  const covered = counts.reduce((a, b) => a + b, 0);
  if (covered !== total) {
    report.strategy = 'sequential';
    report.fallback =
      `the ${UPN_FIRST_CHARACTERS.length} partitions by the first character of the UPN count ${covered} people ` +
      `where Graph counts ${total} in the tenant`;
    finish();
    yield* sequential(send, options.select, report);
    return;
  }
  const partitions = plan(counts, options.splitAbove ?? Math.max(10 * PAGE, Math.ceil((1.5 * total) / max)));
  report.partitions = partitions.length;
  report.expected = total;
  const seen = new Set<string>();
  try {
    for await (const items of readPartitions(send, partitions, options.select, limit, observe, max)) {
      const users: GraphUser[] = [];
      for (const item of items) {
        if (seen.has(item.id)) continue;
        seen.add(item.id);
        users.push(toUser(item));
      }
      report.read = seen.size;
      yield { users, removed: [] };
    }
  } finally {
    finish();
  }
  if (seen.size !== total) {
    throw new PartitionMismatchError(
      `${partitions.length} partitions by UPN read ${seen.size} people where Graph counted ${total}`,
    );
  }
  yield { users: [], removed: [], deltaLink };
}

async function* sequential(
  send: GraphSend,
  select: readonly string[],
  report: FullReadReport,
): AsyncGenerator<UsersDeltaPage> {
  report.partitions = 1;
  for await (const page of usersDelta(send, { select })) {
    report.read += page.users.length;
    yield page;
  }
}

/**
 * One partition per first character; those above `share` split by the second character. A split costs ~45
 * requests, many for near-empty prefixes, so only partitions well above a reader's share of the tenant
 * (1.5 ×) and of at least ten pages are split. Largest first, so the longest chain of pages starts first.
 */
function plan(counts: number[], share: number): Partition[] {
  const partitions: Partition[] = [];
  UPN_FIRST_CHARACTERS.forEach((first, i) => {
    const estimate = counts[i];
    if (estimate === 0) return;
    if (estimate <= share) partitions.push({ prefix: first, estimate });
    else
      for (const next of UPN_NEXT_CHARACTERS)
        partitions.push({ prefix: first + next, estimate: estimate / UPN_NEXT_CHARACTERS.length });
  });
  return partitions.sort((a, b) => b.estimate - a.estimate);
}

/**
 * Reads the partitions with up to `max` readers, each following one partition's nextLinks at a time;
 * pages come out in whatever order they arrive, and readers wait while `max` pages are unconsumed.
 */
async function* readPartitions(
  send: GraphSend,
  partitions: Partition[],
  select: readonly string[],
  limit: AdaptiveLimit,
  observe: GraphCall['observe'],
  max: number,
): AsyncGenerator<UserItem[]> {
  const fields = [...new Set(['id', ...select])].join(',');
  const pending = [...partitions];
  const ready: UserItem[][] = [];
  const space: (() => void)[] = [];
  let wakeConsumer: (() => void) | null = null;
  let failure: { error: unknown } | null = null;
  let stopped = false;
  let finished = 0;
  const notify = () => {
    wakeConsumer?.();
    wakeConsumer = null;
  };

  const reader = async () => {
    for (let partition = pending.shift(); partition && !stopped; partition = pending.shift()) {
      let url: string | undefined = `/users${queryString({
        $filter: `startswith(userPrincipalName,${odataString(partition.prefix)})`,
        $select: fields,
        $expand: 'manager($select=id)',
        $top: 999,
      })}`;
      while (url && !stopped) {
        const page = url;
        const answer = await limit.run(() => send({ method: 'GET', url: page, purpose: 'reading users', observe }));
        const body = answer.body as { value?: UserItem[]; '@odata.nextLink'?: string };
        while (ready.length >= max && !stopped) await new Promise<void>((resolve) => space.push(resolve));
        ready.push(body.value ?? []);
        notify();
        url = body['@odata.nextLink'];
      }
    }
  };
  const readers = Array.from({ length: Math.min(max, partitions.length) }, () =>
    reader()
      .catch((error: unknown) => {
        failure ??= { error };
        stopped = true;
      })
      .finally(() => {
        finished++;
        notify();
      }),
  );
  try {
    for (;;) {
      if (failure) throw (failure as { error: unknown }).error;
      const page = ready.shift();
      if (page) {
        space.shift()?.();
        yield page;
      } else if (finished === readers.length) {
        return;
      } else {
        await new Promise<void>((resolve) => {
          wakeConsumer = resolve;
        });
      }
    }
  } finally {
    stopped = true;
    for (const resolve of space.splice(0)) resolve();
    await Promise.allSettled(readers);
  }
}

function toUser(item: UserItem): GraphUser {
  const { manager, '@odata.type': _type, ...rest } = item;
  return { ...rest, id: item.id, managerId: typeof manager?.id === 'string' ? manager.id : null } as GraphUser;
}
