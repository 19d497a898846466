import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CopyWriter, copyLine } from '../../src/directory/copy-writer.ts';
import { startTestDatabase, type TestDatabase } from '../helpers/database.ts';

/**
 * A backend terminated under a reserved connection (a failover, pg_terminate_backend, a restart) must
 * reach the code using it as a rejected promise. postgres.js 3.4.9 threw a TypeError from a timer instead
 * ("Cannot read properties of null (reading 'write')", porsager/postgres#1208), which killed the process:
 * patches/postgres+3.4.9.patch. Vitest fails a file on any uncaught exception, so these tests fail on it.
 */

let database: TestDatabase;
const uncaught: unknown[] = [];
const record = (error: unknown) => uncaught.push(error);

beforeAll(async () => {
  database = await startTestDatabase({ migrate: false });
  process.on('uncaughtException', record);
});
afterAll(async () => {
  process.off('uncaughtException', record);
  await database?.stop();
});

async function terminate(pid: number): Promise<void> {
  await database.sql`select pg_terminate_backend(${pid})`;
}

const lines = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => copyLine([from + i, `row ${from + i}`])).join('');

describe('a reserved connection whose backend is terminated', () => {
  it('rejects the COPY in progress and the queries after it, and the process lives on', async () => {
    const conn = await database.sql.reserve();
    try {
      await conn`create temp table t (n int, s text)`;
      const [{ pid }] = await conn`select pg_backend_pid() as pid`;
      const writer = await CopyWriter.open(conn, 't', ['n', 's']);
      await writer.write(lines(0, 100), 100);
      await terminate(pid);
      let failed: unknown;
      try {
        // Small writes are the ones postgres.js defers to a timer; keep writing until the loss shows.
        for (let i = 1; i < 200; i++) {
          await writer.write(lines(i * 10, 10), 10);
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        await writer.finish();
      } catch (error) {
        failed = error;
      }
      expect(failed).toBeInstanceOf(Error);
      // The next query on the same reserved connection fails too (its temp table went with the backend).
      await expect(conn`select count(*) from t`).rejects.toThrow();
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(uncaught).toEqual([]);
    } finally {
      conn.release();
    }
  });

  it('fails the queries queued on it, and its release does not hand a dead connection to the next caller', async () => {
    const conn = await database.sql.reserve();
    const [{ pid }] = await conn`select pg_backend_pid() as pid`;
    const slow = conn`select pg_sleep(5)`;
    await new Promise((resolve) => setTimeout(resolve, 50));
    await terminate(pid);
    const settled = await Promise.allSettled([slow, conn`select 1`]);
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected']);
    conn.release();
    // Every pooled connection, reserved or not, works again.
    const reserved = await Promise.all(Array.from({ length: 10 }, () => database.sql.reserve()));
    try {
      for (const r of reserved) expect((await r`select 1 as ok`)[0].ok).toBe(1);
    } finally {
      for (const r of reserved) r.release();
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(uncaught).toEqual([]);
  });
});
