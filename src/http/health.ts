import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import type { Sql } from '../db/client.ts';
import { MIGRATIONS_DIR } from '../db/migrate.ts';
import { withDeadline } from '../deadline.ts';

/** Shaped like Bolt's `CustomRoute`, so the list goes straight into `customRoutes`. */
export interface Route {
  path: string;
  method: 'GET' | 'POST' | ('GET' | 'HEAD')[];
  handler(req: IncomingMessage, res: ServerResponse): void;
}

export interface JournalEntry {
  tag: string;
  /** drizzle stores this as `created_at` when it applies the migration. */
  when: number;
}

export type Readiness =
  | { ready: true; migrations: { applied: number; expected: number } }
  | { ready: false; reason: string };

/** The migrations this build ships, in order; a missing or unreadable journal is a broken install. */
export function readMigrationJournal(migrationsDir: string = MIGRATIONS_DIR): JournalEntry[] {
  const file = path.join(migrationsDir, 'meta', '_journal.json');
  const journal = JSON.parse(readFileSync(file, 'utf8')) as { entries?: JournalEntry[] };
  if (!Array.isArray(journal.entries) || journal.entries.length === 0) {
    throw new Error(`${file} lists no migrations`);
  }
  return journal.entries.map(({ tag, when }) => ({ tag, when }));
}

const UNDEFINED_TABLE = '42P01';

/**
 * Ready means: the database answers, and every migration of this build is applied, judged the way
 * drizzle's migrator judges it (a journal entry is pending when it is newer than the newest applied
 * one). A database that is *ahead* of this build — a newer replica migrated it during a rolling
 * update, or this is a rollback — still counts as ready: migrations only add, and refusing would
 * block the rollback.
 */
export async function checkReadiness(sql: Sql, journal: JournalEntry[], timeoutMs: number): Promise<Readiness> {
  return withDeadline(inspect(sql, journal), timeoutMs, () => ({
    ready: false,
    reason: `the database did not answer within ${timeoutMs} ms`,
  }));
}

async function inspect(sql: Sql, journal: JournalEntry[]): Promise<Readiness> {
  try {
    await sql`select 1`;
  } catch {
    // The driver's words (host, port, user, server messages) are for the logs, not for anyone who can reach the port.
    return { ready: false, reason: 'the database is unreachable' };
  }
  let applied: { count: number; latest: number | null };
  try {
    [applied] = await sql<{ count: number; latest: number | null }[]>`
      select count(*)::int as count, max(created_at)::float8 as latest from drizzle.__drizzle_migrations`;
  } catch (error) {
    if ((error as { code?: string }).code === UNDEFINED_TABLE) {
      return {
        ready: false,
        reason: 'no migrations are applied yet: run "aad-sync migrate" (serve applies them at start)',
      };
    }
    return { ready: false, reason: 'cannot read the migrations table' };
  }
  const pending = journal.filter((entry) => applied.latest === null || entry.when > applied.latest);
  if (pending.length > 0) {
    return {
      ready: false,
      reason: `${pending.length} of ${journal.length} migrations are not applied (${pending.map((e) => e.tag).join(', ')})`,
    };
  }
  return { ready: true, migrations: { applied: applied.count, expected: journal.length } };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(body));
}

/** `/healthz` (the process answers) and `/readyz` (database and schema). */
export function healthRoutes(options: {
  sql: Sql;
  journal?: JournalEntry[];
  /** Below the probe's own timeout, so the probe gets a reason instead of a closed connection. */
  readinessTimeoutMs?: number;
  /** Why the scheduler is wedged (a run in flight far past any run's deadline), or undefined. */
  wedged?: () => string | undefined;
}): Route[] {
  const journal = options.journal ?? readMigrationJournal();
  const timeoutMs = options.readinessTimeoutMs ?? 2_000;

  return [
    {
      path: '/healthz',
      method: 'GET',
      handler: (_req, res) => sendJson(res, 200, { status: 'ok' }),
    },
    {
      path: '/readyz',
      method: 'GET',
      handler: (_req, res) => {
        const wedged = options.wedged?.();
        if (wedged) return sendJson(res, 503, { status: 'not_ready', reason: wedged });
        void checkReadiness(options.sql, journal, timeoutMs).then((readiness) =>
          readiness.ready
            ? sendJson(res, 200, { status: 'ready', migrations: readiness.migrations })
            : sendJson(res, 503, { status: 'not_ready', reason: readiness.reason }),
        );
      },
    },
  ];
}
