import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { parseConfig } from '../../src/config.ts';
import { freePort } from '../../src/db/embedded.ts';
import type { SourceStatus } from '../../src/db/schema.ts';
import {
  createSlackClient,
  type EmulatedView,
  type SlackEmulator,
  type SlackTestClient,
  startSlackEmulator,
} from '../../src/emulators/slack/index.ts';
import { type RunningServer, type StartServerOptions, startServer } from '../../src/server.ts';
import { actionIds, blockIds, callbackIds } from '../../src/slack/ids.ts';
import { validateSurface } from '../../src/slack/views/limits.ts';
import { type Hop, TestBrowser } from './browser.ts';
import { startTestDatabase, type TestDatabase } from './database.ts';
import { startTestEmulator, type TestEmulator } from './emulator.ts';
import { recordingLogger } from './logs.ts';
import { waitFor } from './wait.ts';

/**
 * The whole product for a test file, as `aad-sync serve` runs it: `startServer` on a real port with the
 * Slack Web API emulator, the Entra + Graph emulator over HTTPS and embedded PostgreSQL; the signed
 * Slack client plays Slack and a cookie-keeping browser plays the admin's browser.
 */

export const SIGNING_SECRET = 'app-test-signing-secret';
export const ADMIN = 'U0ADMIN';
export const MEMBER = 'U0MEMBER';
export const ADMIN_CHANNEL = 'C0ADMINS';

export interface AppFixture {
  db: TestDatabase;
  entra: TestEmulator;
  slack: SlackEmulator;
  server: RunningServer;
  client: SlackTestClient;
  publicUrl: string;
  /** ENCRYPTION_KEY of the server (a test acting as a second replica needs it). */
  encryptionKey: Buffer;
  logs: string[];
  /** Stops the server (keeping the emulators and database) and starts it again in `mode`. */
  restart(mode: 'delegated' | 'application', options?: StartServerOptions): Promise<void>;
  stop(): Promise<void>;
}

export interface AppFixtureOptions {
  mode?: 'delegated' | 'application';
  users?: number;
  groups?: number;
  seed?: string;
  server?: StartServerOptions;
  /** Run the app in Socket Mode (SLACK_APP_TOKEN set): Slack's payloads arrive over its WebSocket. */
  socketMode?: boolean;
}

/** Quick scheduler and engine pace so runs start and report within a test's patience. */
export const FAST: StartServerOptions = {
  schedulerOptions: { processEvery: 200, staleRunAfterMs: 10_000, abortGraceMs: 500 },
  syncTiming: { heartbeatMs: 200 },
  processBeforeResponse: true,
  stopTimeoutMs: 5_000,
  // Only the change-notification tests (test/e2e/change-notifications.test.ts) turn the feed on.
  changeFeed: false,
};

export async function startAppFixture(options: AppFixtureOptions = {}): Promise<AppFixture> {
  const [db, entra, slack] = await Promise.all([
    startTestDatabase(),
    startTestEmulator({ users: options.users ?? 300, groups: options.groups ?? 20, seed: options.seed ?? 'app' }),
    startSlackEmulator(),
  ]);
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const key = randomBytes(32).toString('base64');
  const { logger, lines: logs } = recordingLogger();
  const configFor = (mode: 'delegated' | 'application') =>
    parseConfig({
      DATABASE_URL: db.url,
      SLACK_BOT_TOKEN: slack.botToken,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      AZURE_CLIENT_ID: entra.emulator.clientId,
      AZURE_CLIENT_SECRET: entra.emulator.clientSecret,
      AZURE_AUTH_MODE: mode,
      AZURE_AUTHORITY_HOST: entra.emulator.authorityHost,
      GRAPH_BASE_URL: entra.emulator.graphBaseUrl,
      PUBLIC_URL: publicUrl,
      ENCRYPTION_KEY: key,
      PORT: String(port),
      METRICS_TOKEN: METRICS_TOKEN,
      LOG_LEVEL: 'info',
      ...(options.socketMode ? { SLACK_APP_TOKEN: slack.socketMode.appToken } : {}),
    });
  const start = (mode: 'delegated' | 'application', extra: StartServerOptions = {}) =>
    startServer(configFor(mode), { ...FAST, ...extra, port, logger, database: db });
  const fixture: AppFixture = {
    db,
    entra,
    slack,
    server: await start(options.mode ?? 'delegated', options.server),
    client: createSlackClient({
      appUrl: `${publicUrl}/slack/events`,
      signingSecret: SIGNING_SECRET,
      emulator: slack,
      socketMode: options.socketMode,
    }),
    publicUrl,
    encryptionKey: Buffer.from(key, 'base64'),
    logs,
    async restart(mode, extra) {
      await fixture.server.stop();
      fixture.server = await start(mode, extra);
    },
    async stop() {
      await fixture.server?.stop();
      await Promise.all([slack.close(), entra.close(), db.stop()]);
    },
  };
  return fixture;
}

/** Every modal, Home tab and message the app sent to the Slack emulator, checked against Slack's limits. */
export function expectWithinSlackLimits(slack: SlackEmulator): void {
  const problems: string[] = [];
  for (const call of slack.calls()) {
    const { method, args } = call;
    if (['views.open', 'views.update', 'views.push', 'views.publish'].includes(method)) {
      const view = args.view as { type: 'modal' | 'home' };
      for (const v of validateSurface(view.type, view)) problems.push(`${method}: ${v.path} ${v.message}`);
    } else if (['chat.postMessage', 'chat.update', 'chat.postEphemeral'].includes(method)) {
      for (const v of validateSurface('message', args)) problems.push(`${method}: ${v.path} ${v.message}`);
    }
  }
  for (const response of slack.responses()) {
    if (response.body.delete_original === true) continue;
    for (const v of validateSurface('message', response.body)) problems.push(`response: ${v.path} ${v.message}`);
  }
  expect(problems).toEqual([]);
}

export const viewText = (view: EmulatedView | undefined) => JSON.stringify(view?.blocks ?? []);

/** The sign-in link on a modal (step 1 or Reauthorize). */
export function authorizeUrl(view: EmulatedView): string {
  const actions = view.blocks.find((b) => b.block_id === blockIds.authorizeActions) as
    | { elements: { action_id: string; url?: string }[] }
    | undefined;
  const url = actions?.elements.find((e) => e.action_id === actionIds.authorizeLink)?.url;
  if (!url) throw new Error(`no sign-in link on the modal: ${viewText(view)}`);
  return url;
}

/** Follows a sign-in link through the emulator's sign-in (or admin consent) to the callback page. */
/** The bearer token the fixture's /metrics asks for (METRICS_TOKEN). */
export const METRICS_TOKEN = 'fixture-metrics-token-0123456789';

export async function signInThroughBrowser(url: string, browser = new TestBrowser()) {
  const hops = [];
  let next: string | null = url;
  for (let i = 0; next && i < 8; i++) {
    // The link's page asks for a button press (a POST); everything after it is redirects.
    const hop: Hop = i === 0 ? await browser.open(next) : await browser.get(next);
    hops.push(hop);
    next = hop.status >= 300 && hop.status < 400 ? hop.location : null;
  }
  return { page: hops[hops.length - 1], hops, browser };
}

/** Runs `/aad setup` and returns the modal at step 1, its sign-in link ready. */
export async function openSetup(
  client: SlackTestClient,
  slack: SlackEmulator,
  userId = ADMIN,
  channelId = ADMIN_CHANNEL,
): Promise<EmulatedView> {
  const before = slack.lastView();
  const reply = await client.command('/aad', 'setup', { userId, channelId });
  expect(reply.status).toBe(200);
  // Over HTTP the ack waits for the listener; in Socket Mode the modal may open just after it.
  const modal = await waitFor(() => (slack.lastView() !== before ? slack.lastView() : undefined), {
    what: 'the setup modal',
  });
  expect(modal.callback_id).toBe(callbackIds.setupAuthorize);
  // The personal sign-in link replaces "Preparing…" in an update right after the modal opens.
  return waitFor(
    () => {
      const shown = slack.view(modal.id);
      return shown?.blocks.some((b) => b.block_id === blockIds.authorizeActions) ? shown : undefined;
    },
    { what: 'the sign-in link on the setup modal' },
  );
}

/** The first source (of `installation`, when given: a workspace id, or an org id for an org-wide install). */
export async function sourceRow(db: TestDatabase, installation?: string) {
  const [row] = await db.sql<
    {
      id: string;
      status: SourceStatus;
      sync_enabled: boolean;
      alert_ts: string | null;
      alert_code: string | null;
      alert_count: number;
      tenant_id: string | null;
      token_cache: string | null;
    }[]
  >`select * from sources where ${installation ?? null}::text is null or slack_team_id = ${installation ?? null}
      order by created_at limit 1`;
  return row;
}

export interface RunRow {
  id: string;
  trigger: string;
  requested_by: string | null;
  mode: string;
  status: string;
  created_count: number;
  removed_count: number;
  read_count: number;
  error_code: string | null;
}

export const runsOf = (db: TestDatabase, sourceId: string) =>
  db.sql<RunRow[]>`select * from sync_runs where source_id = ${sourceId} order by id`;

/** Waits until the source has no running sync and at least `count` finished non-preview runs. */
export function finishedRuns(db: TestDatabase, sourceId: string, count: number, timeoutMs = 20_000) {
  return waitFor(
    async () => {
      const runs = (await runsOf(db, sourceId)).filter((r) => r.mode !== 'preview');
      return runs.length >= count && runs.every((r) => r.status !== 'running') ? runs : null;
    },
    { timeoutMs, what: `${count} finished runs`, everyMs: 50 },
  );
}

/** The source's newest run id (0 before its first run): any run started afterwards has a greater one. */
export async function lastRunId(db: TestDatabase, sourceId: string): Promise<number> {
  const [{ id }] = await db.sql<{ id: number }[]>`
    select coalesce(max(id), 0)::int as id from sync_runs where source_id = ${sourceId}`;
  return id;
}

export interface RunOf {
  /** A run id from before the request (lastRunId). */
  after: number;
  requestedBy: string;
}

/** The first run `requestedBy` started by hand after run `after`, if there is one yet (previews aside). */
export async function runStartedBy(db: TestDatabase, sourceId: string, { after, requestedBy }: RunOf) {
  const [run] = await db.sql<RunRow[]>`
    select * from sync_runs
    where source_id = ${sourceId} and id > ${after} and requested_by = ${requestedBy} and trigger = 'manual'
      and mode <> 'preview'
    order by id limit 1`;
  return run;
}

/**
 * The run `requestedBy` started after run `after`, once it has finished. Runs anyone else started meanwhile
 * (a scheduled tick, another admin) are never mistaken for it.
 */
export function finishedRunBy(db: TestDatabase, sourceId: string, of: RunOf, timeoutMs = 20_000): Promise<RunRow> {
  return waitFor(
    async () => {
      const run = await runStartedBy(db, sourceId, of);
      return run && run.status !== 'running' ? run : null;
    },
    { timeoutMs, what: `the run ${of.requestedBy} started to finish`, everyMs: 50 },
  );
}

/**
 * `/aad sync` as `userId`, and the run it started once finished. The command answers once its run has started
 * (processBeforeResponse), so a command that started none fails here at once, with the app's reply.
 */
export async function syncNowAndWait(f: AppFixture, sourceId: string, userId = ADMIN): Promise<RunRow> {
  // A run something else started (a scheduled tick, the run a restart lets finish) would make the app refuse,
  // rightly, with "already running": on a loaded machine it may still be going. Let it end first.
  await waitFor(
    async () =>
      (await f.db.sql`select 1 from sync_runs where source_id = ${sourceId} and status = 'running'`).length === 0,
    { timeoutMs: 20_000, what: 'the runs already going to end', everyMs: 50 },
  );
  const after = await lastRunId(f.db, sourceId);
  await f.client.command('/aad', 'sync', { userId });
  if (!(await runStartedBy(f.db, sourceId, { after, requestedBy: userId }))) {
    const replies = f.slack.responses().filter((r) => r.target.userId === userId);
    throw new Error(`/aad sync started no run; the app answered: ${JSON.stringify(replies.at(-1)?.body.text)}`);
  }
  return finishedRunBy(f.db, sourceId, { after, requestedBy: userId });
}

/** Empties the product's tables (not the migrations), between scenarios sharing one database. */
export async function clearData(db: TestDatabase): Promise<void> {
  await db.sql`truncate sources, oauth_requests cascade`;
  await db.sql`delete from agenda_jobs`.catch(() => {});
}

export interface SetUpOptions {
  /** Groups to sync (default: everyone). */
  groups?: { id: string; name: string }[];
  /** The "sync automatically" choice (default off, so a test decides when runs happen). */
  autoSync?: boolean;
  /** Who sets it up, in which channel (default: the single workspace's ADMIN in ADMIN_CHANNEL). */
  admin?: string;
  adminChannel?: string;
  /** The installation the source belongs to (install-by-OAuth tests), to find it among others. */
  installation?: string;
  /** How long the preview and the first sync may take (a large tenant: minutes). */
  timeoutMs?: number;
}

/** The wizard's preview step once its dry run is in (computed after the ack) and Enable can be pressed. */
export function previewShown(f: Pick<AppFixture, 'slack'>, viewId: string, timeoutMs?: number): Promise<EmulatedView> {
  return waitFor(
    () => {
      const view = f.slack.view(viewId)!;
      return view.callback_id === callbackIds.setupPreview && view.submit ? view : null;
    },
    { what: 'the preview', timeoutMs },
  );
}

/**
 * Sets the workspace's source up through the real wizard (sign-in, groups, settings, preview, Enable) and
 * waits for its first sync. For tests about what comes after; test/e2e/wizard.test.ts checks each step.
 */
export async function setUpSource(
  f: Pick<AppFixture, 'client' | 'slack' | 'db'>,
  options: SetUpOptions = {},
): Promise<string> {
  const channel = options.adminChannel ?? ADMIN_CHANNEL;
  const setup = await openSetup(f.client, f.slack, options.admin ?? ADMIN, channel);
  const { page } = await signInThroughBrowser(authorizeUrl(setup));
  expect(page.status, page.text).toBe(200);
  const groups = options.groups ?? [];
  await f.client.viewSubmission(f.slack.view(setup.id)!, {
    [blockIds.groups]: groups.map((g) => ({ text: g.name, value: g.id })),
  });
  await f.client.viewSubmission(f.slack.view(setup.id)!, {
    [blockIds.adminChannel]: channel,
    [blockIds.options]: options.autoSync ? ['hourly_sync'] : [],
  });
  await f.client.viewSubmission(await previewShown(f, setup.id, options.timeoutMs));
  expect(f.slack.view(setup.id)!.callback_id).toBe(callbackIds.setupDone);
  const source = await sourceRow(f.db, options.installation);
  const [first] = await finishedRuns(f.db, source.id, 1, options.timeoutMs);
  expect(first).toMatchObject({ trigger: 'setup', status: 'succeeded' });
  // The first sync's summary lands in the admin channel after the run ends: wait, so it cannot appear in a later test.
  await waitFor(() => f.slack.messagesIn(channel).some((m) => /^Sync finished/.test(m.text)), {
    what: 'the first sync’s summary in the admin channel',
  });
  return source.id;
}
