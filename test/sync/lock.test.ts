import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type RunOutcome, runSync } from '../../src/sync/engine.ts';
import { listRecentRuns, loadRun, SourceDisabledError } from '../../src/sync/runs.ts';
import { type SyncFixture, startSyncFixture } from '../helpers/sync.ts';

/** One run at a time per source, decided by the database; dead runs are found and replaced. */

let f: SyncFixture;

beforeAll(async () => {
  f = await startSyncFixture({ users: 300, groups: 5, seed: 'engine-lock' });
});
afterAll(async () => {
  await f?.stop();
});
beforeEach(async () => {
  await f.emu.control('POST', 'reset');
});

describe('the run lock', () => {
  it('lets exactly one of 20 simultaneous requests run; the others learn who is running', async () => {
    const sourceId = await f.createSource();
    await f.emu.control('POST', 'faults', { latencyMs: 100 });
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        runSync(f.deps, { sourceId, trigger: i === 0 ? 'schedule' : 'manual', requestedBy: `U${i}` }),
      ),
    );
    const ran = outcomes.filter((o) => o.status !== 'already_running');
    expect(ran).toHaveLength(1);
    expect(ran[0].status).toBe('succeeded');
    const refused = outcomes.filter((o) => o.status === 'already_running');
    expect(refused).toHaveLength(19);
    for (const o of refused) {
      expect(o.runId).toBe(ran[0].runId);
      expect(o.running).toMatchObject({ runId: ran[0].runId, startedAt: expect.any(Date) });
    }
    const runs = await listRecentRuns(f.database.db, sourceId, 50);
    expect(runs).toHaveLength(1);
    // Every Graph request took 100 ms, so the recorded run lasted at least that long.
    expect(runs[0].finishedAt!.getTime() - runs[0].startedAt.getTime()).toBeGreaterThanOrEqual(100);
  });

  it('starts no scheduled run of a source disabled before its first write; a manual one still runs', async () => {
    const sourceId = await f.createSource();
    await f.database.sql`update sources set sync_enabled = false where id = ${sourceId}`;
    await expect(runSync(f.deps, { sourceId, trigger: 'schedule' })).rejects.toBeInstanceOf(SourceDisabledError);
    expect(await listRecentRuns(f.database.db, sourceId)).toEqual([]);
    expect((await runSync(f.deps, { sourceId, trigger: 'manual', requestedBy: 'U1' })).status).toBe('succeeded');
  });

  it('takes over from a run whose heartbeat stopped, and refuses while a live run beats', async () => {
    const sourceId = await f.createSource();
    const [dead] = await f.database.sql`
      insert into sync_runs (source_id, trigger, mode, status, started_at, heartbeat_at)
      values (${sourceId}, 'schedule', 'full', 'running', now() - interval '10 minutes', now() - interval '3 minutes')
      returning id`;
    const outcome = await runSync(f.deps, { sourceId, trigger: 'manual', requestedBy: 'U1' });
    expect(outcome.status).toBe('succeeded');
    expect(await loadRun(f.database.db, Number(dead.id))).toMatchObject({
      status: 'failed',
      errorCode: 'stale',
      finishedAt: expect.any(Date),
    });
    expect((await loadRun(f.database.db, outcome.runId))!.details.tookOverStaleRun).toBe(Number(dead.id));

    const [alive] = await f.database.sql`
      insert into sync_runs (source_id, trigger, mode, status, requested_by)
      values (${sourceId}, 'manual', 'delta', 'running', 'U-OTHER') returning id`;
    const refused = await runSync(f.deps, { sourceId, trigger: 'schedule' });
    expect(refused).toMatchObject({
      status: 'already_running',
      runId: Number(alive.id),
      running: { trigger: 'manual', requestedBy: 'U-OTHER', mode: 'delta' },
    });
  });

  it('never takes over a run whose process is alive, however old its heartbeat looks', async () => {
    const sourceId = await f.createSource();
    await f.emu.control('POST', 'faults', { latencyMs: 300 });
    let second: Promise<RunOutcome> | undefined;
    // A run whose heartbeat never beats while it reads, as when its event loop is blocked for minutes.
    const first = runSync(f.depsWith({ timing: { heartbeatMs: 600_000 } }), {
      sourceId,
      trigger: 'manual',
      requestedBy: 'U-FIRST',
      progress: {
        onProgress: (report) => {
          if (report.phase !== 'reading' || second) return;
          second = f.database.sql`
            update sync_runs set heartbeat_at = now() - interval '10 minutes'
            where source_id = ${sourceId} and status = 'running'`.then(() =>
            runSync(f.deps, { sourceId, trigger: 'manual', requestedBy: 'U-SECOND' }),
          );
        },
      },
    });
    const outcome = await first;
    expect(second).toBeDefined();
    expect(await second).toMatchObject({
      status: 'already_running',
      runId: outcome.runId,
      running: { requestedBy: 'U-FIRST' },
    });
    expect(outcome.status).toBe('succeeded');
  });

  it('applies nothing when another process declared the run dead while it was reading', async () => {
    const sourceId = await f.createSource();
    await runSync(f.deps, { sourceId, trigger: 'cli' });
    await f.emu.control('POST', 'users', [{ id: [...f.emu.emulator.tenant.users.keys()][9], jobTitle: 'Changed' }]);
    await f.database.sql`update sources set users_delta_link = null where id = ${sourceId}`;
    await f.emu.control('POST', 'faults', { latencyMs: 150 });
    const before = await f.fingerprint(sourceId);
    let declared = false;
    const outcome = await runSync(f.deps, {
      sourceId,
      trigger: 'cli',
      progress: {
        onProgress: (report) => {
          if (report.phase !== 'reading' || declared) return;
          declared = true;
          // postgres.js queries are lazy: execute() sends it now, while the run keeps reading.
          f.database.sql`update sync_runs set status = 'failed', error_code = 'stale'
            where source_id = ${sourceId} and status = 'running'`.execute();
        },
      },
    });
    expect(declared).toBe(true);
    expect(outcome).toMatchObject({ status: 'failed', errorCode: 'stale' });
    expect(await f.fingerprint(sourceId)).toBe(before);
    const [source] = await f.database.sql`select status from sources where id = ${sourceId}`;
    expect(source.status).toBe('active');
  });

  it('stops reading at its next page once its run record is gone (the source uninstalled elsewhere)', async () => {
    const sourceId = await f.createSource();
    // A full read in many small sequential requests, with a heartbeat that notices quickly.
    const deps = f.depsWith({
      fullReads: { minPartitionedUsers: 0, maxConcurrency: 1, splitAbove: 150 },
      timing: { heartbeatMs: 20 },
    });
    const usersRequests = () => f.emu.emulator.requests()['/v1.0/users'] ?? 0;
    await f.emu.control('POST', 'faults', { latencyMs: 60 });
    let start = usersRequests();
    expect(await runSync(deps, { sourceId, trigger: 'cli', mode: 'full' })).toMatchObject({ status: 'succeeded' });
    const whole = usersRequests() - start;
    expect(whole).toBeGreaterThan(10);

    const before = await f.fingerprint(sourceId);
    start = usersRequests();
    let deleted = false;
    let atDelete = 0;
    const outcome = await runSync(deps, {
      sourceId,
      trigger: 'cli',
      mode: 'full',
      progress: {
        onProgress: (report) => {
          if (report.phase !== 'reading' || deleted) return;
          deleted = true;
          atDelete = usersRequests();
          f.database.sql`delete from sync_runs where source_id = ${sourceId} and status = 'running'`.execute();
        },
      },
    });
    expect(deleted).toBe(true);
    expect(outcome).toMatchObject({ status: 'failed', errorCode: 'stale' });
    // A page or two in flight when the heartbeat noticed, not the rest of the read (the reader plans its
    // partitions before the first page, so the first page comes after most of a read's requests).
    const remaining = whole - (atDelete - start);
    expect(remaining).toBeGreaterThan(8);
    expect(usersRequests() - atDelete).toBeLessThan(remaining / 2);
    expect(await f.fingerprint(sourceId)).toBe(before);
  });
});
