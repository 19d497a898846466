import { AzureError, DeltaExpiredError } from './errors.ts';
import type { GraphSend } from './graph-transport.ts';
import { graphErrorOf } from './graph-transport.ts';
import type { GraphUser, RemovedUser, UsersDeltaPage } from './graph-types.ts';
import { odataString, queryString } from './odata-query.ts';

/**
 * `/users/delta`, one page at a time: a full read (no delta link) or the changes since `deltaLink`.
 * `manager` is always selected so that `manager@delta` reports each user's manager.
 */

type DeltaItem = Record<string, unknown> & {
  id: string;
  '@removed'?: { reason?: string };
  'manager@delta'?: unknown;
};

interface DeltaBody {
  value?: DeltaItem[];
  '@odata.nextLink'?: string;
  '@odata.deltaLink'?: string;
}

/** Graph's codes for a delta token it no longer knows (7-day expiry) or a requested resync. */
const EXPIRED_CODES = /^(syncStateNotFound|resyncRequired|syncStateInvalid)$/i;

function managerIdOf(value: unknown): string | null | undefined {
  if (value === undefined) return undefined;
  const entries = (Array.isArray(value) ? value : [value]) as { id?: string; '@removed'?: unknown }[];
  const current = entries.find((entry) => entry && typeof entry.id === 'string' && !entry['@removed']);
  return current?.id ?? null;
}

function toUser(item: DeltaItem): GraphUser {
  const { 'manager@delta': managerDelta, ...rest } = item;
  const user: GraphUser = { ...rest, id: item.id };
  for (const key of Object.keys(user)) if (key.startsWith('@odata.')) delete user[key];
  const managerId = managerIdOf(managerDelta);
  if (managerId !== undefined) user.managerId = managerId;
  return user;
}

/** What every delta round selects: the mapped properties, the id, and the manager. */
function deltaSelect(select: readonly string[]): string {
  return [...new Set(['id', ...select, 'manager'])].join(',');
}

/**
 * A delta link for "from now on" without listing anyone (`$deltatoken=latest`, Graph's "sync from now"),
 * with the same `$select` as a full round: taken before a full read, so whatever changes while the read
 * runs is replayed by the next delta round.
 */
export async function usersDeltaLatest(send: GraphSend, select: readonly string[]): Promise<string> {
  const answer = await send({
    method: 'GET',
    url: `/users/delta${queryString({ $select: deltaSelect(select), $deltatoken: 'latest' })}`,
    purpose: 'starting to track changes',
  });
  const link = (answer.body as DeltaBody | undefined)?.['@odata.deltaLink'];
  if (!link) {
    throw new AzureError('graph_unavailable', 'Microsoft Graph answered "sync from now" without a delta link.', {
      path: '/users/delta',
    });
  }
  return link;
}

/**
 * Graph tracks at most this many objects in one filtered round ("user: delta", OData query parameters:
 * `$filter=id eq '…' or id eq '…'`, "There is a limit of 50 filtered objects").
 */
export const USERS_DELTA_MAX_IDS = 50;

/** `id eq '…' or …` over 1 to USERS_DELTA_MAX_IDS ids: what a filtered delta round of users or groups takes. */
export function idFilter(ids: readonly string[]): string {
  if (ids.length === 0 || ids.length > USERS_DELTA_MAX_IDS) {
    throw new RangeError(`a filtered delta round takes 1 to ${USERS_DELTA_MAX_IDS} ids, not ${ids.length}`);
  }
  return ids.map((id) => `id eq ${odataString(id)}`).join(' or ');
}

/** A delta round's 400/410: DeltaExpiredError when Graph no longer knows the token, else Graph's refusal. */
export function deltaRefusal(answer: { status: number; body: unknown }, path: string, what: string): Error {
  const { code, message } = graphErrorOf(answer.body);
  if (answer.status === 410 || (code && EXPIRED_CODES.test(code))) return new DeltaExpiredError(answer.status, code);
  return new AzureError(
    'graph_unavailable',
    `Microsoft Graph rejected the ${what} query (400 ${code ?? ''}): ${message ?? 'no details'}`,
    { status: 400, graphCode: code, path },
  );
}

export async function* usersDelta(
  send: GraphSend,
  input: { select: readonly string[]; deltaLink?: string; ids?: readonly string[] },
): AsyncGenerator<UsersDeltaPage> {
  let url: string | undefined =
    input.deltaLink ??
    `/users/delta${queryString({ $select: deltaSelect(input.select), $filter: input.ids && idFilter(input.ids) })}`;
  while (url) {
    const answer = await send({ method: 'GET', url, accept: [400, 410], purpose: 'reading users' });
    if (answer.status === 410 || answer.status === 400) throw deltaRefusal(answer, '/users/delta', 'users');
    const body = answer.body as DeltaBody;
    const users: GraphUser[] = [];
    const removed: RemovedUser[] = [];
    for (const item of body.value ?? []) {
      if (item['@removed']) {
        removed.push({ id: item.id, reason: item['@removed'].reason === 'deleted' ? 'deleted' : 'changed' });
      } else {
        users.push(toUser(item));
      }
    }
    url = body['@odata.nextLink'];
    yield { users, removed, deltaLink: url ? undefined : body['@odata.deltaLink'] };
  }
}
