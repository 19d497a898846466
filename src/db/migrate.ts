import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { MIGRATIONS_LOCK } from './locks.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));

/** Applies every pending migration; a no-op when the database is current. */
export async function runMigrations(url: string): Promise<void> {
  const client = postgres(url, { max: 1, onnotice: () => {} });
  try {
    // Replicas starting together would race to apply the same migration; one waits for the other.
    await client`select pg_advisory_lock(hashtext(${MIGRATIONS_LOCK}))`;
    await migrate(drizzle(client), { migrationsFolder: MIGRATIONS_DIR });
  } catch (error) {
    throw new Error(describeDatabaseError(url, error), { cause: error });
  } finally {
    await client.end({ timeout: 5 });
  }
}

/** One line an operator can act on, without the password that the URL may hold. */
export function describeDatabaseError(url: string, error: unknown): string {
  let root = error as { cause?: unknown; code?: string; message?: string };
  while (root?.cause) root = root.cause as typeof root;
  let where = 'the database';
  try {
    const parsed = new URL(url);
    where = `PostgreSQL at ${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}`;
  } catch {}
  const reason = root?.code && !root.message?.includes(root.code) ? `${root.code}: ${root.message}` : root?.message;
  return `cannot migrate ${where} (${reason ?? String(error)}); check DATABASE_URL and that the server is running`;
}
