import { MongoBackend } from '@agendajs/mongo-backend';
import { PostgresBackend, type PostgresJobRepository } from '@agendajs/postgres-backend';
import type { AgendaBackend } from 'agenda';
import { MongoClient, type MongoClientOptions } from 'mongodb';
import { JOB_TABLE_LOCK_CLASS } from '../../db/locks.ts';

/**
 * Where Agenda keeps its jobs: the app's PostgreSQL unless MONGODB_URL is set.
 * The choice is plain data so the configuration path can be checked without a MongoDB server.
 */
export type JobStoreChoice =
  | { kind: 'postgres'; connectionString: string; table: string; poolSize: number }
  | { kind: 'mongodb'; url: string; collection: string; clientOptions: MongoClientOptions };

export const JOB_TABLE = 'agenda_jobs';
export const JOB_COLLECTION = 'agendaJobs';
const MONGO_TIMEOUT_MS = 5_000;

export function chooseJobStore(options: { databaseUrl: string; mongodbUrl?: string }): JobStoreChoice {
  if (options.mongodbUrl) {
    return {
      kind: 'mongodb',
      url: options.mongodbUrl,
      collection: JOB_COLLECTION,
      // Without these the driver waits 30 s for a server before failing.
      clientOptions: {
        appName: 'aad-sync',
        serverSelectionTimeoutMS: MONGO_TIMEOUT_MS,
        connectTimeoutMS: MONGO_TIMEOUT_MS,
      },
    };
  }
  return { kind: 'postgres', connectionString: options.databaseUrl, table: JOB_TABLE, poolSize: 4 };
}

export class JobStoreError extends Error {
  override name = 'JobStoreError';
}

export interface OpenedJobStore {
  kind: JobStoreChoice['kind'];
  /** Already connected: Agenda's own connect() on it is a no-op, so a failure can never surface as an unhandled rejection. */
  backend: AgendaBackend;
  close(): Promise<void>;
}

/** Hides the password of a connection URL for messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^/@]*@/, '//***@');
}

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** A connection error without what the driver hung on it: its message, and the server's code if any. */
export function connectionProblem(error: Error): Error {
  const code = (error as { code?: unknown }).code;
  const problem = new Error(error.message);
  return typeof code === 'string' ? Object.assign(problem, { code }) : problem;
}

/**
 * Connects the chosen store before Agenda sees it. Agenda's constructor calls `backend.connect()` without
 * a catch, so an unreachable server would otherwise crash the process instead of failing `start()`.
 */
export async function openJobStore(choice: JobStoreChoice, onError: (error: Error) => void): Promise<OpenedJobStore> {
  const backend = choice.kind === 'mongodb' ? await connectMongo(choice) : await connectPostgres(choice);
  // Idle pooled connections and the LISTEN connection report a server restart as an 'error' event;
  // with no listener Node would turn it into an uncaught exception. pg attaches the whole Client to the
  // error (connection parameters, the backend's cancel key): only a summary goes on.
  const report = (error: Error) => onError(connectionProblem(error));
  backend.notificationChannel?.on('error', report);
  if (backend instanceof PostgresBackend) {
    (backend.repository as PostgresJobRepository).getPool().on('error', report);
  }
  return {
    kind: choice.kind,
    backend: {
      name: backend.name,
      repository: backend.repository,
      notificationChannel: backend.notificationChannel,
      logger: backend.logger,
      ownsConnection: false,
      connect: async () => {},
      disconnect: async () => {},
    },
    close: () => backend.disconnect(),
  };
}

async function connectPostgres(choice: Extract<JobStoreChoice, { kind: 'postgres' }>): Promise<PostgresBackend> {
  const backend = new PostgresBackend({
    poolConfig: { connectionString: choice.connectionString, max: choice.poolSize, connectionTimeoutMillis: 10_000 },
    tableName: choice.table,
  });
  try {
    // Agenda prepares its table (create if missing, indexes, trigger function) on every start. Replicas
    // starting together would run that DDL at once, which PostgreSQL refuses ("tuple concurrently updated",
    // duplicate pg_type/pg_class keys): one replica at a time. The lock's connection is closed afterwards,
    // not returned to the pool, which releases the lock whatever happened.
    const lock = await (backend.repository as PostgresJobRepository).getPool().connect();
    try {
      await lock.query('select pg_advisory_lock($1, hashtext($2))', [JOB_TABLE_LOCK_CLASS, choice.table]);
      await backend.connect();
    } finally {
      lock.release(true);
    }
  } catch (error) {
    await backend.disconnect().catch(() => {});
    throw new JobStoreError(
      `could not prepare the scheduler's job table in PostgreSQL at ${redactUrl(choice.connectionString)}: ${describe(error)}`,
    );
  }
  return backend;
}

/** MongoBackend owns nothing here: the client is ours, so closing it is ours too. */
class OwnedMongoBackend extends MongoBackend {
  constructor(
    private readonly client: MongoClient,
    collection: string,
  ) {
    super({ mongo: client.db(), collection });
  }

  override async disconnect(): Promise<void> {
    await super.disconnect();
    await this.client.close();
  }
}

async function connectMongo(choice: Extract<JobStoreChoice, { kind: 'mongodb' }>): Promise<MongoBackend> {
  const shown = redactUrl(choice.url);
  let client: MongoClient;
  try {
    client = new MongoClient(choice.url, choice.clientOptions);
  } catch (error) {
    throw new JobStoreError(`MONGODB_URL (${shown}) is not a usable MongoDB connection string: ${describe(error)}`);
  }
  try {
    await client.connect();
    const backend = new OwnedMongoBackend(client, choice.collection);
    await backend.connect();
    return backend;
  } catch (error) {
    await client.close().catch(() => {});
    throw new JobStoreError(
      `could not reach MongoDB at ${shown} (MONGODB_URL) within ${choice.clientOptions.serverSelectionTimeoutMS} ms: ${describe(error)}. ` +
        'Check the address, or unset MONGODB_URL to keep scheduled jobs in PostgreSQL.',
    );
  }
}
