import { type AzureSource, MAX_SUBSCRIPTION_MINUTES, type SubscriptionClient } from '../../azure/index.ts';
import { decrypt, encrypt, randomToken } from '../../crypto.ts';
import type { Sql } from '../../db/client.ts';
import type { SubscriptionResource, SubscriptionStatus } from '../../db/schema.ts';
import type { Logger } from '../../logger.ts';

/**
 * The `graph_subscriptions` table and the Graph subscriptions it stands for: one per enabled source on
 * `/users`, and one on `/groups` when the source syncs chosen groups (so joins and leaves are heard).
 * `maintainSubscriptions` creates, renews and removes them; it runs on every replica, but a PostgreSQL
 * advisory lock lets one replica at a time do it, so two replicas never create two subscriptions.
 */

export interface SubscriptionDeps {
  sql: Sql;
  encryptionKey: Buffer;
  /** PUBLIC_URL: Graph posts to `${publicUrl}/graph/notifications` and `/graph/lifecycle`. */
  publicUrl: string;
  clientFor(source: AzureSource): SubscriptionClient;
  logger?: Logger;
  now?: () => Date;
  /** Renew when less than this is left (default 2 days of the 29-day lifetime). */
  renewBeforeMs?: number;
  /** After a refusal (URL unreachable, permission missing), try again after this long (default 10 minutes). */
  retryAfterMs?: number;
}

/** Graph's maximum, less an hour for clock skew between us and Graph. */
export const LIFETIME_MS = (MAX_SUBSCRIPTION_MINUTES - 60) * 60_000;
const RENEW_BEFORE_MS = 2 * 24 * 3600_000;
const RETRY_AFTER_MS = 10 * 60_000;
/** Distinguishes subscription upkeep from every other advisory lock in the database. */
const SUBSCRIPTION_LOCK_CLASS = 1_700_017;

interface Wanted {
  source: AzureSource;
  resources: SubscriptionResource[];
}

interface Row {
  source_id: string;
  resource: SubscriptionResource;
  subscription_id: string | null;
  expires_at: Date | null;
  status: SubscriptionStatus;
  last_attempt_at: Date | null;
}

export interface MaintenanceResult {
  /** False when another replica holds the lock and does the upkeep. */
  ran: boolean;
  created: number;
  renewed: number;
  removed: number;
  refused: number;
}

export async function maintainSubscriptions(deps: SubscriptionDeps): Promise<MaintenanceResult> {
  const result: MaintenanceResult = { ran: false, created: 0, renewed: 0, removed: 0, refused: 0 };
  const connection = await deps.sql.reserve();
  try {
    const [{ locked }] = await connection`select pg_try_advisory_lock(${SUBSCRIPTION_LOCK_CLASS}, 0) as locked`;
    if (!locked) return result;
    try {
      result.ran = true;
      await maintain(deps, result);
    } finally {
      await connection`select pg_advisory_unlock(${SUBSCRIPTION_LOCK_CLASS}, 0)`;
    }
  } finally {
    connection.release();
  }
  return result;
}

async function maintain(deps: SubscriptionDeps, result: MaintenanceResult): Promise<void> {
  const now = (deps.now ?? (() => new Date()))();
  const wanted = await wantedSubscriptions(deps.sql);
  const rows = await deps.sql<Row[]>`
    select source_id, resource, subscription_id, expires_at, status, last_attempt_at from graph_subscriptions`;
  const key = (sourceId: string, resource: string) => `${sourceId}/${resource}`;
  const existing = new Map(rows.map((r) => [key(r.source_id, r.resource), r]));
  const wantedKeys = new Set<string>();
  for (const { source, resources } of wanted) {
    for (const resource of resources) {
      wantedKeys.add(key(source.id, resource));
      try {
        await ensure(deps, source, resource, existing.get(key(source.id, resource)), now, result);
      } catch (error) {
        // A Graph outage or an expired sign-in: the hourly runs go on, and the next upkeep tries again.
        deps.logger?.warn({ err: error, sourceId: source.id, resource }, 'could not keep the Graph subscription');
        await record(deps.sql, source.id, resource, {
          status: 'failing',
          problem: error instanceof Error ? error.message : String(error),
        });
      }
    }
  }
  const sources = new Map(wanted.map((w) => [w.source.id, w.source]));
  for (const row of rows) {
    if (wantedKeys.has(key(row.source_id, row.resource))) continue;
    await removeRow(deps, row, sources.get(row.source_id) ?? (await loadSource(deps.sql, row.source_id)));
    result.removed++;
  }
}

async function ensure(
  deps: SubscriptionDeps,
  source: AzureSource,
  resource: SubscriptionResource,
  row: Row | undefined,
  now: Date,
  result: MaintenanceResult,
): Promise<void> {
  const client = deps.clientFor(source);
  const expiresAt = new Date(now.getTime() + LIFETIME_MS);
  if (row?.subscription_id && row.expires_at) {
    if (row.expires_at.getTime() - now.getTime() > (deps.renewBeforeMs ?? RENEW_BEFORE_MS)) return;
    const renewed = await client.renew(row.subscription_id, expiresAt);
    if (renewed) {
      await record(deps.sql, source.id, resource, { status: 'active', problem: null, expiresAt: renewed.expiresAt });
      result.renewed++;
      return;
    }
    deps.logger?.info({ sourceId: source.id, resource }, 'Graph no longer knows the subscription; creating it again');
  } else if (
    row &&
    row.status !== 'pending' &&
    row.last_attempt_at &&
    now.getTime() - row.last_attempt_at.getTime() < (deps.retryAfterMs ?? RETRY_AFTER_MS)
  ) {
    return;
  }
  await create(deps, client, source, resource, expiresAt, result);
}

async function create(
  deps: SubscriptionDeps,
  client: SubscriptionClient,
  source: AzureSource,
  resource: SubscriptionResource,
  expiresAt: Date,
  result: MaintenanceResult,
): Promise<void> {
  const clientState = randomToken(32);
  const created = await client.create({
    resource,
    notificationUrl: `${deps.publicUrl}/graph/notifications`,
    lifecycleNotificationUrl: `${deps.publicUrl}/graph/lifecycle`,
    clientState,
    expiresAt,
  });
  if ('refused' in created) {
    deps.logger?.warn({ sourceId: source.id, resource, why: created.refused }, 'Graph refused the subscription');
    await record(deps.sql, source.id, resource, {
      subscriptionId: null,
      status: created.refused,
      problem: created.message,
    });
    result.refused++;
    return;
  }
  await record(deps.sql, source.id, resource, {
    subscriptionId: created.id,
    clientState: encrypt(deps.encryptionKey, clientState, stateContext(source.id, resource)),
    status: 'active',
    problem: null,
    expiresAt: created.expiresAt,
  });
  deps.logger?.info({ sourceId: source.id, resource, subscriptionId: created.id }, 'subscribed to Graph changes');
  result.created++;
}

/** Enabled sources that can still sign in, and which resources each needs. */
async function wantedSubscriptions(sql: Sql): Promise<Wanted[]> {
  const rows = await sql<(AzureSource & { grouped: boolean })[]>`
    select s.id, s.auth_mode as "authMode", s.tenant_id as "tenantId", s.home_account_id as "homeAccountId",
      exists (select 1 from source_groups g where g.source_id = s.id) as grouped
    from sources s
    where s.sync_enabled and s.status in ('active', 'failing', 'held')`;
  return rows.map(({ grouped, ...source }) => ({
    source,
    resources: grouped ? ['users', 'groups'] : ['users'],
  }));
}

async function loadSource(sql: Sql, sourceId: string): Promise<AzureSource | undefined> {
  const [source] = await sql<AzureSource[]>`
    select id, auth_mode as "authMode", tenant_id as "tenantId", home_account_id as "homeAccountId"
    from sources where id = ${sourceId}`;
  return source;
}

interface RowChange {
  subscriptionId?: string | null;
  clientState?: string;
  status?: SubscriptionStatus;
  problem?: string | null;
  expiresAt?: Date;
}

async function record(sql: Sql, sourceId: string, resource: SubscriptionResource, change: RowChange): Promise<void> {
  const subscriptionId = change.subscriptionId === undefined ? null : change.subscriptionId;
  await sql`
    insert into graph_subscriptions (source_id, resource, subscription_id, client_state, status, problem, expires_at, last_attempt_at)
    values (${sourceId}, ${resource}, ${subscriptionId}, ${change.clientState ?? null}, ${change.status ?? 'pending'},
      ${change.problem ?? null}, ${change.expiresAt ?? null}, now())
    on conflict (source_id, resource) do update set
      subscription_id = ${change.subscriptionId === undefined ? sql`graph_subscriptions.subscription_id` : subscriptionId},
      client_state = ${change.clientState === undefined ? sql`graph_subscriptions.client_state` : change.clientState},
      status = ${change.status ?? sql`graph_subscriptions.status`},
      problem = ${change.problem === undefined ? sql`graph_subscriptions.problem` : change.problem},
      expires_at = ${change.expiresAt ?? sql`graph_subscriptions.expires_at`},
      last_attempt_at = now(), updated_at = now()`;
}

async function removeRow(deps: SubscriptionDeps, row: Row, source: AzureSource | undefined): Promise<void> {
  if (row.subscription_id && source) {
    await deps
      .clientFor(source)
      .remove(row.subscription_id)
      .catch((error: unknown) =>
        // Graph forgets an unrenewed subscription within 29 days anyway; its notifications are then ignored.
        deps.logger?.warn({ err: error, sourceId: row.source_id }, 'could not delete the Graph subscription'),
      );
  }
  await deps.sql`delete from graph_subscriptions where source_id = ${row.source_id} and resource = ${row.resource}`;
}

/**
 * Stops change notifications for a source (uninstall, source deleted or disabled): deletes its Graph
 * subscriptions, best effort, and forgets them. Safe to call when there are none. It waits for an upkeep under
 * way on any replica (the upkeep's lock), so a subscription that upkeep is creating is deleted too.
 */
export async function stopSubscriptions(deps: SubscriptionDeps, sourceId: string): Promise<void> {
  const connection = await deps.sql.reserve();
  try {
    await connection`select pg_advisory_lock(${SUBSCRIPTION_LOCK_CLASS}, 0)`;
    try {
      const rows = await deps.sql<Row[]>`
        select source_id, resource, subscription_id, expires_at, status, last_attempt_at
        from graph_subscriptions where source_id = ${sourceId}`;
      const source = await loadSource(deps.sql, sourceId);
      for (const row of rows) await removeRow(deps, row, source);
    } finally {
      await connection`select pg_advisory_unlock(${SUBSCRIPTION_LOCK_CLASS}, 0)`;
    }
  } finally {
    connection.release();
  }
}

/** Lifecycle `subscriptionRemoved` (or a failed reauthorization): the next upkeep creates it again. */
export async function forgetSubscription(sql: Sql, subscriptionId: string): Promise<void> {
  await sql`
    update graph_subscriptions set subscription_id = null, status = 'pending', expires_at = null, updated_at = now()
    where subscription_id = ${subscriptionId}`;
}

export interface KnownSubscription {
  subscriptionId: string;
  sourceId: string;
  resource: SubscriptionResource;
  clientState: string;
}

/** The subscriptions among `ids` that we made, with their clientState decrypted. */
export async function findSubscriptions(
  sql: Sql,
  encryptionKey: Buffer,
  ids: readonly string[],
): Promise<KnownSubscription[]> {
  if (ids.length === 0) return [];
  const rows = await sql<
    { subscription_id: string; source_id: string; resource: SubscriptionResource; client_state: string }[]
  >`
    select subscription_id, source_id, resource, client_state from graph_subscriptions
    where subscription_id = any(${ids as string[]}) and client_state is not null`;
  return rows.map((r) => ({
    subscriptionId: r.subscription_id,
    sourceId: r.source_id,
    resource: r.resource,
    clientState: decrypt(encryptionKey, r.client_state, stateContext(r.source_id, r.resource)),
  }));
}

/** Records that these subscriptions were heard from; returns those still in the table (still ours). */
export async function markNotified(sql: Sql, subscriptionIds: readonly string[]): Promise<Set<string>> {
  if (subscriptionIds.length === 0) return new Set();
  const rows = await sql<{ subscription_id: string }[]>`
    update graph_subscriptions set last_notified_at = now()
    where subscription_id = any(${subscriptionIds as string[]}) returning subscription_id`;
  return new Set(rows.map((r) => r.subscription_id));
}

export interface ChangeFeedState {
  /** `live`: every subscription the source needs is active; `off`: not (yet) subscribed; `problem`: Graph refused. */
  state: 'live' | 'off' | 'problem';
  /** Why not live, in an admin's words (what went wrong and what to do). */
  problem: string | null;
  /**
   * People are live but joins and leaves of the chosen groups come with the scheduled runs: Graph refused the
   * `/groups` subscription for want of Group.Read.All, which aad-sync does not ask for (README, least privilege).
   */
  membershipScheduled: boolean;
  lastNotifiedAt: Date | null;
}

export async function changeFeedState(sql: Sql, sourceId: string): Promise<ChangeFeedState> {
  const rows = await sql<
    {
      resource: SubscriptionResource;
      status: SubscriptionStatus;
      problem: string | null;
      last_notified_at: Date | null;
    }[]
  >`
    select resource, status, problem, last_notified_at from graph_subscriptions where source_id = ${sourceId}
    order by resource desc`;
  const lastNotifiedAt = rows.reduce<Date | null>(
    (latest, r) => (r.last_notified_at && (!latest || r.last_notified_at > latest) ? r.last_notified_at : latest),
    null,
  );
  // Group.Read.All is optional: without it the people stay live and only memberships wait for a run.
  const optionalRefused = rows.find((r) => r.resource === 'groups' && r.status === 'forbidden');
  const needed = rows.filter((r) => r !== optionalRefused);
  const trouble = needed.find((r) => r.status !== 'active' && r.status !== 'pending');
  if (trouble) return { state: 'problem', problem: trouble.problem, membershipScheduled: false, lastNotifiedAt };
  const live = needed.length > 0 && needed.every((r) => r.status === 'active');
  return {
    state: live ? 'live' : 'off',
    problem: null,
    membershipScheduled: live && optionalRefused !== undefined,
    lastNotifiedAt,
  };
}

function stateContext(sourceId: string, resource: string): string {
  return `graph-subscription:${sourceId}/${resource}`;
}

/**
 * Lifecycle `reauthorizationRequired`: Graph wants proof we may still read; a subscription it no longer
 * knows is forgotten so the next upkeep creates it again.
 */
export async function reauthorizeSubscription(deps: SubscriptionDeps, known: KnownSubscription): Promise<void> {
  const source = await loadSource(deps.sql, known.sourceId);
  if (!source) return;
  const alive = await deps.clientFor(source).reauthorize(known.subscriptionId);
  if (!alive) await forgetSubscription(deps.sql, known.subscriptionId);
}
