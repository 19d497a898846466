/**
 * Every PostgreSQL advisory lock aad-sync takes, in one place, so that no two features share a key by
 * accident. Keys of two integers are `(class, hashtext(name))`: the class says what is locked, the name
 * which one. The single-key ones predate the classes; they keep their keys so replicas of an older
 * version still exclude newer ones during a rolling update.
 */

/** Session lock while migrations run: `pg_advisory_lock(hashtext(MIGRATIONS_LOCK))`. */
export const MIGRATIONS_LOCK = 'aad-sync:migrations';

/** Transaction lock while a team's source is found or created: `pg_advisory_xact_lock(hashtext(…))`. */
export const sourceOfTeamLock = (teamId: string) => `aad-sync source of ${teamId}`;

/** Class of the per-source lock held while an admin-channel alert changes (name: the source id). */
export const ALERT_LOCK_CLASS = 0xa1e27;

/** Class of the per-source lock held while a source's schedule is edited (name: the source id). */
export const SCHEDULE_LOCK_CLASS = 0x5c4ed;

/** Class of the lock held while Agenda prepares its job table (name: the table). */
export const JOB_TABLE_LOCK_CLASS = 0x10b5;

/**
 * Class of the session lock the process running a source's sync holds for the run's whole life (name: the
 * source id), on a connection of its own. The database frees it the moment that process dies or its
 * connection goes, so a `running` row whose lock nobody holds is known dead at once, without waiting for
 * its heartbeat to go stale.
 */
export const RUN_LOCK_CLASS = 0x2a11;
