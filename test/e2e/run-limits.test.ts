import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase } from '../../src/db/client.ts';
import { RUN_LOCK_CLASS } from '../../src/db/locks.ts';
import { DEFAULT_USERS } from '../../src/emulators/slack/index.ts';
import { actionIds, callbackIds } from '../../src/slack/ids.ts';
import { ADMIN, ADMIN_CHANNEL, lastRunId, runsOf, viewText } from '../helpers/app.ts';
import {
  changeTenant,
  cleanSyncContent,
  expectServing,
  type FaultStack,
  pressSyncNow,
  runEnded,
  someone,
  startFaultStack,
  startReplica,
  syncUnderWay,
  whois,
} from '../helpers/fault-stack.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * The limits a run lives within, against the real `aad-sync serve` process: a managed database's 2 s
 * statement and idle-in-transaction timeouts on the role, a Graph read that stops answering for longer than
 * the run's no-progress bound (set to seconds through SYNC_STALL_AFTER), and 20 admins pressing Sync now at
 * once on two replicas of one database. After each: nothing half-applied, `/whois` answered throughout,
 * the next Sync now succeeds within seconds. (test/e2e/faults.test.ts cuts connections and kills processes.)
 */

/** The suite's tenant; FAULTS_USERS runs the file on another size (README, "Fault tests"). */
const USERS = Number(process.env.FAULTS_USERS ?? 1_000);
const PATIENCE_MS = Math.max(30_000, USERS * 6);
/** A run's apply reports no progress while it writes: a large tenant needs a bound above its apply. */
const STALL_AFTER_S = Math.max(6, Math.round(USERS / 500));
let stack: FaultStack;

beforeAll(async () => {
  stack = await startFaultStack({
    users: USERS,
    seed: 'run-limits',
    graphLatencyMs: 250,
    env: { SYNC_STALL_AFTER: `${STALL_AFTER_S} seconds` },
    // As a managed database may set them for interactive use: from the wizard's first import on.
    roleTimeouts: '2s',
    setUpTimeoutMs: PATIENCE_MS,
  });
}, PATIENCE_MS * 4);
afterAll(async () => {
  await stack?.stop();
});

/** No session holds any source's run lock: the source is free for the next run. */
async function runLocksHeld(): Promise<number> {
  const [{ held }] = await stack.db.sql<{ held: number }[]>`
    select count(*)::int as held from pg_locks
    where locktype = 'advisory' and granted and classid = ${RUN_LOCK_CLASS}::int::oid`;
  return held;
}

/** Sync now, the run it started succeeded within `withinMs`, and the directory is what a clean sync gives. */
async function syncsAgain(withinMs: number): Promise<void> {
  const started = Date.now();
  const run = await runEnded(stack, await pressSyncNow(stack), ADMIN, PATIENCE_MS);
  expect(run.status, JSON.stringify(run)).toBe('succeeded');
  expect(Date.now() - started).toBeLessThan(withinMs);
  expect(await stack.sync.content(stack.sourceId)).toBe(await cleanSyncContent(stack));
}

describe('a managed database with 2 s timeouts on the role', { timeout: PATIENCE_MS * 3 }, () => {
  it('fails no run, not even one whose Graph read lasts well over 2 s', async () => {
    // serve's sessions have them, as every session of its role does (its first import, above, passed too).
    const fresh = connectDatabase(stack.env.DATABASE_URL);
    try {
      const [{ statement_timeout }] = await fresh.sql`show statement_timeout`;
      const [{ idle_in_transaction_session_timeout: idle }] = await fresh.sql`show idle_in_transaction_session_timeout`;
      expect([statement_timeout, idle]).toEqual(['2s', '2s']);
    } finally {
      await fresh.close();
    }
    // Each page takes longer than both timeouts: a statement spanning pages (a COPY left open across the read)
    // or a transaction left open while Graph answers would be cut.
    await stack.entra.control('POST', 'faults', { latencyMs: 2_200 });
    try {
      const person = await someone(stack);
      await changeTenant(stack, 'Limited');
      const after = await pressSyncNow(stack);
      expect(await whois(stack, person.email)).toContain(person.email);
      const run = await runEnded(stack, after, ADMIN, PATIENCE_MS);
      expect(run.status, JSON.stringify(run)).toBe('succeeded');
      const [{ readMs }] = await stack.db.sql`
        select (details -> 'timingsMs' ->> 'read')::int as "readMs" from sync_runs where id = ${run.id}`;
      expect(readMs).toBeGreaterThan(6_000);
      expect(await stack.sync.content(stack.sourceId)).toBe(await cleanSyncContent(stack));
      await expectServing(stack);
    } finally {
      await stack.entra.control('POST', 'faults', { latencyMs: 250 });
    }
  });
});

describe('a Graph read stalled past the no-progress bound', { timeout: PATIENCE_MS * 3 }, () => {
  it('ends the run as stalled, frees the source, says so, and the next Sync now succeeds once Graph is back', async () => {
    const person = await someone(stack);
    const { before, after } = await syncUnderWay(stack, 'Stalled', 2);
    // Graph stops answering: every request from now on takes more than three times the bound.
    await stack.entra.control('POST', 'faults', { latencyMs: STALL_AFTER_S * 3_500 });
    const stalledAt = Date.now();
    const run = await runEnded(stack, after, ADMIN, PATIENCE_MS);
    const endedAfterMs = Date.now() - stalledAt;
    expect(run).toMatchObject({ status: 'failed', error_code: 'stalled' });
    // The watchdog looks every quarter of the bound.
    expect(endedAfterMs).toBeLessThan(STALL_AFTER_S * 1_250 + 10_000);
    // The run's record is closed first, its lock released right after.
    await waitFor(async () => (await runLocksHeld()) === 0, { timeoutMs: 2_000, what: 'the run lock to be released' });
    expect(await stack.sync.fingerprint(stack.sourceId)).toBe(before);
    expect(await whois(stack, person.email)).toContain(person.email);

    // The admin channel's progress message and the Home tab say why.
    // A bound of a minute or more is said in minutes.
    const why = `The sync made no progress for ${STALL_AFTER_S < 60 ? `${STALL_AFTER_S} seconds` : ''}`;
    await waitFor(() => stack.slack.messagesIn(ADMIN_CHANNEL).some((m) => m.text.startsWith(`Sync failed: ${why}`)), {
      what: 'the failure in the admin channel',
    });
    await stack.client.appHomeOpened(ADMIN);
    await waitFor(() => viewText(stack.slack.homeOf(ADMIN)).includes(why), { what: 'the failure on the Home tab' });

    await stack.entra.control('POST', 'faults', { latencyMs: 0 });
    await syncsAgain(Math.max(15_000, USERS * 3));
    await expectServing(stack);
    console.info(`stalled run ended ${endedAfterMs} ms after Graph stopped answering (bound ${STALL_AFTER_S} s)`);
  });
});

describe('20 simultaneous Sync now on two replicas', { timeout: PATIENCE_MS * 3 }, () => {
  it('start exactly one run, and everyone else is told who started it', async () => {
    const replica = await startReplica(stack);
    try {
      const admins = Array.from({ length: 20 }, (_, i) => `U0SYNC${String(i).padStart(2, '0')}`);
      stack.slack.setUsers([
        ...DEFAULT_USERS,
        ...admins.map((id) => ({
          id,
          name: id.toLowerCase(),
          realName: id,
          email: `${id}@contoso.com`,
          isAdmin: true,
        })),
      ]);
      // Four press the Home tab's button, sixteen type /aad sync; every other one reaches the second replica.
      const onHome = admins.slice(0, 4);
      const clientOf = (i: number) => (i % 2 === 0 ? stack.client : replica.client);
      for (const [i, userId] of onHome.entries()) {
        await clientOf(i).appHomeOpened(userId);
        await waitFor(() => stack.slack.homeOf(userId), { what: `the Home tab of ${userId}` });
      }
      await stack.entra.control('POST', 'faults', { latencyMs: 250 });
      await changeTenant(stack, 'Crowded');
      const [responsesBefore, viewsBefore] = [stack.slack.responses().length, stack.slack.views().length];
      const after = await lastRunId(stack.db, stack.sourceId);

      const presses = admins.map((userId, i) =>
        onHome.includes(userId)
          ? clientOf(i).blockAction({ userId, actionId: actionIds.syncNow, view: stack.slack.homeOf(userId)! })
          : clientOf(i).command('/aad', 'sync', { userId }),
      );
      for (const reply of await Promise.all(presses)) expect(reply.status).toBe(200);

      const runs = await waitFor(
        async () => {
          const since = (await runsOf(stack.db, stack.sourceId)).filter((r) => Number(r.id) > after);
          return since.length > 0 && since.every((r) => r.status !== 'running') ? since : null;
        },
        { timeoutMs: PATIENCE_MS, what: 'the runs to end' },
      );
      expect(runs.map((r) => r.status)).toEqual(['succeeded']);
      const starter = runs[0].requested_by!;
      expect(admins).toContain(starter);

      // Each of the 19 others heard, where they pressed, that a sync is running and who started it: a command
      // in its reply, a Home-tab press in a notice, or (when the notice's 3 s trigger ran out on a busy
      // replica) on the Home tab published again.
      const told = await waitFor(
        () => {
          const answers = new Map<string, string>();
          for (const r of stack.slack.responses().slice(responsesBefore))
            answers.set(r.target.userId, JSON.stringify(r.body));
          for (const v of stack.slack.views().slice(viewsBefore)) {
            const text = viewText(v);
            if (v.callback_id === callbackIds.notice || (v.type === 'home' && !answers.has(v.user_id)))
              answers.set(v.user_id, text);
          }
          return answers.size >= admins.length ? answers : null;
        },
        { timeoutMs: 20_000, what: 'an answer to each of the 20' },
      );
      for (const userId of admins.filter((id) => id !== starter)) {
        expect(told.get(userId), userId).toMatch(/A sync is (already )?running/);
        expect(told.get(userId), userId).toContain(`<@${starter}>`);
      }
      if (!onHome.includes(starter)) expect(told.get(starter)).toContain('Sync started');
      const notices = stack.slack
        .views()
        .slice(viewsBefore)
        .filter((v) => v.callback_id === callbackIds.notice);
      console.info(`${notices.length} Home-tab refusals shown in a notice, the others on the Home tab`);

      const person = await someone(stack);
      expect(await whois(stack, person.email, replica.client)).toContain(person.email);
      await syncsAgain(Math.max(15_000, USERS * 3));
      expect(replica.serve.ended()).toBeUndefined();
    } finally {
      await replica.serve.stop();
    }
  });
});
