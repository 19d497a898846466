import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connectDatabase, type Database } from './client.ts';
import { startEmbeddedPostgres } from './embedded.ts';
import { runMigrations } from './migrate.ts';

export interface ThrowawayDatabase extends Database {
  url: string;
  /** The temporary folder holding the server's files; deleted by `stop`. */
  folder: string;
  /** Stops the server and deletes its files. */
  stop(): Promise<void>;
  /**
   * Stops the server (a fast shutdown: every connection is cut), keeps it down for `downForMs`, and starts it
   * again on its port with its data: a database restart or failover as the app sees one.
   */
  restart(downForMs?: number): Promise<void>;
}

/**
 * A real PostgreSQL that lives as long as the demo, a benchmark or a test file: its own data folder under
 * the system temp folder (which the `postgres` OS user can traverse when started as root), a free port,
 * migrations applied unless told otherwise.
 */
export async function startThrowawayDatabase(
  options: { migrate?: boolean; prefix?: string } = {},
): Promise<ThrowawayDatabase> {
  const folder = mkdtempSync(path.join(os.tmpdir(), options.prefix ?? 'aad-sync-pg-'));
  // The embedded server runs as the `postgres` user when started as root: it must reach its folder.
  chmodSync(folder, 0o755);
  const removeFolder = () => rmSync(folder, { recursive: true, force: true });
  const dataDir = path.join(folder, 'data');
  let server: Awaited<ReturnType<typeof startEmbeddedPostgres>>;
  try {
    server = await startEmbeddedPostgres({ dataDir, persistent: false });
  } catch (error) {
    removeFolder();
    throw error;
  }
  try {
    if (options.migrate !== false) await runMigrations(server.url);
  } catch (error) {
    await server.stop().catch(() => {});
    removeFolder();
    throw error;
  }
  const database = connectDatabase(server.url);
  return {
    ...database,
    url: server.url,
    folder,
    stop: async () => {
      await database.close();
      await server.stop();
      removeFolder();
    },
    restart: async (downForMs = 0) => {
      await server.stop({ keepData: true });
      await new Promise((resolve) => setTimeout(resolve, downForMs));
      server = await startEmbeddedPostgres({ dataDir, persistent: false, port: Number(new URL(server.url).port) });
    },
  };
}
