import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { freePort } from '../../src/db/embedded.ts';
import {
  createSlackClient,
  type SlackEmulator,
  type SlackTestClient,
  startSlackEmulator,
} from '../../src/emulators/slack/index.ts';
import { runSync } from '../../src/sync/engine.ts';
import { ADMIN, finishedRunBy, lastRunId, MEMBER, type RunRow, SIGNING_SECRET, setUpSource } from './app.ts';
import { startTestDatabase, type TestDatabase } from './database.ts';
import { startTestEmulator, type TestEmulator } from './emulator.ts';
import { type ServeProcess, serveEnv, startServeProcess } from './serve-process.ts';
import { type SyncFixture, syncFixtureOn } from './sync.ts';
import { waitFor } from './wait.ts';

/**
 * For the fault suites (test/e2e/faults.test.ts, test/e2e/database-outage.test.ts): the real `aad-sync serve`
 * in a child process against embedded PostgreSQL and the emulators, one source set up through the wizard,
 * and the faults a bad day brings.
 */

export interface FaultStack {
  db: TestDatabase;
  entra: TestEmulator;
  slack: SlackEmulator;
  client: SlackTestClient;
  serve: ServeProcess;
  /** serve's environment: the same for a second replica (startReplica) but for its port. */
  env: Record<string, string>;
  sourceId: string;
  /** The same database and emulator, for the reference sync and fingerprints. */
  sync: SyncFixture;
  /** Starts serve again (after it was stopped or killed), on the same port and configuration. */
  restartServe(): Promise<void>;
  stop(): Promise<void>;
}

/** A serve process left running this long is killed: a safety net, longer than any fault file (or a 100k run). */
const SERVE_LIFETIME_MS = 30 * 60_000;

/** Where a run's apply transaction can be made to wait (armPause), in the order it reaches them. */
export type PausePoint = 'apply' | 'removals' | 'record' | 'commit';

/**
 * The database pauses for 3 s at a point of a run's apply transaction while `fault_pauses` holds that point:
 * `apply` (its first write to `profiles`: the changed people), `removals` (its second: the people gone from
 * Entra ID marked removed), `record` (the run record turning `succeeded`), or `commit` (a deferred trigger:
 * inside COMMIT itself). It makes "the moment the apply runs" something a test can reach every time. A
 * trigger named with several points counts its firings in the transaction and takes the n-th point.
 */
const PAUSE_POINTS = `
  create table fault_pauses (at text primary key);
  create function fault_pause() returns trigger language plpgsql as $$
  declare
    n int := coalesce(nullif(current_setting('fault.' || tg_name, true), ''), '0')::int + 1;
  begin
    perform set_config('fault.' || tg_name, n::text, true);
    if n <= tg_nargs and exists (select 1 from fault_pauses where at = tg_argv[n - 1]) then perform pg_sleep(3); end if;
    return null;
  end $$;
  create trigger fault_pause_apply after insert or update on profiles
    for each statement execute function fault_pause('apply', 'removals');
  create trigger fault_pause_record after update of status on sync_runs
    for each row when (new.status = 'succeeded') execute function fault_pause('record');
  create constraint trigger fault_pause_commit after update of status on sync_runs
    deferrable initially deferred
    for each row when (new.status = 'succeeded') execute function fault_pause('commit');`;

/**
 * Starts everything, sets the source up, and slows Graph to `graphLatencyMs` per request so that a read lasts
 * long enough to be cut at a chosen moment.
 */
export async function startFaultStack(options: {
  users: number;
  seed: string;
  graphLatencyMs: number;
  /** More of serve's environment, e.g. short run bounds. */
  env?: Record<string, string>;
  /** How long the wizard's preview and first sync may take (default: seconds; a large tenant: minutes). */
  setUpTimeoutMs?: number;
  /**
   * `statement_timeout` and `idle_in_transaction_session_timeout` set on serve's database role before it
   * starts, as a managed database may: every session of serve has them from the first import on.
   */
  roleTimeouts?: string;
}): Promise<FaultStack> {
  const [db, entra, slack] = await Promise.all([
    startTestDatabase(),
    startTestEmulator({ users: options.users, groups: 5, seed: options.seed }),
    startSlackEmulator(),
  ]);
  await db.sql.unsafe(PAUSE_POINTS);
  const appUrl = options.roleTimeouts ? await appRoleWithTimeouts(db, options.roleTimeouts) : db.url;
  const port = await freePort();
  const env = {
    ...serveEnv({
      db: { url: appUrl },
      entra,
      slack,
      port,
      signingSecret: SIGNING_SECRET,
      encryptionKey: randomBytes(32).toString('base64'),
    }),
    ...options.env,
  };
  const client = createSlackClient({
    appUrl: `http://127.0.0.1:${port}/slack/events`,
    signingSecret: SIGNING_SECRET,
    emulator: slack,
  });
  const stack: FaultStack = {
    db,
    entra,
    slack,
    client,
    serve: await startServeProcess(env, SERVE_LIFETIME_MS),
    env,
    sourceId: '',
    sync: syncFixtureOn(db, entra, randomBytes(32)),
    async restartServe() {
      stack.serve = await startServeProcess(env, SERVE_LIFETIME_MS);
    },
    async stop() {
      if (!stack.serve.ended()) await stack.serve.stop();
      await Promise.all([slack.close(), entra.close(), db.stop()]);
    },
  };
  stack.sourceId = await setUpSource({ client, slack, db }, { timeoutMs: options.setUpTimeoutMs });
  await entra.control('POST', 'faults', { latencyMs: options.graphLatencyMs });
  // The first /whois of someone matches them to their Slack account (a write): done here, not during a fault.
  const person = await someone(stack);
  expect(await whois(stack, person.email)).toContain(person.email);
  return stack;
}

/**
 * A login role of its own for serve, with both timeouts set on it (ALTER ROLE … SET), and the URL to connect as
 * it. The test's own reads (a fingerprint of 100,000 people takes seconds) keep the unbounded owner role.
 */
async function appRoleWithTimeouts(db: TestDatabase, timeout: string): Promise<string> {
  await db.sql.unsafe(`
    create role aad_app login superuser password 'aad_app';
    alter role aad_app set statement_timeout = '${timeout}';
    alter role aad_app set idle_in_transaction_session_timeout = '${timeout}'`);
  const url = new URL(db.url);
  url.username = 'aad_app';
  url.password = 'aad_app';
  return url.toString();
}

/**
 * A second `aad-sync serve` on the same database and emulators (another replica behind the same Slack app),
 * with a Slack client that sends its requests there. The caller stops it.
 */
export async function startReplica(stack: FaultStack): Promise<{ serve: ServeProcess; client: SlackTestClient }> {
  const port = await freePort();
  const serve = await startServeProcess({ ...stack.env, PORT: String(port) }, SERVE_LIFETIME_MS);
  const client = createSlackClient({
    appUrl: `${serve.url}/slack/events`,
    signingSecret: SIGNING_SECRET,
    emulator: stack.slack,
  });
  return { serve, client };
}

/**
 * Changes the tenant (changeTenant), presses Sync now, and resolves once the run has read `pages` pages: the
 * directory's fingerprint from before, and the run id the new run exceeds.
 */
export async function syncUnderWay(
  stack: FaultStack,
  label: string,
  pages: number,
): Promise<{ before: string; after: number }> {
  await changeTenant(stack, label);
  const before = await stack.sync.fingerprint(stack.sourceId);
  const pagesBefore = pagesRead(stack.entra);
  const after = await pressSyncNow(stack);
  await pagesReadSince(stack.entra, pagesBefore, pages);
  return { before, after };
}

/** Requests that read people: a full read's `/users` pages and counts, a delta round's `/users/delta` pages. */
export function pagesRead(entra: TestEmulator): number {
  const requests = entra.emulator.requests();
  return (requests['/v1.0/users'] ?? 0) + (requests['/v1.0/users/delta'] ?? 0);
}

/** Resolves once `pages` more pages of people were read than `before` (a pagesRead figure). */
export function pagesReadSince(
  entra: TestEmulator,
  before: number,
  pages: number,
  timeoutMs = 30_000,
): Promise<unknown> {
  return waitFor(() => pagesRead(entra) - before >= pages, { timeoutMs, everyMs: 10, what: `${pages} pages` });
}

/** Cuts every client connection to the database but the caller's, as a failover or `pg_terminate_backend` does. */
export async function killConnections(db: TestDatabase): Promise<number> {
  const [{ killed }] = await db.sql<{ killed: number }[]>`
    select count(*) filter (where pg_terminate_backend(pid))::int as killed from pg_stat_activity
    where datname = current_database() and pid <> pg_backend_pid() and backend_type = 'client backend'`;
  return killed;
}

/** Makes the database pause at `point` of the next apply (see PAUSE_POINTS) until `disarm`. */
export async function armPause(db: TestDatabase, point: PausePoint): Promise<() => Promise<void>> {
  await db.sql`insert into fault_pauses (at) values (${point})`;
  return async () => {
    await db.sql`delete from fault_pauses where at = ${point}`;
  };
}

/** Resolves once a backend sleeps at a pause point: a run's apply transaction is open and waiting there. */
export function pausedInApply(db: TestDatabase, timeoutMs = 60_000): Promise<unknown> {
  return waitFor(
    async () =>
      (await db.sql`select 1 from pg_stat_activity where wait_event = 'PgSleep' and datname = current_database()`)
        .length > 0,
    { timeoutMs, everyMs: 20, what: 'the apply to reach its pause point' },
  );
}

/** `/aad sync` as the admin; returns the id the run must exceed and waits for nothing. */
export async function pressSyncNow(stack: FaultStack, userId = ADMIN): Promise<number> {
  const after = await lastRunId(stack.db, stack.sourceId);
  const reply = await stack.client.command('/aad', 'sync', { userId });
  expect(reply.status).toBe(200);
  return after;
}

/** The run `userId` started after run `after`, once it has ended (or died: its row may stay `running`). */
export function runEnded(stack: FaultStack, after: number, userId = ADMIN, timeoutMs = 30_000): Promise<RunRow> {
  return finishedRunBy(stack.db, stack.sourceId, { after, requestedBy: userId }, timeoutMs);
}

/**
 * `/whois <query>` as a member (to serve, or to the replica `client` sends to): the app's answer, once posted to
 * the response URL. An answer is one card or
 * one polite sentence; never a stack trace.
 */
export async function whois(stack: FaultStack, query: string, client = stack.client): Promise<string> {
  const reply = await client.command('/whois', query, { userId: MEMBER });
  expect(reply.status).toBe(200);
  const id = reply.responseUrl.split('/').pop();
  const answer = await waitFor(() => stack.slack.responses().findLast((r) => r.id === id), {
    timeoutMs: 20_000,
    what: `the answer to /whois ${query}`,
  });
  const text = JSON.stringify(answer.body);
  expect(text).not.toMatch(/\bat .+:\d+:\d+|Error:|TypeError|ECONN/);
  return text;
}

/** `/aad status` as the admin: the app's answer, once posted to the response URL; never the generic error. */
export async function aadStatus(stack: FaultStack): Promise<string> {
  const reply = await stack.client.command('/aad', 'status', { userId: ADMIN });
  expect(reply.status).toBe(200);
  const id = reply.responseUrl.split('/').pop();
  const answer = await waitFor(() => stack.slack.responses().findLast((r) => r.id === id), {
    timeoutMs: 20_000,
    what: 'the answer to /aad status',
  });
  return JSON.stringify(answer.body);
}

/** The admin opens the app's Home tab: the dashboard published for it (a failed publish times out here). */
export async function adminHome(stack: FaultStack): Promise<string> {
  const published = stack.slack.calls('views.publish').length;
  expect((await stack.client.appHomeOpened(ADMIN)).status).toBe(200);
  await waitFor(() => stack.slack.calls('views.publish').length > published, { what: 'the Home tab' });
  return JSON.stringify(stack.slack.homeOf(ADMIN)?.blocks);
}

/** Someone the directory holds now, to look up. */
export async function someone(stack: FaultStack): Promise<{ email: string; graph_id: string }> {
  const [row] = await stack.db.sql<{ email: string; graph_id: string }[]>`
    select email, graph_id from profiles where source_id = ${stack.sourceId} and active order by email limit 1`;
  return row;
}

/**
 * Changes `count` people in Entra ID (a new job title each), so that a run has something to apply, and makes
 * the next run read the whole tenant (a full read stages every person: the longest stage there is).
 */
export async function changeTenant(stack: FaultStack, label: string, count = 50): Promise<void> {
  const ids = [...stack.entra.emulator.tenant.users.keys()].slice(0, count);
  await stack.entra.control(
    'POST',
    'users',
    ids.map((id) => ({ id, jobTitle: `${label} Engineer` })),
  );
  await stack.db.sql`update sources set users_delta_link = null where id = ${stack.sourceId}`;
}

/**
 * The directory a clean sync of the tenant as it is now gives: a second source with the same settings, synced
 * in this process by the engine, compared by content (`SyncFixture.content`).
 */
export async function cleanSyncContent(stack: FaultStack): Promise<string> {
  const [served] = await stack.db.sql<{ mapping: Record<string, string>; photo_sync: boolean }[]>`
    select mapping, photo_sync from sources where id = ${stack.sourceId}`;
  const reference = await stack.sync.createSource({ mapping: served.mapping, photoSync: served.photo_sync });
  const outcome = await runSync(stack.sync.deps, {
    sourceId: reference,
    trigger: 'manual',
    requestedBy: 'U0REFERENCE',
  });
  expect(outcome.status).toBe('succeeded');
  const content = await stack.sync.content(reference);
  await stack.db.sql`delete from sources where id = ${reference}`;
  return content;
}

/** What `/readyz` answers (200 ready, 503 not). */
export async function readiness(stack: FaultStack): Promise<number> {
  return (await fetch(`${stack.serve.url}/readyz`)).status;
}

/** serve is still up: it answers /healthz, and it never logged a fatal error. */
export async function expectServing(stack: FaultStack): Promise<void> {
  expect(stack.serve.ended(), stack.serve.ended()?.stderr).toBeUndefined();
  expect((await fetch(`${stack.serve.url}/healthz`)).status).toBe(200);
  expect(stack.serve.stdout()).not.toContain('"level":60');
}
