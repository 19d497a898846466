import type { Sql } from '../db/client.ts';

/**
 * The set-based SQL behind ProfileStage: the staging tables, how staged people become stored rows, and
 * which profiles a run removes. The staging tables are temporary tables of the stage's own connection,
 * filled by statements that each commit at once; only the final apply runs in a transaction.
 */

export type StageMode = 'full' | 'delta';

export const STAGE_COLUMNS = [
  'seq',
  'graph_id',
  'external_id',
  'first_name',
  'last_name',
  'display_name',
  'email',
  'job_title',
  'department',
  'office',
  'business_phone',
  'mobile_phone',
  'employee_id',
  'manager_graph_id',
  'keep_manager',
] as const;

/** The columns of a staged person (STAGE_COLUMNS), as `profile_stage` and a page of it hold them. */
export const STAGED_PERSON = `
  seq int not null, graph_id text not null, external_id text not null, first_name text not null,
  last_name text not null, display_name text not null, email text not null, job_title text, department text,
  office text, business_phone text, mobile_phone text, employee_id text, manager_graph_id text,
  keep_manager boolean not null`;

/**
 * Session-scoped temporary tables: they outlive each statement but not the connection, so a run that dies
 * (its process, or its connection with a terminated backend) leaves nothing behind. Dropped first in case the
 * pooled connection still holds a previous stage's tables.
 */
export const CREATE_STAGE = `
  drop table if exists pg_temp.profile_stage, pg_temp.removal_stage, pg_temp.photo_stage, pg_temp.profile_resolved;
  create temp table profile_stage (${STAGED_PERSON});
  create temp table removal_stage (graph_id text not null);
  create temp table photo_stage (graph_id text not null, content_type text, bytes bytea, etag text);`;

export const DROP_STAGE =
  'drop table if exists pg_temp.profile_stage, pg_temp.removal_stage, pg_temp.photo_stage, pg_temp.profile_resolved';

/** The stored attributes' fingerprint: equal hashes mean there is nothing to write. */
export function contentHash(conn: Sql) {
  return conn`md5(row(graph_id, first_name, last_name, display_name, email, job_title, department, office,
    business_phone, mobile_phone, employee_id, manager_external_id)::text)`;
}

/** A person's stored attributes, as `profile_resolved` and `profiles` both name them. */
const PERSON_COLUMNS = [
  'external_id',
  'graph_id',
  'first_name',
  'last_name',
  'display_name',
  'email',
  'job_title',
  'department',
  'office',
  'business_phone',
  'mobile_phone',
  'employee_id',
  'manager_external_id',
  'content_hash',
] as const;

const PROFILE_COLUMNS = `source_id, ${PERSON_COLUMNS.join(', ')}`;

/** Inserts the people of `from` (rows named as PERSON_COLUMNS: `profile_resolved`, or a subquery) into `table`. */
export function insertPeople(conn: Sql, table: string, sourceId: string, from: ReturnType<Sql>) {
  return conn`
    insert into ${conn(table)} (${conn.unsafe(PROFILE_COLUMNS)})
    select ${sourceId}, ${conn.unsafe(PERSON_COLUMNS.join(', '))} from ${from}`;
}

/**
 * The SET list that writes a person's new version (`from`: the alias of the row holding it) over the profile
 * `target`: every attribute, back to active, and the Slack match voided when the address changed (the match
 * was made by email; an old address is often handed to a new hire).
 */
function writePerson(from: string, target: string): string {
  return `${PERSON_COLUMNS.filter((c) => c !== 'external_id')
    .map((c) => `${c} = ${from}.${c}`)
    .join(', ')},
    active = true, removed_at = null, last_synced_at = now(),
    slack_user_id = case when lower(${target}.email) = lower(${from}.email) then ${target}.slack_user_id end,
    slack_checked_at = case when lower(${target}.email) = lower(${from}.email) then ${target}.slack_checked_at end`;
}

/**
 * Staged people as they will be stored: the manager's Entra id becomes the manager's external id (found
 * among the staged people first, then among the source's profiles, removed ones included; or the stored
 * one when the source did not say), and the content hash covers every stored attribute, so an unchanged
 * person compares equal and is not rewritten. A manager who is removed later stays referenced: readers show
 * the manager only while that profile is active, and a manager who returns is linked again.
 */
export function resolvedPeople(conn: Sql, sourceId: string) {
  return conn`
    with m as (
      select s.*, case when s.keep_manager
        then (select manager_external_id from profiles where source_id = ${sourceId} and external_id = s.external_id)
        else coalesce(ms.external_id, mp.external_id) end as manager_external_id
      from profile_stage s
      left join profile_stage ms on ms.graph_id = s.manager_graph_id
      left join lateral (
        select external_id from profiles
        where ms.graph_id is null and s.manager_graph_id is not null
          and source_id = ${sourceId} and graph_id = s.manager_graph_id
        order by active desc, id desc limit 1
      ) mp on true
    )
    select graph_id, external_id, first_name, last_name, display_name, email, job_title, department, office,
           business_phone, mobile_phone, employee_id, manager_external_id,
           ${contentHash(conn)} as content_hash
    from m`;
}

/**
 * Resolves the staged people into `profile_resolved` before the apply's transaction, each with the profile it
 * becomes (`profile_id`, null for someone new) and whether that profile already holds exactly this
 * (`unchanged`). Resolving inside the insert made each manager lookup scan the index entries of the rows that
 * insert had just added (invisible to it, yet visited): quadratic, minutes for 50,000 people whose managers
 * were partly not staged.
 */
export async function resolveStage(conn: Sql, sourceId: string): Promise<ResolvedCounts> {
  await conn`
    create temp table profile_resolved as
    with r as (${resolvedPeople(conn, sourceId)})
    select r.*, p.id as profile_id, coalesce(p.active and p.content_hash = r.content_hash, false) as unchanged
    from r left join profiles p on p.source_id = ${sourceId} and p.external_id = r.external_id`;
  // Whatever order the planner joins the update and the removals in, each profile finds its staged row by
  // index. (Planned from statistics taken before this run's inserts, the source's new profiles looked few, so
  // the update put them outside and rescanned the stage for each: 100,000 × 100,000 rows, past the timeout.)
  await conn`create index on profile_resolved (profile_id)`;
  await conn`create index on profile_stage (external_id)`;
  await conn`analyze profile_resolved`;
  const [counts] = await conn<ResolvedCounts[]>`
    select count(*) filter (where profile_id is null)::int as new,
           count(*) filter (where profile_id is not null and not unchanged)::int as changed
    from profile_resolved`;
  return counts;
}

export interface ResolvedCounts {
  /** Staged people without a profile yet. */
  new: number;
  /** Staged people whose profile differs or was removed. */
  changed: number;
}

/**
 * The one write of a run, in two statements that touch only what changes: new people inserted, changed or
 * returning people updated by id; unchanged people are not visited at all. (One INSERT … ON CONFLICT over
 * everyone computed every row's generated /whois columns and locked every unchanged row before its WHERE
 * skipped it: 5 s for 92,000 unchanged people.) The insert keeps its ON CONFLICT as a guard only: the stage
 * was resolved outside this transaction, and only this source's single running run writes its profiles.
 */
export async function upsertResolved(
  conn: Sql,
  sourceId: string,
  resolved: ResolvedCounts,
): Promise<{ created: number; updated: number }> {
  const nothing = { count: 0 };
  const inserted =
    resolved.new === 0
      ? nothing
      : await conn`
    ${insertPeople(conn, 'profiles', sourceId, conn`profile_resolved where profile_id is null`)}
    on conflict (source_id, external_id) do update set ${conn.unsafe(writePerson('excluded', 'profiles'))}
    where profiles.content_hash is distinct from excluded.content_hash or not profiles.active`;
  const updated =
    resolved.changed === 0
      ? nothing
      : await conn`
    update profiles p set ${conn.unsafe(writePerson('r', 'p'))}
    from profile_resolved r
    where r.profile_id is not null and not r.unchanged and p.id = r.profile_id and p.source_id = ${sourceId}
      and (p.content_hash is distinct from r.content_hash or not p.active)`;
  return { created: inserted.count, updated: updated.count };
}

/**
 * Ids of the active profiles a run removes. Full: everyone not staged. Delta: the people named removed.
 * Both: a profile whose Entra object now carries another unique identifier (the person was re-keyed; the
 * staged row replaces it). A union of plain joins, so the planner hashes the full case; OR-ed EXISTS
 * would rescan the stage for every profile.
 */
export function removalIds(conn: Sql, sourceId: string, mode: StageMode) {
  if (mode === 'full') {
    return conn`
      select p.id from profiles p
      where p.source_id = ${sourceId} and p.active
        and not exists (select 1 from profile_stage s where s.external_id = p.external_id)
      union
      select p.id from profiles p join profile_stage s on s.graph_id = p.graph_id
      where p.source_id = ${sourceId} and p.active and s.external_id <> p.external_id`;
  }
  // A delta stage is small: look its people up by index instead of scanning the source's profiles.
  return conn`
    select p.id from removal_stage r cross join lateral (
      select id from profiles where source_id = ${sourceId} and graph_id = r.graph_id and active
    ) p
    where not exists (select 1 from profile_stage s where s.graph_id = r.graph_id)
    union
    select p.id from profile_stage s cross join lateral (
      select id from profiles
      where source_id = ${sourceId} and graph_id = s.graph_id and active and external_id <> s.external_id
    ) p`;
}

/** Staged photos stored or dropped for the staged people; returns how many rows changed. */
export async function applyStagedPhotos(conn: Sql, sourceId: string): Promise<number> {
  const stored = await conn`
    insert into profile_photos (profile_id, source_id, content_type, bytes, etag)
    select p.id, p.source_id, ps.content_type, ps.bytes, ps.etag
    from photo_stage ps
    join profile_stage s on s.graph_id = ps.graph_id
    join profiles p on p.source_id = ${sourceId} and p.external_id = s.external_id
    where ps.bytes is not null
    on conflict (profile_id) do update set content_type = excluded.content_type, bytes = excluded.bytes,
      etag = excluded.etag, updated_at = now()
    where profile_photos.etag is distinct from excluded.etag`;
  const dropped = await conn`
    delete from profile_photos ph using photo_stage ps
    join profile_stage s on s.graph_id = ps.graph_id
    join profiles p on p.source_id = ${sourceId} and p.external_id = s.external_id
    where ps.bytes is null and ph.profile_id = p.id`;
  await conn`
    update profiles p set photo_etag = ps.etag
    from photo_stage ps join profile_stage s on s.graph_id = ps.graph_id
    where p.source_id = ${sourceId} and p.external_id = s.external_id and p.photo_etag is distinct from ps.etag`;
  return stored.count + dropped.count;
}
