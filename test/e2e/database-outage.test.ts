import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanSyncContent,
  expectServing,
  type FaultStack,
  pressSyncNow,
  readiness,
  runEnded,
  someone,
  startFaultStack,
  syncUnderWay,
  whois,
} from '../helpers/fault-stack.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * The database stopped for 30 s in the middle of a sync and started again (a restart or a failover), against
 * the real `aad-sync serve` process: it keeps running, `/whois` says politely that the directory cannot be
 * searched just now, `/readyz` says not ready, nothing is half-applied, and once the database is back the
 * next Sync now succeeds within seconds. (test/e2e/faults.test.ts has the other faults; a file of its own lets
 * the 30 s of waiting overlap with other files.)
 */

const OUTAGE_MS = 30_000;
let stack: FaultStack;

beforeAll(async () => {
  stack = await startFaultStack({ users: 2_000, seed: 'outage', graphLatencyMs: 250 });
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

describe('the database down for 30 s during a sync', () => {
  it('keeps serving and answering politely, applies nothing, and syncs again once it is back', async () => {
    const person = await someone(stack);
    const { before, after } = await syncUnderWay(stack, 'Outage', 3);
    const downAt = Date.now();
    const restarted = stack.db.restart(OUTAGE_MS);

    // While it is down: alive, not ready, and /whois says so in one sentence.
    await waitFor(async () => (await readiness(stack)) === 503, { what: '/readyz to say not ready' });
    const answer = await whois(stack, person.email);
    expect(answer).toContain('The directory could not be searched just now. Please try again in a minute.');
    await expectServing(stack);
    expect(Date.now() - downAt).toBeLessThan(OUTAGE_MS);

    await restarted;
    const upAt = Date.now();
    await waitFor(async () => (await readiness(stack)) === 200, { timeoutMs: 20_000, what: '/readyz to say ready' });
    const readyAfterMs = Date.now() - upAt;
    expect(await stack.sync.fingerprint(stack.sourceId)).toBe(before);
    expect(await whois(stack, person.email)).toContain(person.email);

    // The run the outage cut short is failed (or, never recorded, taken over) by the next Sync now.
    const next = await pressSyncNow(stack);
    expect(next).toBeGreaterThan(after);
    const run = await runEnded(stack, next);
    expect(run.status).toBe('succeeded');
    const syncedAfterMs = Date.now() - upAt;
    expect(syncedAfterMs).toBeLessThan(20_000);
    const cut = await stack.db
      .sql`select status from sync_runs where source_id = ${stack.sourceId} and id > ${after} and id < ${run.id}`;
    expect(cut.map((r) => r.status)).toEqual(cut.map(() => 'failed'));
    expect(await stack.sync.content(stack.sourceId)).toBe(await cleanSyncContent(stack));
    await expectServing(stack);
    console.info(`database back: ready after ${readyAfterMs} ms, next sync done after ${syncedAfterMs} ms`);
  }, 120_000);
});
