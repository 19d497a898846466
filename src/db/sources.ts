import { and, eq } from 'drizzle-orm';
import type { Db, Sql } from './client.ts';
import { type Source, type SourceStatus, sources } from './schema.ts';

/**
 * The one module that writes `sources` (test/architecture/layers.test.ts refuses writes elsewhere). Each write
 * is named for what happened, so the row's life — created by a sign-in, configured in the wizard, scheduled,
 * synced, held, alerted, forgotten — reads from this file. Reads stay with their callers. Every write takes the
 * handle its caller holds, so it joins the caller's transaction: drizzle for the small typed writes, postgres.js
 * for those made inside a run's or a schedule's transaction.
 */

type Updater = Pick<Db, 'update'>;

/** A new source for a Slack installation, or for a tenant registered from the terminal. */
export async function createSource(
  q: Pick<Db, 'insert'>,
  values: Pick<Source, 'slackTeamId' | 'authMode' | 'status'> & { tenantId?: string },
): Promise<Source> {
  const [source] = await q.insert(sources).values(values).returning();
  return source;
}

/** The groups changed: `updated_at` marks it (the groups live in `source_groups`). */
export async function touchSource(q: Updater, sourceId: string): Promise<void> {
  await q.update(sources).set({ updatedAt: new Date() }).where(eq(sources.id, sourceId));
}

export interface SourceSettings {
  mapping: Record<string, string>;
  adminChannel: string;
  photoSync: boolean;
  autoSync: boolean;
}

/**
 * The wizard's mapping and settings. Photos turned on forget the delta scope, so the next run looks at
 * everyone's photo instead of only at changed people.
 */
export async function saveSourceSettings(
  q: Updater,
  before: Pick<Source, 'id' | 'photoSync'>,
  settings: SourceSettings,
): Promise<void> {
  await q
    .update(sources)
    .set({ ...settings, ...photosTurnedOn(before, settings.photoSync), updatedAt: new Date() })
    .where(eq(sources.id, before.id));
}

export async function setPhotoSync(q: Updater, before: Pick<Source, 'id' | 'photoSync'>, on: boolean): Promise<void> {
  await q
    .update(sources)
    .set({ photoSync: on, ...photosTurnedOn(before, on), updatedAt: new Date() })
    .where(eq(sources.id, before.id));
}

function photosTurnedOn(before: Pick<Source, 'photoSync'>, on: boolean): { deltaScope?: null } {
  return on && !before.photoSync ? { deltaScope: null } : {};
}

/** The "sync automatically" choice (it becomes the schedule itself through `enableSchedule`). */
export async function setAutoSync(q: Updater, sourceId: string, on: boolean): Promise<void> {
  await q.update(sources).set({ autoSync: on }).where(eq(sources.id, sourceId));
}

/** Setup ends without a schedule: the source is active and waits for "Sync now". */
export async function finishSetup(q: Updater, sourceId: string): Promise<void> {
  await q
    .update(sources)
    .set({ status: 'active', updatedAt: new Date() })
    .where(and(eq(sources.id, sourceId), eq(sources.status, 'setup')));
}

export interface Authorization {
  tenantId: string;
  authMode: Source['authMode'];
  authorizedByUpn: string | null;
  authorizedBySlackUser: string;
  authorizedAt: Date;
}

/**
 * A completed Microsoft sign-in or admin consent: who, for which tenant. Consent needs no saved sign-in, so an
 * application-mode authorization drops any delegated one; a source waiting for reauthorization is active again.
 */
export async function recordAuthorization(
  q: Updater,
  before: Pick<Source, 'id' | 'status'>,
  authorization: Authorization,
): Promise<void> {
  await q
    .update(sources)
    .set({
      ...authorization,
      ...(authorization.authMode === 'application' ? { homeAccountId: null, tokenCache: null } : {}),
      status: before.status === 'needs_reauth' ? 'active' : before.status,
      updatedAt: authorization.authorizedAt,
    })
    .where(eq(sources.id, before.id));
}

/** The sealed MSAL token cache and the signed-in account; false when the source is gone. */
export async function saveSignIn(
  q: Updater,
  sourceId: string,
  values: { tokenCache: string } | { homeAccountId: string | null },
): Promise<boolean> {
  const rows = await q.update(sources).set(values).where(eq(sources.id, sourceId)).returning({ id: sources.id });
  return rows.length > 0;
}

export interface AlertStreakColumns {
  alertChannel: string | null;
  alertTs: string | null;
  alertCode: string | null;
  alertCount: number;
  alertLastAt: Date | null;
}

/** The alert message a failure streak is threaded under (all null when the streak ended). */
export async function saveAlertStreak(q: Updater, sourceId: string, streak: AlertStreakColumns): Promise<void> {
  await q.update(sources).set(streak).where(eq(sources.id, sourceId));
}

/** Hourly sync on: a new or disabled source becomes active. Call inside the schedule lock. */
export async function enableSchedule(sql: Sql, sourceId: string): Promise<void> {
  await sql`
    update sources set sync_enabled = true, updated_at = now(),
      status = case when status in ('setup', 'disabled') then 'active' else status end
    where id = ${sourceId}`;
}

/** Hourly sync off; a source waiting for reauthorization keeps saying so. False when the source is gone. */
export async function disableSchedule(sql: Sql, sourceId: string): Promise<boolean> {
  const rows = await sql`
    update sources set sync_enabled = false, updated_at = now(),
      status = case when status = 'needs_reauth' then status else 'disabled' end
    where id = ${sourceId} returning id`;
  return rows.length > 0;
}

/** A run applied: the delta link to continue from, the scope it was taken under, and the source is healthy. */
export async function recordSyncSuccess(
  sql: Sql,
  sourceId: string,
  run: { deltaLink: string | null; deltaScope: string; full: boolean },
): Promise<void> {
  await sql`
    update sources set users_delta_link = ${run.deltaLink}, delta_scope = ${run.deltaScope},
      last_full_sync_at = ${run.full ? sql`now()` : sql`last_full_sync_at`},
      last_success_at = now(), updated_at = now(),
      status = case when status = 'disabled' then status else 'active' end
    where id = ${sourceId}`;
}

/** A run failed: the status it leaves (`needs_reauth` or `failing`), unless an admin disabled the source. */
export async function recordSyncFailure(
  sql: Sql,
  sourceId: string,
  status: Extract<SourceStatus, 'needs_reauth' | 'failing'>,
): Promise<void> {
  await sql`
    update sources set updated_at = now(),
      status = case when status = 'disabled' then status else ${status} end
    where id = ${sourceId}`;
}

/** Too many removals: the source waits for an admin's decision. */
export async function holdSource(sql: Sql, sourceId: string): Promise<void> {
  await sql`
    update sources set status = 'held', updated_at = now() where id = ${sourceId} and status <> 'disabled'`;
}

/** The held removals were rejected: the source is active again. */
export async function releaseHold(sql: Sql, sourceId: string): Promise<void> {
  await sql`update sources set status = 'active', updated_at = now() where id = ${sourceId} and status = 'held'`;
}

export interface ForgottenData {
  sources: number;
  people: number;
  photos: number;
  runs: number;
}

/** Deletes an installation's sources and, by cascade, everything synced for them; returns what was deleted. */
export async function forgetInstallationSources(sql: Sql, installation: string): Promise<ForgottenData> {
  const [counts] = await sql<ForgottenData[]>`
    with gone as (delete from sources where slack_team_id = ${installation} returning id)
    select
      (select count(*)::int from gone) as sources,
      (select count(*)::int from profiles where source_id in (select id from gone)) as people,
      (select count(*)::int from profile_photos ph join profiles p on p.id = ph.profile_id
         where p.source_id in (select id from gone)) as photos,
      (select count(*)::int from sync_runs where source_id in (select id from gone)) as runs`;
  return counts;
}
