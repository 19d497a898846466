import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SCHEDULE_LOCK_CLASS } from '../../../src/db/locks.ts';
import { INTERRUPTED_BY_SHUTDOWN, SKIPPED_NEEDS_REAUTH } from '../../../src/sync/runs.ts';
import { chooseJobStore, JOB_TABLE, openJobStore } from '../../../src/sync/scheduler/job-store.ts';
import {
  createScheduler,
  type RunRequest,
  type RunResult,
  SCHEDULED_SYNC_JOB,
  type Scheduler,
  type SchedulerOptions,
  type SyncRunner,
  UnknownSourceError,
} from '../../../src/sync/scheduler/scheduler.ts';
import { startTestDatabase, type TestDatabase } from '../../helpers/database.ts';
import { createAppliedTable, createLockRunner, insertSource } from '../../helpers/lock-runner.ts';
import { recordingLogger } from '../../helpers/logs.ts';
import { expectOneRunPerTick, expectTicksRan } from '../../helpers/ticks.ts';
import { sleep, waitFor } from '../../helpers/wait.ts';

let database: TestDatabase;
const started: Scheduler[] = [];

beforeAll(async () => {
  database = await startTestDatabase();
  await createAppliedTable(database.sql);
});
afterEach(async () => {
  await Promise.all(started.splice(0).map((scheduler) => scheduler.stop({ timeoutMs: 5_000 })));
  // Each test starts from no schedules, or the next test's replicas would run this one's sources.
  await database.sql`update sources set sync_enabled = false`;
  await database.sql`delete from agenda_jobs`;
});
afterAll(async () => {
  await database?.stop();
});

interface Finished {
  replica: string;
  request: RunRequest;
  result: RunResult;
}

/** A replica: its own Agenda and job-store pool on the shared database, as a second process would have. */
async function startReplica(
  runSync: SyncRunner,
  options: Partial<SchedulerOptions> & { finished?: Finished[]; logLines?: string[] } = {},
): Promise<Scheduler> {
  const scheduler = createScheduler({
    sql: database.sql,
    databaseUrl: database.url,
    intervalMs: 1_500,
    processEvery: 250,
    logger: recordingLogger({ lines: options.logLines }).logger,
    runSync,
    onRunFinished: (request, result) => {
      options.finished?.push({ replica: scheduler.instanceName, request, result });
    },
    ...options,
  });
  await scheduler.start();
  started.push(scheduler);
  return scheduler;
}

interface RunRow {
  id: string;
  source_id: string;
  trigger: string;
  requested_by: string | null;
  status: string;
  started_at: Date;
  finished_at: Date | null;
  error_code: string | null;
  details: Record<string, unknown>;
}

const runsOf = (sourceId: string) =>
  database.sql<RunRow[]>`select * from sync_runs where source_id = ${sourceId} order by started_at, id`;

const scheduleRows = (sourceId: string) =>
  database.sql`select id from agenda_jobs where name = ${SCHEDULED_SYNC_JOB} and data->>'sourceId' = ${sourceId}`;

describe('two replicas on one database', () => {
  it('run each source exactly once per tick, never overlapping', async () => {
    const intervalMs = 1_500;
    const finished: Finished[] = [];
    const runner = createLockRunner(database.sql, { durationMs: 300 });
    const a = await startReplica(runner, { finished, intervalMs });
    const b = await startReplica(runner, { finished, intervalMs });
    const sources = [await insertSource(database.sql), await insertSource(database.sql)];
    const sources3 = await insertSource(database.sql);
    sources.push(sources3);
    // Both replicas enable the same sources at the same moment: the schedule lock keeps one job per source.
    const enabledAt = Date.now();
    await Promise.all(sources.flatMap((id) => [a.enableSource(id), b.enableSource(id)]));
    for (const id of sources) expect(await scheduleRows(id)).toHaveLength(1);

    await sleep(4 * intervalMs + 700);
    const beforeDisabling = finished.length;
    await Promise.all(sources.map((id) => a.disableSource(id)));
    const elapsed = Date.now() - enabledAt;
    await waitFor(async () => (await database.sql`select 1 from sync_runs where status = 'running'`).length === 0);

    for (const id of sources) {
      const runs = await runsOf(id);
      // One run at enabling, then one per tick: at least 4 in 6.7 s, and no more than the ticks that fit.
      expect(runs.length).toBeGreaterThanOrEqual(4);
      expect(runs.length).toBeLessThanOrEqual(Math.floor(elapsed / intervalMs) + 1);
      expect(runs.every((run) => run.status === 'succeeded' && run.trigger === 'schedule')).toBe(true);
      expectOneRunPerTick(runs, intervalMs);
    }
    const [{ n: runCount }] = await database.sql`
      select count(*)::int as n from sync_runs where source_id in ${database.sql(sources)}`;
    await expectTicksRan(() => finished.map((f) => f.result), { runs: runCount, beforeDisabling });
    expect(finished.every((f) => f.request.trigger === 'schedule')).toBe(true);
  });
});

describe('replicas starting at the same moment', () => {
  it('all prepare the job table, whether it is new or already there', async () => {
    // Four replicas at once, a few times: PostgreSQL refuses the same DDL run concurrently, so without
    // taking turns some of them fail to start.
    for (const table of ['agenda_jobs_fresh_a', 'agenda_jobs_fresh_b', 'agenda_jobs_fresh_b', JOB_TABLE]) {
      const choice = { ...chooseJobStore({ databaseUrl: database.url }), table };
      const opened = await Promise.allSettled(Array.from({ length: 4 }, () => openJobStore(choice, () => {})));
      for (const result of opened) if (result.status === 'fulfilled') await result.value.close();
      const failures = opened.flatMap((result) => (result.status === 'rejected' ? [String(result.reason)] : []));
      expect(failures).toEqual([]);
    }
  });
});

describe('enable and disable', () => {
  it('enable runs now and on schedule; disable stops runs and keeps data; re-enable runs again', async () => {
    const runner = createLockRunner(database.sql, { durationMs: 50 });
    const scheduler = await startReplica(runner, { intervalMs: 1_000 });
    const sourceId = await insertSource(database.sql, { status: 'setup' });

    const { nextRunAt } = await scheduler.enableSource(sourceId);
    expect(nextRunAt).not.toBeNull();
    const [source] = await database.sql`select status, sync_enabled from sources where id = ${sourceId}`;
    expect(source).toEqual({ status: 'active', sync_enabled: true });
    await waitFor(async () => (await runsOf(sourceId)).length >= 2, { what: 'two scheduled runs' });
    expect((await scheduler.nextRunAt(sourceId))!.getTime()).toBeGreaterThan(Date.now() - 100);

    await scheduler.disableSource(sourceId);
    await waitFor(async () => (await runsOf(sourceId)).every((run) => run.status !== 'running'));
    const before = await runsOf(sourceId);
    const applied =
      await database.sql`select run_id from sync_runs_applied where run_id in ${database.sql(before.map((r) => r.id))}`;
    expect(await scheduler.nextRunAt(sourceId)).toBeNull();
    expect(await scheduleRows(sourceId)).toHaveLength(0);
    const [disabled] = await database.sql`select status, sync_enabled from sources where id = ${sourceId}`;
    expect(disabled).toEqual({ status: 'disabled', sync_enabled: false });

    await sleep(2_500);
    expect(await runsOf(sourceId)).toEqual(before);
    expect(applied).toHaveLength(before.length);

    await scheduler.enableSource(sourceId);
    await waitFor(async () => (await runsOf(sourceId)).length > before.length, {
      timeoutMs: 1_000,
      what: 'a run soon after re-enabling',
    });
    const [again] = await database.sql`select status, sync_enabled from sources where id = ${sourceId}`;
    expect(again).toEqual({ status: 'active', sync_enabled: true });
  });

  it('runs a tick that fires while the enabling is still committing, rather than taking the source for disabled', async () => {
    const finished: Finished[] = [];
    const scheduler = await startReplica(createLockRunner(database.sql, { durationMs: 20 }), {
      finished,
      intervalMs: 60_000,
    });
    const sourceId = await insertSource(database.sql);
    await scheduler.enableSource(sourceId, { runSoon: false });
    await database.sql`update sources set sync_enabled = false where id = ${sourceId}`;
    // As enableSource re-enables: the flag flips in a transaction holding the schedule lock, and the job is
    // due before that transaction commits.
    await database.sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(${SCHEDULE_LOCK_CLASS}, hashtext(${sourceId}))`;
      await tx`update sources set sync_enabled = true where id = ${sourceId}`;
      await database.sql`
        update agenda_jobs set next_run_at = now()
        where name = ${SCHEDULED_SYNC_JOB} and data->>'sourceId' = ${sourceId}`;
      await waitFor(
        async () => (await database.sql`select 1 from pg_locks where locktype = 'advisory' and not granted`).length > 0,
        { what: 'the tick to wait for the enabling to commit' },
      );
    });
    await waitFor(() => finished.length === 1, { what: 'the tick' });
    expect(finished[0].result).toMatchObject({ kind: 'ran', outcome: { status: 'succeeded' } });
    expect(await runsOf(sourceId)).toHaveLength(1);
    expect(await scheduleRows(sourceId)).toHaveLength(1);
  });

  it('enabling an enabled source keeps its schedule instead of adding a run', async () => {
    const runner = createLockRunner(database.sql, { durationMs: 20 });
    const scheduler = await startReplica(runner, { intervalMs: 60_000 });
    const sourceId = await insertSource(database.sql);
    await scheduler.enableSource(sourceId, { runSoon: false });
    const first = await scheduler.nextRunAt(sourceId);
    expect(first!.getTime()).toBeGreaterThan(Date.now() + 50_000);
    const second = await scheduler.enableSource(sourceId);
    expect(second.nextRunAt).toEqual(first);
    await sleep(300);
    expect(await runsOf(sourceId)).toHaveLength(0);
  });

  it('disabling keeps needs_reauth visible, and unknown sources are refused', async () => {
    const scheduler = await startReplica(createLockRunner(database.sql, { durationMs: 20 }));
    const sourceId = await insertSource(database.sql, { status: 'needs_reauth', syncEnabled: true });
    await scheduler.disableSource(sourceId);
    const [row] = await database.sql`select status, sync_enabled from sources where id = ${sourceId}`;
    expect(row).toEqual({ status: 'needs_reauth', sync_enabled: false });
    const missing = '00000000-0000-4000-8000-000000000000';
    await expect(scheduler.enableSource(missing)).rejects.toBeInstanceOf(UnknownSourceError);
    await expect(scheduler.disableSource(missing)).rejects.toBeInstanceOf(UnknownSourceError);
    expect(await scheduler.syncNow(missing)).toEqual({ started: false, reason: 'unknown_source' });
    expect(await scheduler.syncNow('not-a-uuid')).toEqual({ started: false, reason: 'unknown_source' });
    await expect(scheduler.enableSource('not-a-uuid')).rejects.toBeInstanceOf(UnknownSourceError);
  });

  it('a schedule whose source was disabled or deleted behind its back is dropped at its tick, without a run', async () => {
    const finished: Finished[] = [];
    const runner = createLockRunner(database.sql, { durationMs: 20 });
    const scheduler = await startReplica(runner, { finished, intervalMs: 60_000 });
    const disabled = await insertSource(database.sql);
    const deleted = await insertSource(database.sql);
    await scheduler.enableSource(disabled, { runSoon: false });
    await scheduler.enableSource(deleted, { runSoon: false });
    await database.sql`update sources set sync_enabled = false where id = ${disabled}`;
    await database.sql`delete from sources where id = ${deleted}`;
    await database.sql`update agenda_jobs set next_run_at = now() where name = ${SCHEDULED_SYNC_JOB}`;

    await waitFor(() => finished.length === 2, { what: 'both ticks' });
    expect(finished.map((f) => f.result).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual([
      { kind: 'skipped', reason: 'disabled' },
      { kind: 'skipped', reason: 'unknown_source' },
    ]);
    expect(runner.calls).toHaveLength(0);
    expect(await scheduleRows(disabled)).toHaveLength(0);
    expect(await scheduleRows(deleted)).toHaveLength(0);
  });

  it('start() repairs schedules: creates missing ones, drops twins and schedules of disabled sources', async () => {
    const runner = createLockRunner(database.sql, { durationMs: 20 });
    const first = await startReplica(runner, { intervalMs: 60_000 });
    const twinned = await insertSource(database.sql);
    const turnedOff = await insertSource(database.sql);
    await first.enableSource(twinned, { runSoon: false });
    await first.enableSource(turnedOff, { runSoon: false });
    await first.stop();
    await database.sql`insert into agenda_jobs (name, type, data, repeat_interval, next_run_at)
      select name, type, data, repeat_interval, next_run_at from agenda_jobs
      where name = ${SCHEDULED_SYNC_JOB} and data->>'sourceId' = ${twinned}`;
    await database.sql`update sources set sync_enabled = false where id = ${turnedOff}`;
    const enabledBehindItsBack = await insertSource(database.sql, { syncEnabled: true });
    expect(await scheduleRows(twinned)).toHaveLength(2);

    // Two replicas repairing at the same moment still leave one schedule per source.
    const [second] = await Promise.all([
      startReplica(runner, { intervalMs: 60_000 }),
      startReplica(runner, { intervalMs: 60_000 }),
    ]);
    expect(await scheduleRows(twinned)).toHaveLength(1);
    expect(await scheduleRows(turnedOff)).toHaveLength(0);
    expect(await scheduleRows(enabledBehindItsBack)).toHaveLength(1);
    await waitFor(async () => (await runsOf(enabledBehindItsBack)).length === 1, { what: 'the repaired run' });
    expect(await second.nextRunAt(twinned)).not.toBeNull();
  });
});

describe('sync now', () => {
  it('is refused with the running run while a scheduled run is in progress, and runs within a second otherwise', async () => {
    let startedRun: { runId: number; request: RunRequest } | undefined;
    const runner = createLockRunner(database.sql, {
      durationMs: 1_200,
      onStart: (request, runId) => {
        startedRun = { request, runId };
      },
    });
    // Polling every 30 s: a sync that starts within a second was woken by the job store, not by a poll.
    const scheduler = await startReplica(runner, { intervalMs: 60_000, processEvery: 30_000 });
    const sourceId = await insertSource(database.sql);
    await scheduler.enableSource(sourceId);
    const scheduled = await waitFor(() => startedRun, { what: 'the scheduled run' });

    const refused = await scheduler.syncNow(sourceId, { requestedBy: 'U0ADMIN' });
    expect(refused).toEqual({
      started: false,
      reason: 'already_running',
      running: {
        runId: scheduled.runId,
        mode: 'delta',
        startedAt: expect.any(Date),
        trigger: 'schedule',
        requestedBy: null,
      },
    });
    await waitFor(async () => (await runsOf(sourceId))[0]?.status === 'succeeded', { what: 'the scheduled run' });

    const asked = Date.now();
    const accepted = await scheduler.syncNow(sourceId, { requestedBy: 'U0ADMIN', context: { channel: 'C1' } });
    expect(accepted).toMatchObject({ started: true, jobId: expect.any(String) });
    const manual = await waitFor(async () => (await runsOf(sourceId)).find((run) => run.trigger === 'manual'), {
      timeoutMs: 1_000,
      what: 'the manual run to start within a second',
    });
    expect(manual.requested_by).toBe('U0ADMIN');
    expect(manual.started_at.getTime() - asked).toBeLessThan(1_000);
    expect(runner.calls.at(-1)).toMatchObject({ trigger: 'manual', context: { channel: 'C1' } });

    // While that one is queued or running, a second request is told about it.
    const second = await scheduler.syncNow(sourceId, { requestedBy: 'U0OTHER' });
    expect(second).toMatchObject({ started: false, reason: 'already_running', running: { requestedBy: 'U0ADMIN' } });
  });

  it('20 simultaneous "Sync now" on two replicas queue exactly one run, and everyone else hears who started it', async () => {
    const finished: Finished[] = [];
    const runner = createLockRunner(database.sql, { durationMs: 400 });
    const a = await startReplica(runner, { finished, intervalMs: 60_000 });
    const b = await startReplica(runner, { finished, intervalMs: 60_000 });
    const sourceId = await insertSource(database.sql);
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).syncNow(sourceId, { requestedBy: `U${i}` })),
    );
    const started = answers.flatMap((answer, i) => (answer.started ? [`U${i}`] : []));
    expect(started).toHaveLength(1);
    for (const answer of answers.filter((x) => !x.started)) {
      expect(answer).toMatchObject({ reason: 'already_running', running: { requestedBy: started[0] } });
    }
    await waitFor(() => finished.length === 1, { what: 'the one run to finish' });
    const runs = await runsOf(sourceId);
    expect(runs.map((r) => [r.status, r.requested_by])).toEqual([['succeeded', started[0]]]);
    // Once it is over, the next "Sync now" starts a new run.
    expect((await a.syncNow(sourceId, { requestedBy: 'U99' })).started).toBe(true);
    await waitFor(() => finished.length === 2, { what: 'the second run to finish' });
  });

  it("a replica's tick during another replica's manual run is turned away by the engine lock", async () => {
    const finished: Finished[] = [];
    const runner = createLockRunner(database.sql, { durationMs: 1_000 });
    const a = await startReplica(runner, { finished, intervalMs: 60_000, concurrency: 1 });
    const b = await startReplica(runner, { finished, intervalMs: 60_000, concurrency: 1 });
    const sourceId = await insertSource(database.sql);
    await a.syncNow(sourceId, { requestedBy: 'U0ADMIN' });
    await waitFor(async () => (await runsOf(sourceId))[0]?.status === 'running', { what: 'the manual run' });
    await b.enableSource(sourceId);
    await waitFor(() => finished.length === 2, { what: 'both jobs to finish' });

    const runs = await runsOf(sourceId);
    expect(runs.map((run) => [run.trigger, run.status])).toEqual([['manual', 'succeeded']]);
    const tick = finished.find((f) => f.request.trigger === 'schedule')!;
    expect(tick.result).toMatchObject({
      kind: 'ran',
      outcome: { status: 'already_running', running: { runId: Number(runs[0].id), trigger: 'manual' } },
    });
  });
});

describe('runs that fail or would be pointless', () => {
  it('skips a source that needs reauthorization, records why once per streak, and never calls the engine', async () => {
    const finished: Finished[] = [];
    const runner = createLockRunner(database.sql, { durationMs: 20 });
    const scheduler = await startReplica(runner, { finished, intervalMs: 500, processEvery: 100 });
    const sourceId = await insertSource(database.sql, { status: 'needs_reauth' });
    await scheduler.enableSource(sourceId);
    const [row] = await database.sql`select status, sync_enabled from sources where id = ${sourceId}`;
    expect(row).toEqual({ status: 'needs_reauth', sync_enabled: true });
    await waitFor(() => finished.length >= 3, { what: 'three skipped ticks' });
    const ticks = finished.map((f) => f.result);

    expect(runner.calls).toHaveLength(0);
    const runs = await runsOf(sourceId);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ status: 'failed', error_code: SKIPPED_NEEDS_REAUTH, trigger: 'schedule' });
    expect(ticks).toEqual(ticks.map(() => ({ kind: 'skipped', reason: 'needs_reauth', runId: Number(runs[0].id) })));
    expect(Number(runs[0].details.skipped)).toBeGreaterThanOrEqual(ticks.length);
    expect(await scheduler.syncNow(sourceId)).toEqual({ started: false, reason: 'needs_reauth' });

    // Reauthorized: the schedule resumes on its own.
    await database.sql`update sources set status = 'active' where id = ${sourceId}`;
    await waitFor(() => runner.calls.length > 0, { what: 'the engine to be called again' });
  });

  it('keeps the schedule going after failed runs and after a runner that throws', async () => {
    const finished: Finished[] = [];
    const failing = createLockRunner(database.sql, { durationMs: 20, failWith: 'graph_unavailable' });
    let calls = 0;
    const flaky: SyncRunner = async (request) => {
      calls++;
      if (calls % 2 === 1) throw new Error('engine exploded');
      return failing(request);
    };
    const logLines: string[] = [];
    const scheduler = await startReplica(flaky, { finished, logLines, intervalMs: 400, processEvery: 100 });
    const sourceId = await insertSource(database.sql);
    await scheduler.enableSource(sourceId);
    await waitFor(() => finished.length >= 4, { what: 'four ticks' });
    await scheduler.disableSource(sourceId);

    const kinds = finished.slice(0, 4).map((f) => (f.result.kind === 'ran' ? f.result.outcome.status : f.result.kind));
    expect(kinds).toEqual(['crashed', 'failed', 'crashed', 'failed']);
    const runs = await runsOf(sourceId);
    expect(runs.length).toBeGreaterThanOrEqual(2);
    expect(runs.every((run) => run.status === 'failed' && run.error_code === 'graph_unavailable')).toBe(true);
    expect(logLines.some((line) => line.includes('engine exploded') && line.includes('"level":50'))).toBe(true);
  });
});

describe('a wedged scheduler', () => {
  it('reports a run still in flight past every deadline, and nothing once it ends', async () => {
    let release = () => {};
    const never = new Promise<void>((resolve) => (release = resolve));
    const runner: SyncRunner = async () => {
      await never;
      return { status: 'succeeded' };
    };
    const replica = await startReplica(runner, { intervalMs: 60_000, wedgedAfterMs: 300 });
    const sourceId = await insertSource(database.sql);
    expect(replica.wedged()).toBeUndefined();
    expect((await replica.syncNow(sourceId, { requestedBy: 'U1' })).started).toBe(true);
    await waitFor(() => replica.wedged() !== undefined, { what: 'the scheduler to report itself wedged' });
    expect(replica.wedged()).toMatch(/^a sync run has been in flight since .*: restart this replica$/);
    release();
    await waitFor(() => replica.wedged() === undefined, { what: 'the run to end' });
  });
});

describe('stop', () => {
  it('waits for a run that finishes within the timeout', async () => {
    let runId: number | undefined;
    const runner = createLockRunner(database.sql, {
      durationMs: 600,
      onStart: (_r, id) => {
        runId = id;
      },
    });
    const scheduler = await startReplica(runner, { intervalMs: 60_000 });
    const sourceId = await insertSource(database.sql);
    await scheduler.syncNow(sourceId);
    await waitFor(() => runId);
    const result = await scheduler.stop({ timeoutMs: 5_000 });
    expect(result).toEqual({ completed: 1, interrupted: [] });
    const [run] = await runsOf(sourceId);
    expect(run.status).toBe('succeeded');
    await expect(scheduler.syncNow(sourceId)).rejects.toThrow(/shutting down/);
  });

  it('aborts a run that outlives the timeout; one that ignores the abort is recorded as interrupted', async () => {
    const polite = createLockRunner(database.sql, { durationMs: 10_000 });
    const stubborn = createLockRunner(database.sql, { durationMs: 2_500, ignoreAbort: true });
    const politeSource = await insertSource(database.sql);
    const stubbornSource = await insertSource(database.sql);
    const runner: SyncRunner = (request) => (request.sourceId === politeSource ? polite(request) : stubborn(request));
    const scheduler = await startReplica(runner, { intervalMs: 60_000, concurrency: 2, abortGraceMs: 500 });
    await scheduler.syncNow(politeSource);
    await scheduler.syncNow(stubbornSource);
    await waitFor(
      async () =>
        (
          await database.sql`select 1 from sync_runs where status = 'running' and source_id in ${database.sql([politeSource, stubbornSource])}`
        ).length === 2,
    );

    const result = await scheduler.stop({ timeoutMs: 300 });
    expect(result.interrupted).toEqual([stubbornSource]);
    const [politeRun] = await runsOf(politeSource);
    const [stubbornRun] = await runsOf(stubbornSource);
    expect(politeRun).toMatchObject({ status: 'failed', error_code: 'cancelled' });
    expect(stubbornRun).toMatchObject({ status: 'failed', error_code: INTERRUPTED_BY_SHUTDOWN });
    const applied =
      await database.sql`select 1 from sync_runs_applied where run_id in ${database.sql([politeRun.id, stubbornRun.id])}`;
    expect(applied).toHaveLength(0);
    // The interrupted "Sync now" jobs were unlocked, so a live replica takes them over at once.
    const finished: Finished[] = [];
    await startReplica(createLockRunner(database.sql, { durationMs: 20 }), { finished, intervalMs: 60_000 });
    await waitFor(() => finished.length === 2, { what: 'the other replica to take the interrupted jobs' });
  });
});
