import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/logger.ts';
import { INTERRUPTED_BY_SHUTDOWN, SKIPPED_NEEDS_REAUTH } from '../../../src/sync/runs.ts';
import { engineRunner } from '../../../src/sync/scheduler/engine-runner.ts';
import {
  createScheduler,
  type RunRequest,
  type RunResult,
  type Scheduler,
  type SchedulerOptions,
} from '../../../src/sync/scheduler/scheduler.ts';
import { startReplicaProcess } from '../../helpers/replica-process.ts';
import { type SyncFixture, startSyncFixture } from '../../helpers/sync.ts';
import { expectOneRunPerTick, expectTicksRan } from '../../helpers/ticks.ts';
import { sleep, waitFor } from '../../helpers/wait.ts';

/** The scheduler driving the real sync engine against the Entra + Graph emulator. */

const KEY = randomBytes(32);
let f: SyncFixture;
const started: Scheduler[] = [];

beforeAll(async () => {
  f = await startSyncFixture({ users: 300, groups: 5, seed: 'scheduler-engine' }, KEY);
});
afterAll(async () => {
  await f?.stop();
});
beforeEach(async () => {
  await f.emu.control('POST', 'reset');
});
afterEach(async () => {
  await Promise.all(started.splice(0).map((scheduler) => scheduler.stop({ timeoutMs: 10_000 })));
  await f.database.sql`update sources set sync_enabled = false`;
  await f.database.sql`delete from agenda_jobs`;
});

async function startReplica(
  finished: { request: RunRequest; result: RunResult }[],
  options: Partial<SchedulerOptions> = {},
): Promise<Scheduler> {
  const scheduler = createScheduler({
    sql: f.database.sql,
    databaseUrl: f.database.url,
    intervalMs: 1_500,
    processEvery: 200,
    logger: createLogger({ level: 'silent' }),
    runSync: engineRunner(f.deps),
    onRunFinished: (request, result) => {
      finished.push({ request, result });
    },
    ...options,
  });
  await scheduler.start();
  started.push(scheduler);
  return scheduler;
}

/** A source set up but not yet enabled, as the wizard leaves it before its last step. */
async function newSource(): Promise<string> {
  const sourceId = await f.createSource();
  await f.database.sql`update sources set sync_enabled = false, status = 'setup' where id = ${sourceId}`;
  return sourceId;
}

interface RunRow {
  id: string;
  trigger: string;
  requested_by: string | null;
  mode: string;
  status: string;
  started_at: Date;
  finished_at: Date | null;
  created_count: number;
  updated_count: number;
  removed_count: number;
  error_code: string | null;
  details: Record<string, unknown>;
}

const runsOf = (sourceId: string) =>
  f.database.sql<RunRow[]>`select * from sync_runs where source_id = ${sourceId} order by started_at, id`;

const settled = (sourceId: string) =>
  waitFor(
    async () =>
      (await f.database.sql`select 1 from sync_runs where source_id = ${sourceId} and status = 'running'`).length === 0,
    {
      what: 'no run in progress',
    },
  );

async function graphTraffic(): Promise<number> {
  const { body } = await f.emu.control('GET', 'state');
  const state = body as { requests: Record<string, number>; tokensIssued: number };
  return Object.values(state.requests).reduce((sum, n) => sum + n, 0) + state.tokensIssued;
}

describe('enable, disable, re-enable with the real engine', () => {
  it('runs on schedule; disabling stops runs and keeps the data; re-enabling brings the changes by delta', async () => {
    const finished: { request: RunRequest; result: RunResult }[] = [];
    const scheduler = await startReplica(finished);
    const sourceId = await newSource();

    await scheduler.enableSource(sourceId);
    await waitFor(async () => (await runsOf(sourceId)).filter((r) => r.status === 'succeeded').length >= 2, {
      what: 'the first run and one scheduled tick',
    });
    const [first, second] = await runsOf(sourceId);
    expect(first).toMatchObject({ trigger: 'schedule', mode: 'full', status: 'succeeded' });
    expect(first.created_count).toBeGreaterThan(200);
    expect(second).toMatchObject({ trigger: 'schedule', mode: 'delta', status: 'succeeded', created_count: 0 });

    await scheduler.disableSource(sourceId);
    await settled(sourceId);
    const runsBefore = await runsOf(sourceId);
    const dataBefore = await f.fingerprint(sourceId);
    const [sourceBefore] = await f.database.sql`
      select status, sync_enabled, users_delta_link, mapping from sources where id = ${sourceId}`;
    expect(sourceBefore).toMatchObject({
      status: 'disabled',
      sync_enabled: false,
      users_delta_link: expect.any(String),
    });

    // Changes in Entra ID while the source is disabled.
    const ids = [...f.emu.emulator.tenant.users.keys()];
    const [changed, leaver] = [ids[10], ids[11]];
    const [leaverBefore] = await f.database.sql`
      select active from profiles where source_id = ${sourceId} and graph_id = ${leaver}`;
    expect(leaverBefore.active).toBe(true);
    const newcomer = '0b0b0b0b-0000-4000-8000-000000000001';
    await f.emu.control('POST', 'users', [
      { id: changed, jobTitle: 'Head of Scheduling' },
      {
        id: newcomer,
        displayName: 'Agenda Newcomer',
        givenName: 'Agenda',
        surname: 'Newcomer',
        mail: 'agenda.newcomer@contoso.com',
        userPrincipalName: 'agenda.newcomer@contoso.com',
        accountEnabled: true,
      },
    ]);
    expect((await f.emu.control('DELETE', `users/${leaver}`)).status).toBe(204);

    await sleep(3 * 1_500);
    expect(await runsOf(sourceId)).toEqual(runsBefore);
    expect(await f.fingerprint(sourceId)).toBe(dataBefore);
    const [sourceWhileOff] = await f.database.sql`
      select status, sync_enabled, users_delta_link, mapping from sources where id = ${sourceId}`;
    expect(sourceWhileOff).toEqual(sourceBefore);

    await scheduler.enableSource(sourceId);
    const resumed = await waitFor(
      async () => (await runsOf(sourceId)).slice(runsBefore.length).find((r) => r.status !== 'running'),
      { what: 'the run after re-enabling' },
    );
    expect(resumed).toMatchObject({ trigger: 'schedule', mode: 'delta', status: 'succeeded' });
    expect(resumed).toMatchObject({ created_count: 1, updated_count: 1, removed_count: 1 });
    const profiles = await f.database.sql`
      select graph_id, job_title, active from profiles where source_id = ${sourceId} and graph_id in ${f.database.sql([changed, newcomer, leaver])}`;
    expect(Object.fromEntries(profiles.map((p) => [p.graph_id, [p.job_title, p.active]]))).toEqual({
      [changed]: ['Head of Scheduling', true],
      [newcomer]: [null, true],
      [leaver]: [expect.anything(), false],
    });
  });

  it('two replicas run each source once per tick, never overlapping', async () => {
    const finished: { request: RunRequest; result: RunResult }[] = [];
    const a = await startReplica(finished);
    const b = await startReplica(finished);
    const sources = [await newSource(), await newSource()];
    await Promise.all(sources.map((id, i) => (i === 0 ? a : b).enableSource(id)));
    await sleep(4 * 1_500 + 500);
    const beforeDisabling = finished.length;
    await Promise.all(sources.map((id) => a.disableSource(id)));
    let runCount = 0;
    for (const id of sources) {
      await settled(id);
      const runs = await runsOf(id);
      expect(runs.length, JSON.stringify(finished.map((x) => [x.request.sourceId, x.result]))).toBeGreaterThanOrEqual(
        3,
      );
      expect(runs.every((run) => run.status === 'succeeded')).toBe(true);
      expectOneRunPerTick(runs, 1_500);
      runCount += runs.length;
    }
    await expectTicksRan(() => finished.map((x) => x.result), { runs: runCount, beforeDisabling });
  });
});

describe('authorization lost', () => {
  it('fails once with reauth_required, then skips ticks without contacting Entra ID', async () => {
    const finished: { request: RunRequest; result: RunResult }[] = [];
    const scheduler = await startReplica(finished, { intervalMs: 600, processEvery: 100 });
    const sourceId = await newSource();
    await scheduler.enableSource(sourceId);
    await waitFor(async () => (await runsOf(sourceId))[0]?.status === 'succeeded', { what: 'the first run' });

    await f.emu.control('POST', 'revoke', { immediate: true });
    await waitFor(
      async () =>
        (await f.database.sql`select 1 from sources where id = ${sourceId} and status = 'needs_reauth'`).length,
      { what: 'the run that finds authorization gone' },
    );
    const traffic = await graphTraffic();
    const skippedBefore = finished.filter((x) => x.result.kind === 'skipped').length;
    await waitFor(() => finished.filter((x) => x.result.kind === 'skipped').length >= skippedBefore + 3, {
      what: 'three skipped ticks',
    });

    expect(await graphTraffic()).toBe(traffic);
    const runs = await runsOf(sourceId);
    const codes = runs.map((r) => r.error_code);
    expect(codes.slice(-2)).toEqual(['reauth_required', SKIPPED_NEEDS_REAUTH]);
    expect(codes.slice(0, -2).every((code) => code === null)).toBe(true);
    expect(Number(runs.at(-1)!.details.skipped)).toBeGreaterThanOrEqual(3);
  });
});

describe('SIGTERM while the engine runs', () => {
  const engineSettings = () => ({
    clientId: f.emu.emulator.clientId,
    clientSecret: f.emu.emulator.clientSecret,
    authorityHost: f.emu.emulator.authorityHost,
    graphBaseUrl: f.emu.emulator.graphBaseUrl,
    key: KEY.toString('base64'),
  });

  async function interrupt(sourceId: string, stopTimeoutMs: number) {
    // Slow Graph down so the signal lands mid-read.
    await f.emu.control('POST', 'faults', { latencyMs: 700 });
    const replica = startReplicaProcess({
      databaseUrl: f.database.url,
      sourceId,
      stopTimeoutMs,
      abortGraceMs: 300,
      engine: engineSettings(),
    });
    await replica.runStarted;
    replica.child.kill('SIGTERM');
    const exit = await replica.exited;
    return { exit, stderr: replica.stderr() };
  }

  it('lets the run complete within the timeout and exits 0', async () => {
    const sourceId = await newSource();
    const { exit, stderr } = await interrupt(sourceId, 20_000);
    expect(exit.code, stderr).toBe(0);
    const [run] = await runsOf(sourceId);
    expect(run).toMatchObject({ status: 'succeeded', mode: 'full' });
    const [{ n }] = await f.database.sql`select count(*)::int as n from profiles where source_id = ${sourceId}`;
    expect(n).toBe(run.created_count);
    expect(n).toBeGreaterThan(200);
  });

  it('past the timeout, fails the run cleanly: no profile written, nothing left running, exit 0', async () => {
    const sourceId = await newSource();
    const { exit, stderr } = await interrupt(sourceId, 200);
    expect(exit.code, stderr).toBe(0);
    const runs = await runsOf(sourceId);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ status: 'failed', error_code: INTERRUPTED_BY_SHUTDOWN });
    const [{ n }] = await f.database.sql`select count(*)::int as n from profiles where source_id = ${sourceId}`;
    expect(n).toBe(0);
  });
});

describe('SIGKILL while the engine runs', () => {
  it('frees the source at once: Sync now starts right away and takes over the dead run', async () => {
    const sourceId = await newSource();
    await f.emu.control('POST', 'faults', { latencyMs: 700 });
    const replica = startReplicaProcess({
      databaseUrl: f.database.url,
      sourceId,
      stopTimeoutMs: 10_000,
      abortGraceMs: 300,
      engine: {
        clientId: f.emu.emulator.clientId,
        clientSecret: f.emu.emulator.clientSecret,
        authorityHost: f.emu.emulator.authorityHost,
        graphBaseUrl: f.emu.emulator.graphBaseUrl,
        key: KEY.toString('base64'),
      },
    });
    await replica.runStarted;
    const [dead] = await runsOf(sourceId);
    expect(dead.status).toBe('running');
    replica.child.kill('SIGKILL');
    expect((await replica.exited).signal).toBe('SIGKILL');
    await f.emu.control('POST', 'faults', { latencyMs: 0 });
    // This replica starts after the other took the job, so that it does not run it instead.
    const scheduler = await startReplica([]);

    // Its heartbeat is fresh (the scheduler's stale bound is 2 minutes), but nobody holds the run any more.
    const killedAt = Date.now();
    const result = await waitFor(
      async () => {
        const answer = await scheduler.syncNow(sourceId, { requestedBy: 'U0NEXT' });
        return answer.started ? answer : null;
      },
      { timeoutMs: 5_000, everyMs: 200, what: 'Sync now to start after the kill' },
    );
    expect(result.started).toBe(true);
    const next = await waitFor(
      async () => (await runsOf(sourceId)).find((r) => r.requested_by === 'U0NEXT' && r.status !== 'running'),
      { what: 'the next run' },
    );
    expect(next).toMatchObject({ status: 'succeeded', mode: 'full' });
    expect(next.details.tookOverStaleRun).toBe(Number(dead.id));
    expect(Date.now() - killedAt).toBeLessThan(10_000);
    const [after] = await f.database.sql`select status, error_code from sync_runs where id = ${dead.id}`;
    expect(after).toEqual({ status: 'failed', error_code: 'stale' });
    // The dead replica's job, still locked, was dropped rather than run again once its lock expired.
    expect(await f.database.sql`select 1 from agenda_jobs where data->>'requestedBy' = 'U0CHILD'`).toHaveLength(0);
  });
});
