import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connectDatabase, type Database } from '../../src/db/client.ts';
import { startEmbeddedPostgres } from '../../src/db/embedded.ts';
import { runMigrations } from '../../src/db/migrate.ts';

export interface TestDatabase extends Database {
  url: string;
  /** Stops the server and deletes its files. */
  stop(): Promise<void>;
}

/**
 * A real PostgreSQL for one test file: its own data directory under the system temp folder (which the
 * `postgres` OS user can traverse when tests run as root), a free port, migrations applied.
 */
export async function startTestDatabase(options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'aad-sync-pg-'));
  chmodSync(root, 0o755);
  const server = await startEmbeddedPostgres({ dataDir: path.join(root, 'data'), persistent: false });
  if (options.migrate !== false) await runMigrations(server.url);
  const database = connectDatabase(server.url);
  return {
    ...database,
    url: server.url,
    stop: async () => {
      await database.close();
      await server.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
