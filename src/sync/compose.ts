import { type AzureAuth, appRegistration, createAzureAuth, createTokenCacheStore } from '../azure/index.ts';
import type { Config } from '../config.ts';
import type { Database } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import type { SyncDeps } from './engine.ts';
import { graphReaderFactory } from './reader.ts';

/**
 * The sync engine's dependencies from configuration: MSAL with the sources' encrypted token caches, and
 * Graph readers on GRAPH_BASE_URL. Needs AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and ENCRYPTION_KEY.
 */
export function syncDepsFromConfig(
  config: Config,
  database: Pick<Database, 'db' | 'sql'>,
  logger?: Logger,
  options: { logMsal?: boolean } = {},
): SyncDeps & { auth: AzureAuth } {
  if (!config.encryptionKey) throw new Error('ENCRYPTION_KEY must be set: token caches are stored encrypted');
  const msalLog =
    options.logMsal && logger
      ? (level: 'error' | 'warn', message: string) => logger[level]({ msal: message }, 'MSAL')
      : undefined;
  const auth = createAzureAuth(
    appRegistration(config.azure, msalLog),
    createTokenCacheStore(database.db, config.encryptionKey),
  );
  return {
    db: database.db,
    sql: database.sql,
    logger,
    auth,
    timing: config.runBounds,
    readerFor: graphReaderFactory({ auth, graphBaseUrl: config.azure.graphBaseUrl }),
  };
}
