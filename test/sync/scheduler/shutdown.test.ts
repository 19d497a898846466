import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { INTERRUPTED_BY_SHUTDOWN } from '../../../src/sync/runs.ts';
import { startTestDatabase, type TestDatabase } from '../../helpers/database.ts';
import { createAppliedTable, insertSource } from '../../helpers/lock-runner.ts';
import { startReplicaProcess } from '../../helpers/replica-process.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await startTestDatabase();
  await createAppliedTable(database.sql);
});
afterAll(async () => {
  await database?.stop();
});
// An interrupted job is handed back for the next replica; the next test's replica must not pick it up.
afterEach(async () => {
  await database.sql`delete from agenda_jobs`;
});

/** A replica process whose runner is the lock runner, asked to sync `sourceId` once. */
async function startReplica(settings: {
  sourceId: string;
  durationMs: number;
  ignoreAbort?: boolean;
  stopTimeoutMs: number;
}) {
  const replica = startReplicaProcess({
    databaseUrl: database.url,
    sourceId: settings.sourceId,
    stopTimeoutMs: settings.stopTimeoutMs,
    abortGraceMs: 500,
    lockRunner: { durationMs: settings.durationMs, ignoreAbort: settings.ignoreAbort ?? false },
  });
  await replica.runStarted;
  const [run] = await database.sql`
    select id from sync_runs where source_id = ${settings.sourceId} and status = 'running'`;
  return { ...replica, runId: Number(run.id) };
}

const runRow = async (runId: number) => {
  const [row] = await database.sql<{ status: string; error_code: string | null }[]>`
    select status, error_code from sync_runs where id = ${runId}`;
  const applied = await database.sql`select 1 from sync_runs_applied where run_id = ${runId}`;
  return { ...row, applied: applied.length === 1 };
};

describe('SIGTERM during a run', () => {
  it('lets a run that fits in the timeout complete, then exits 0', async () => {
    const sourceId = await insertSource(database.sql);
    const { runId, ...replica } = await startReplica({ sourceId, durationMs: 1_500, stopTimeoutMs: 10_000 });
    const signalled = Date.now();
    replica.child.kill('SIGTERM');
    const exit = await replica.exited;

    expect(exit.code).toBe(0);
    expect(await runRow(runId)).toEqual({ status: 'succeeded', error_code: null, applied: true });
    // It waited for the run rather than exiting at once, and did not sit out the whole timeout.
    expect(exit.at - signalled).toBeLessThan(10_000);
    expect(replica.stderr()).toContain('shut down cleanly');
  });

  it('fails a run that outlives the timeout cleanly: nothing applied, never left running, exit 0', async () => {
    const sourceId = await insertSource(database.sql);
    const { runId, ...replica } = await startReplica({
      sourceId,
      durationMs: 60_000,
      ignoreAbort: true,
      stopTimeoutMs: 500,
    });
    replica.child.kill('SIGTERM');
    const exit = await replica.exited;
    expect(exit.code).toBe(0);
    expect(await runRow(runId)).toEqual({ status: 'failed', error_code: INTERRUPTED_BY_SHUTDOWN, applied: false });
    // The interrupted job was handed back: due now and unlocked, for another replica to run.
    const [job] = await database.sql<{ locked_at: Date | null; next_run_at: Date | null }[]>`
      select locked_at, next_run_at from agenda_jobs where data->>'sourceId' = ${sourceId}`;
    expect(job.locked_at).toBeNull();
    expect(job.next_run_at!.getTime()).toBeLessThanOrEqual(Date.now());
  });

  it('on SIGINT, a run that honours the abort signal ends itself as failed, and the process exits 0', async () => {
    const sourceId = await insertSource(database.sql);
    const { runId, ...replica } = await startReplica({ sourceId, durationMs: 60_000, stopTimeoutMs: 300 });
    replica.child.kill('SIGINT');
    const exit = await replica.exited;

    expect(exit.code).toBe(0);
    expect(await runRow(runId)).toEqual({ status: 'failed', error_code: 'cancelled', applied: false });
  });
});
