import type postgres from 'postgres';

/** A pool or a transaction: the functions below run in either. */
export type Queryable = postgres.ISql;

/**
 * Whose directory a lookup may see: the sources of one Slack workspace, given sources, or every source
 * (the operator's `aad-sync whois`). People of other workspaces are never visible through a scope.
 */
export type DirectoryScope = { teamId: string } | { sourceIds: string[] } | 'all';

/** Enough to list a person as an option or a manager. */
export interface PersonSummary {
  id: number;
  displayName: string;
  jobTitle?: string;
  department?: string;
  email: string;
}

export interface PersonCard extends PersonSummary {
  firstName: string;
  lastName: string;
  office?: string;
  businessPhone?: string;
  mobilePhone?: string;
  manager?: PersonSummary;
  directReports: number;
  /** The source the person was synced from (its freshness is the card's). */
  sourceId: string;
  /** The person's Slack user when it is known (matched by email, checked in the last day). */
  slackUserId?: string;
  /** Present when a photo is stored; its etag names the version a signed URL points at. */
  photo?: { etag: string; contentType: string };
}

/** `p.source_id` limited to `scope`; queries that use it name the profiles table `p`. */
export function scopeCondition(sql: Queryable, scope: DirectoryScope) {
  if (scope === 'all') return sql`true`;
  if ('teamId' in scope) return sql`p.source_id in (select id from sources where slack_team_id = ${scope.teamId})`;
  return sql`p.source_id = any(${scope.sourceIds}::uuid[])`;
}

/** How long a cached Slack match (or "nobody in Slack") is trusted; see slack-identity.ts. */
export const SLACK_RECHECK_INTERVAL = '1 day';

/**
 * `p.slack_checked_at` is under a day old. Slack accounts change hands (an address given to a new hire, a
 * deactivated account) without anything telling aad-sync, so an older match is neither shown nor used.
 */
export function slackMatchIsFresh(sql: Queryable) {
  return sql`p.slack_checked_at > now() - ${SLACK_RECHECK_INTERVAL}::interval`;
}

type Row = Record<string, unknown>;

const optional = (value: unknown) => (typeof value === 'string' && value.trim() !== '' ? value : undefined);

export function summaryFromRow(row: Row, prefix = ''): PersonSummary {
  return {
    id: Number(row[`${prefix}id`]),
    displayName: String(row[`${prefix}display_name`]),
    jobTitle: optional(row[`${prefix}job_title`]),
    department: optional(row[`${prefix}department`]),
    email: String(row[`${prefix}email`]),
  };
}

/** The card of an active person in `scope`, or undefined (unknown, removed, or someone else's directory). */
export async function getPersonCard(
  sql: Queryable,
  scope: DirectoryScope,
  profileId: number,
  /** The person's source when known (a search found them): only its partition of profiles is then planned. */
  sourceId?: string,
): Promise<PersonCard | undefined> {
  if (!Number.isSafeInteger(profileId) || profileId <= 0) return undefined;
  const source = sourceId === undefined ? sql`` : sql`and p.source_id = ${sourceId}::uuid`;
  const [row] = await sql<Row[]>`
    select p.id, p.source_id, p.display_name, p.job_title, p.department, p.email, p.first_name, p.last_name, p.office,
      p.business_phone, p.mobile_phone, case when ${slackMatchIsFresh(sql)} then p.slack_user_id end as slack_user_id,
      m.id as m_id, m.display_name as m_display_name, m.job_title as m_job_title, m.department as m_department,
      m.email as m_email,
      (select count(*) from profiles r
        where r.source_id = p.source_id and r.manager_external_id = p.external_id and r.active)::int as reports,
      ph.etag as photo_etag, ph.content_type as photo_content_type
    from profiles p
    left join profiles m on m.source_id = p.source_id and m.external_id = p.manager_external_id and m.active
      and m.id <> p.id
    left join profile_photos ph on ph.profile_id = p.id
    where p.id = ${profileId} ${source} and p.active and ${scopeCondition(sql, scope)}`;
  if (!row) return undefined;
  return {
    ...summaryFromRow(row),
    firstName: String(row.first_name),
    lastName: String(row.last_name),
    office: optional(row.office),
    businessPhone: optional(row.business_phone),
    mobilePhone: optional(row.mobile_phone),
    manager: row.m_id == null ? undefined : summaryFromRow(row, 'm_'),
    directReports: Number(row.reports),
    sourceId: String(row.source_id),
    slackUserId: optional(row.slack_user_id),
    photo:
      row.photo_etag == null
        ? undefined
        : { etag: String(row.photo_etag), contentType: String(row.photo_content_type) },
  };
}
