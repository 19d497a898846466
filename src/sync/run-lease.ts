import type { Sql } from '../db/client.ts';
import { RUN_LOCK_CLASS } from '../db/locks.ts';

/**
 * The proof that a run's process is alive: the source's run lock (RUN_LOCK_CLASS), a session advisory lock
 * held on a connection reserved for the run. PostgreSQL drops it when that session ends: the process was
 * killed (SIGKILL, out of memory), its machine vanished (the keepalives below notice within about 25 s), or
 * the connection was cut. Whoever then finds the run's row still `running` knows at once that it is dead.
 * Session locks need a direct connection or session pooling, as the migrations' lock already does.
 */
export interface RunLease {
  /** The reserved connection holding the lock; the run's heartbeat goes through it. */
  readonly conn: Sql;
  /** Unlocks and gives the connection back; never throws (a lost connection has released the lock already). */
  release(): Promise<void>;
}

/**
 * The server probes an idle lease connection after 10 s, every 5 s, 3 times: a replica whose machine died
 * without closing its sockets loses its lock within about 25 s instead of the operating system's 2 hours.
 */
const KEEPALIVES = 'set tcp_keepalives_idle = 10; set tcp_keepalives_interval = 5; set tcp_keepalives_count = 3';

/** Takes the source's run lock, or returns undefined when a live process holds it. */
export async function takeRunLease(sql: Sql, sourceId: string): Promise<RunLease | undefined> {
  const conn = await sql.reserve();
  let locked = false;
  try {
    await conn.unsafe(KEEPALIVES);
    const [row] = await conn<{ locked: boolean }[]>`
      select pg_try_advisory_lock(${RUN_LOCK_CLASS}, hashtext(${sourceId})) as locked`;
    locked = row.locked;
  } finally {
    if (!locked) conn.release();
  }
  if (!locked) return undefined;
  return {
    conn,
    async release() {
      try {
        await conn`select pg_advisory_unlock(${RUN_LOCK_CLASS}, hashtext(${sourceId}))`;
      } catch {
        // The connection is gone, and the lock with it.
      } finally {
        conn.release();
      }
    },
  };
}

/**
 * SQL condition, for a `sync_runs` row aliased `r`: some session holds the run lock of its source. Reads
 * `pg_locks`, which every role may read, so checking takes no lock itself.
 */
export const runLockHeld = (sql: Sql) => sql`exists (
  select 1 from pg_locks
  where locktype = 'advisory' and granted and objsubid = 2
    and database = (select oid from pg_database where datname = current_database())
    and classid = ${RUN_LOCK_CLASS}::int::oid and objid = hashtext(r.source_id::text)::oid)`;
