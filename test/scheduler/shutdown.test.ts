import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INTERRUPTED_BY_SHUTDOWN } from '../../src/sync/scheduler/run-records.ts';
import { REPO_ROOT } from '../helpers/cli.ts';
import { startTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { createAppliedTable, insertSource } from '../helpers/lock-runner.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/scheduler-process.ts', import.meta.url));

let database: TestDatabase;
beforeAll(async () => {
  database = await startTestDatabase();
  await createAppliedTable(database.sql);
});
afterAll(async () => {
  await database?.stop();
});

interface Replica {
  child: ChildProcess;
  runStarted: Promise<number>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  stderr: () => string;
}

function startReplica(settings: {
  sourceId: string;
  durationMs: number;
  ignoreAbort?: boolean;
  stopTimeoutMs: number;
  abortGraceMs?: number;
}): Replica {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      FIXTURE,
      JSON.stringify({ databaseUrl: database.url, ignoreAbort: false, abortGraceMs: 500, ...settings }),
    ],
    { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk) => {
    stderr += chunk;
  });
  const runStarted = new Promise<number>((resolve, reject) => {
    let stdout = '';
    child.stdout!.on('data', (chunk) => {
      stdout += chunk;
      const match = /"event":"run-started","runId":(\d+)/.exec(stdout);
      if (match) resolve(Number(match[1]));
    });
    child.on('exit', () => reject(new Error(`the replica exited before its run started:\n${stderr}`)));
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() }));
  });
  // A hung child must not outlive the test run.
  const guard = setTimeout(() => child.kill('SIGKILL'), 25_000);
  exited.then(() => clearTimeout(guard));
  return { child, runStarted, exited, stderr: () => stderr };
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
    const replica = startReplica({ sourceId, durationMs: 1_500, stopTimeoutMs: 10_000 });
    const runId = await replica.runStarted;
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
    const replica = startReplica({ sourceId, durationMs: 60_000, ignoreAbort: true, stopTimeoutMs: 500 });
    const runId = await replica.runStarted;
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
    const replica = startReplica({ sourceId, durationMs: 60_000, stopTimeoutMs: 300 });
    const runId = await replica.runStarted;
    replica.child.kill('SIGINT');
    const exit = await replica.exited;

    expect(exit.code).toBe(0);
    expect(await runRow(runId)).toEqual({ status: 'failed', error_code: 'cancelled', applied: false });
  });
});
