import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config.ts';
import { createLogger } from '../../../src/logger.ts';
import {
  chooseJobStore,
  JOB_COLLECTION,
  JOB_TABLE,
  JobStoreError,
  openJobStore,
  redactUrl,
} from '../../../src/sync/scheduler/job-store.ts';
import { createScheduler } from '../../../src/sync/scheduler/scheduler.ts';
import { startTestDatabase } from '../../helpers/database.ts';
import { recordingLogger } from '../../helpers/logs.ts';
import { waitFor } from '../../helpers/wait.ts';

// No MongoDB server can be installed on these machines (see README "Scheduling"), so these tests cover the
// configuration path: the choice made from MONGODB_URL, and a clean failure when the server is not there.

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeEach(() => {
  unhandled.length = 0;
  process.on('unhandledRejection', onUnhandled);
});
afterEach(() => {
  process.off('unhandledRejection', onUnhandled);
});

const DATABASE_URL = 'postgres://app:secret@127.0.0.1:5432/aad_sync';
const UNREACHABLE_MONGO = 'mongodb://agenda:hunter2@127.0.0.1:1/aad_sync';

describe('choosing where jobs live', () => {
  it('keeps jobs in the app database when MONGODB_URL is unset', () => {
    const config = parseConfig({ DATABASE_URL });
    expect(chooseJobStore({ databaseUrl: config.databaseUrl!, mongodbUrl: config.mongodbUrl })).toEqual({
      kind: 'postgres',
      connectionString: DATABASE_URL,
      table: JOB_TABLE,
      poolSize: 4,
    });
  });

  it('uses MongoDB with bounded timeouts when MONGODB_URL is set', () => {
    const config = parseConfig({ DATABASE_URL, MONGODB_URL: 'mongodb+srv://u:p@cluster0.example.net/jobs' });
    const choice = chooseJobStore({ databaseUrl: config.databaseUrl!, mongodbUrl: config.mongodbUrl });
    expect(choice).toEqual({
      kind: 'mongodb',
      url: 'mongodb+srv://u:p@cluster0.example.net/jobs',
      collection: JOB_COLLECTION,
      clientOptions: { appName: 'aad-sync', serverSelectionTimeoutMS: 5_000, connectTimeoutMS: 5_000 },
    });
  });

  it('the scheduler reports the store it chose before connecting', () => {
    const common = {
      sql: undefined as never,
      databaseUrl: DATABASE_URL,
      intervalMs: 60_000,
      runSync: async () => ({ status: 'succeeded' as const }),
      logger: createLogger({ level: 'silent' }),
    };
    expect(createScheduler(common).jobStore).toBe('postgres');
    expect(createScheduler({ ...common, mongodbUrl: UNREACHABLE_MONGO }).jobStore).toBe('mongodb');
  });

  it('redacts passwords from URLs shown in messages', () => {
    expect(redactUrl(UNREACHABLE_MONGO)).toBe('mongodb://***@127.0.0.1:1/aad_sync');
    expect(redactUrl('mongodb://127.0.0.1:27017')).toBe('mongodb://127.0.0.1:27017');
  });
});

describe('an unreachable job store', () => {
  it('MongoDB: start() fails with a clear error within seconds, without crashing or leaking a rejection', async () => {
    const lines: string[] = [];
    const scheduler = createScheduler({
      sql: undefined as never,
      databaseUrl: DATABASE_URL,
      mongodbUrl: UNREACHABLE_MONGO,
      intervalMs: 60_000,
      runSync: async () => ({ status: 'succeeded' }),
      logger: recordingLogger({ level: 'debug', lines }).logger,
    });
    const began = Date.now();
    const error = await scheduler.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(JobStoreError);
    expect((error as Error).message).toMatch(
      /^could not reach MongoDB at mongodb:\/\/\*\*\*@127\.0\.0\.1:1\/aad_sync \(MONGODB_URL\) within 5000 ms: .+unset MONGODB_URL/,
    );
    expect((error as Error).message).not.toContain('hunter2');
    expect(Date.now() - began).toBeLessThan(8_000);
    // Methods refuse politely rather than half-working, and nothing was left running.
    await expect(scheduler.syncNow('00000000-0000-4000-8000-000000000000')).rejects.toThrow(/call start\(\) first/);
    expect(await scheduler.stop()).toEqual({ completed: 0, interrupted: [] });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(unhandled).toEqual([]);
    expect(lines.join('')).not.toContain('hunter2');
  });

  it('MongoDB: a malformed URL is refused with the variable named', async () => {
    const error = await openJobStore(
      chooseJobStore({ databaseUrl: DATABASE_URL, mongodbUrl: 'mongodb://' }),
      () => {},
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobStoreError);
    expect((error as Error).message).toMatch(
      /^MONGODB_URL \(mongodb:\/\/\) is not a usable MongoDB connection string: /,
    );
  });

  it('PostgreSQL: openJobStore fails with a clear error instead of crashing in the Agenda constructor', async () => {
    const error = await openJobStore(
      chooseJobStore({ databaseUrl: 'postgres://app:secret@127.0.0.1:1/aad_sync' }),
      () => {},
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobStoreError);
    expect((error as Error).message).toMatch(
      /^could not prepare the scheduler's job table in PostgreSQL at postgres:\/\/\*\*\*@127\.0\.0\.1:1\/aad_sync: .*ECONNREFUSED/,
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(unhandled).toEqual([]);
  });

  it("PostgreSQL: a dropped connection is reported as a short summary, not the driver's whole Client", async () => {
    const db = await startTestDatabase({ migrate: false });
    const reported: Error[] = [];
    const store = await openJobStore(chooseJobStore({ databaseUrl: db.url }), (error) => reported.push(error));
    try {
      // What a database restart does to idle pooled connections and to the LISTEN connection.
      await db.sql`
        select pg_terminate_backend(pid) from pg_stat_activity
        where pid <> pg_backend_pid() and datname = current_database()`.catch(() => {});
      await waitFor(() => reported.length > 0, { what: 'a connection error' });
      for (const error of reported) {
        expect(error.message).toContain('terminating connection');
        expect((error as Error & { code?: string }).code).toBe('57P01');
        expect(Object.keys(error)).toEqual(['code']);
        expect(JSON.stringify(error).length).toBeLessThan(100);
      }
    } finally {
      await store.close().catch(() => {});
      await db.stop();
    }
  }, 60_000);
});
