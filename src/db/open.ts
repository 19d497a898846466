import path from 'node:path';
import { connectDatabase, type Database } from './client.ts';
import { runMigrations } from './migrate.ts';

export const DEFAULT_DATA_DIR = path.resolve('.data', 'postgres');

export interface OpenedDatabase extends Database {
  url: string;
  embedded: boolean;
}

/**
 * Connects to `databaseUrl`, or starts the embedded PostgreSQL in `.data/postgres` when none is given,
 * and brings the schema up to date.
 */
export async function openDatabase(options: {
  databaseUrl?: string;
  dataDir?: string;
  onLog?: (line: string) => void;
}): Promise<OpenedDatabase> {
  // Loaded only when used: a command on DATABASE_URL never needs the embedded server's code.
  const embedded = options.databaseUrl
    ? undefined
    : await (await import('./embedded.ts')).startEmbeddedPostgres({
        dataDir: options.dataDir ?? DEFAULT_DATA_DIR,
        persistent: true,
        onLog: options.onLog,
      });
  const url = options.databaseUrl ?? embedded!.url;
  try {
    await runMigrations(url);
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
  const database = connectDatabase(url);
  return {
    ...database,
    url,
    embedded: Boolean(embedded),
    close: async () => {
      await database.close();
      await embedded?.stop();
    },
  };
}
