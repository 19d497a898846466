import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import type { SyncObserver } from '../../src/services/contract.ts';
import type { RunProgress, RunReport } from '../../src/services/model.ts';
import { createRunWatch, type RunWatch } from '../../src/services/run-watch.ts';
import type { Scheduler } from '../../src/sync/scheduler/scheduler.ts';
import { startTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * Following a "Sync now" that another replica picked up: the watch finds the run by its row, passes the
 * heartbeat's count on as progress and reports the end; a job nobody picks up is reported as queued.
 * The scheduler here only queues (its jobs run elsewhere); the rows are what that other replica writes.
 */

let db: TestDatabase;
let sourceId: string;
const queued: { sourceId: string; requestedBy?: string }[] = [];
const elsewhere: Pick<Scheduler, 'syncNow'> = {
  async syncNow(id, request) {
    queued.push({ sourceId: id, requestedBy: request?.requestedBy });
    return { started: true, jobId: 'job-1' };
  },
};
let watch: RunWatch;

beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db?.stop());
beforeEach(async () => {
  queued.length = 0;
  await db.sql`truncate sources cascade`;
  [{ id: sourceId }] = await db.sql`
    insert into sources (slack_team_id, tenant_id, status) values ('T1', 'tenant', 'active') returning id`;
  // An earlier run of someone else, which must not be mistaken for the watched one.
  await db.sql`
    insert into sync_runs (source_id, trigger, requested_by, mode, status, finished_at)
    values (${sourceId}, 'manual', 'U0ADMIN', 'delta', 'succeeded', now())`;
});

function recorder() {
  const seen = { progress: [] as RunProgress[], finished: [] as RunReport[] };
  const observer: SyncObserver = {
    progress: (p) => seen.progress.push(p),
    finished: (r) => seen.finished.push(r),
  };
  return { seen, observer };
}

describe('a run on another replica', () => {
  it('is found by its row, followed through its heartbeat and reported when it ends', async () => {
    watch = createRunWatch({ db: db.db, scheduler: elsewhere, logger: createLogger({ level: 'silent' }), pollMs: 20 });
    const { seen, observer } = recorder();
    const start = watch.start({ sourceId, trigger: 'manual', requestedBy: 'U0ADMIN', observer });
    await waitFor(() => queued.length === 1, { what: 'the job queued' });

    const [{ id }] = await db.sql`
      insert into sync_runs (source_id, trigger, requested_by, mode, status)
      values (${sourceId}, 'manual', 'U0ADMIN', 'full', 'running') returning id`;
    const started = await start;
    expect(started).toMatchObject({ started: true, run: { id: Number(id), status: 'running', mode: 'full' } });

    await db.sql`update sync_runs set read_count = 150, heartbeat_at = now() where id = ${id}`;
    await waitFor(() => seen.progress.some((p) => p.read === 150), { what: 'progress from the heartbeat' });
    expect(seen.progress.at(-1)).toMatchObject({ runId: Number(id), phase: 'reading', requestedBy: 'U0ADMIN' });

    await db.sql`
      update sync_runs set status = 'succeeded', finished_at = now(), read_count = 300, created_count = 300
      where id = ${id}`;
    await waitFor(() => seen.finished.length === 1, { what: 'the end' });
    expect(seen.finished[0]).toMatchObject({
      id: Number(id),
      status: 'succeeded',
      counts: { read: 300, created: 300 },
    });
    watch.close();
  });

  it('says the sync is queued when no replica starts it in time', async () => {
    watch = createRunWatch({
      db: db.db,
      scheduler: elsewhere,
      logger: createLogger({ level: 'silent' }),
      pollMs: 20,
      startTimeoutMs: 200,
    });
    const { seen, observer } = recorder();
    const answer = await watch.start({ sourceId, trigger: 'manual', requestedBy: 'U0OWNER', observer });
    expect(answer).toEqual({ started: false, reason: 'disabled_by_error', refusal: { code: 'not_started_yet' } });
    expect(seen).toEqual({ progress: [], finished: [] });
    watch.close();
  });

  it('passes on the scheduler’s refusal with the run in progress', async () => {
    const [{ id }] = await db.sql`
      insert into sync_runs (source_id, trigger, requested_by, mode, status)
      values (${sourceId}, 'schedule', null, 'delta', 'running') returning id`;
    watch = createRunWatch({
      db: db.db,
      logger: createLogger({ level: 'silent' }),
      scheduler: {
        syncNow: async () => ({
          started: false,
          reason: 'already_running',
          running: { runId: Number(id), mode: 'full', startedAt: new Date(), trigger: 'schedule', requestedBy: null },
        }),
      },
    });
    const { observer } = recorder();
    const answer = await watch.start({ sourceId, trigger: 'manual', requestedBy: 'U0ADMIN', observer });
    expect(answer).toMatchObject({ started: false, reason: 'running', run: { id: Number(id), trigger: 'schedule' } });
    watch.close();
  });
});
