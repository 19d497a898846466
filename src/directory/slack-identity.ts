import { type DirectoryScope, type Queryable, scopeCondition } from './people.ts';

/**
 * Profiles are matched to Slack users by email. The Slack layer answers the two questions below
 * (`users.info`, `users.lookupByEmail`); answers are cached in `profiles.slack_user_id`, and a profile is
 * asked about at most once a day (`slack_checked_at`).
 */
export interface SlackIdentityLookup {
  /** The email of a Slack user, or undefined when Slack has no such user or shows no email. */
  lookupSlackUserEmail(userId: string): Promise<string | undefined>;
  /** The Slack user with this email, or undefined when there is none (`users_not_found`). */
  lookupByEmail(email: string): Promise<string | undefined>;
}

export const SLACK_RECHECK_INTERVAL = '1 day';

/** The active profile in `scope` that a Slack user is, asking Slack for the user's email when it is not cached. */
export async function resolveSlackMention(
  sql: Queryable,
  scope: DirectoryScope,
  userId: string,
  slack?: Pick<SlackIdentityLookup, 'lookupSlackUserEmail'>,
): Promise<number | undefined> {
  const [cached] = await sql<{ id: string }[]>`
    select p.id from profiles p
    where p.slack_user_id = ${userId} and p.active and ${scopeCondition(sql, scope)}
    order by p.id limit 1`;
  if (cached) return Number(cached.id);
  if (!slack) return undefined;
  const email = await slack.lookupSlackUserEmail(userId);
  if (!email) return undefined;
  // The user id moves to the profile that now has the email; a profile that had it before lets go of it.
  const [matched] = await sql<{ id: string }[]>`
    with target as (
      select p.id from profiles p
      where p.search_email = lower(${email}) and p.active and ${scopeCondition(sql, scope)}
      order by p.id limit 1
    ), moved as (
      update profiles p set slack_user_id = case when p.id = target.id then ${userId} end, slack_checked_at = now()
      from target
      where (p.id = target.id or p.slack_user_id = ${userId}) and ${scopeCondition(sql, scope)}
      returning p.id
    )
    select id from target`;
  return matched ? Number(matched.id) : undefined;
}

/**
 * The Slack user of a profile: the cached one, or, when none is cached and the profile was not asked about in
 * the last day, Slack's answer (which is then cached, including "nobody"). A failed lookup is not cached.
 */
export async function ensureSlackUserId(
  sql: Queryable,
  profileId: number,
  slack: Pick<SlackIdentityLookup, 'lookupByEmail'>,
): Promise<string | undefined> {
  // Claiming the check first keeps two replicas (or two quick /whois) from both asking Slack.
  const [claim] = await sql<{ email: string; slack_user_id: string | null; previous: Date | null; claimed: boolean }[]>`
    with old as (select id, email, slack_user_id, slack_checked_at from profiles where id = ${profileId} for update),
    claimed as (
      update profiles p set slack_checked_at = now()
      from old
      where p.id = old.id and old.slack_user_id is null
        and (old.slack_checked_at is null or old.slack_checked_at < now() - ${SLACK_RECHECK_INTERVAL}::interval)
      returning p.id
    )
    select old.email, old.slack_user_id, old.slack_checked_at as previous, exists (select 1 from claimed) as claimed
    from old`;
  if (!claim) return undefined;
  if (!claim.claimed) return claim.slack_user_id ?? undefined;
  let userId: string | undefined;
  try {
    userId = await slack.lookupByEmail(claim.email);
  } catch (error) {
    await sql`update profiles set slack_checked_at = ${claim.previous} where id = ${profileId}`;
    throw error;
  }
  if (userId) await sql`update profiles set slack_user_id = ${userId} where id = ${profileId}`;
  return userId;
}
