import type { CustomRoute } from '@slack/bolt';
import { createSubscriptionClient } from './azure/index.ts';
import type { Config } from './config.ts';
import type { Database } from './db/client.ts';
import { openDatabase } from './db/open.ts';
import { photoSigningKey } from './directory/photo-links.ts';
import { azureRoutes } from './http/azure-routes.ts';
import { graphNotificationRoutes } from './http/graph-notifications.ts';
import { healthRoutes } from './http/health.ts';
import { installPages } from './http/install-pages.ts';
import { createMetrics, metricsHandler, profileCounter, startMetricsServer } from './http/metrics.ts';
import { createPhotoHandler } from './http/photos.ts';
import { createLogger, type Logger } from './logger.ts';
import { createAdminServices } from './services/admin.ts';
import { createRunAlerts } from './services/alerts.ts';
import { createAuthorizationService } from './services/authorization.ts';
import { type ChangeFeed, type ChangeFeedOptions, createChangeFeed } from './services/change-feed.ts';
import { sourceBelongsTo } from './services/reports.ts';
import { authorizationFollowUp, createRunEvents } from './services/run-events.ts';
import { createUninstallService } from './services/uninstall.ts';
import { createAdminCheck } from './slack/admin.ts';
import { createAlertPoster } from './slack/alert-poster.ts';
import { createSlackApp } from './slack/app.ts';
import type { ListenerDeps } from './slack/deps.ts';
import { authorizationShower } from './slack/flows/setup.ts';
import { createGuestCheck } from './slack/guests.ts';
import { createInstallationStore, tokenRefresher } from './slack/installations.ts';
import { registerListeners } from './slack/listeners/index.ts';
import { type SyncTiming, syncDepsFromConfig } from './sync/index.ts';
import { engineRunner } from './sync/scheduler/engine-runner.ts';
import { createScheduler, type SchedulerOptions } from './sync/scheduler/scheduler.ts';

/**
 * The composition root of `aad-sync serve` (and of the demo): the database, Microsoft sign-in and Graph,
 * the sync engine and its scheduler, the Bolt app with every listener, and the routes beside it
 * (`/azure/*`, `/photos/*`, `/healthz`, `/readyz`) on one port; `/metrics` on METRICS_PORT, or on that
 * port behind METRICS_TOKEN.
 */

export interface StartServerOptions {
  /** Where Slack's requests and the routes are served; default PORT. 0 picks a free one (HTTP mode). */
  port?: number;
  logger?: Logger;
  /** An open, migrated database (left open on stop); default: DATABASE_URL or the embedded one, migrated. */
  database?: Pick<Database, 'db' | 'sql' | 'close'> & { url: string };
  /** Scheduler tuning (tests, demo): e.g. a short interval and poll. */
  schedulerOptions?: Partial<
    Pick<
      SchedulerOptions,
      'intervalMs' | 'processEvery' | 'lockLifetimeMs' | 'staleRunAfterMs' | 'abortGraceMs' | 'instanceName'
    >
  >;
  /** The engine's heartbeat and progress pace. */
  syncTiming?: Partial<SyncTiming>;
  /** Answer Slack only after the listener has finished: for tests and the demo's transcript, not production. */
  processBeforeResponse?: boolean;
  /** How long a stop waits for running syncs before recording them as interrupted. */
  stopTimeoutMs?: number;
  /**
   * Change-notification tuning (tests, demo, bench): debounce, upkeep pace, and the clock renewal judges by.
   * `false` leaves the feed stopped (no subscriptions made), so tests of other features keep exact Graph counts.
   */
  changeFeed?:
    | false
    | Partial<Pick<ChangeFeedOptions, 'debounceMs' | 'upkeepEveryMs' | 'now' | 'renewBeforeMs' | 'retryAfterMs'>>;
  /** Install mode: refresh a rotating Slack bot token this long before it expires (default 2 hours). */
  slackTokenRefreshBeforeMs?: number;
}

export interface RunningServer {
  port: number;
  /** e.g. http://127.0.0.1:3000 — where `/slack/events`, `/healthz` … answer. */
  url: string;
  /** The port /metrics answers on when METRICS_PORT is set (0 picks a free one). */
  metricsPort?: number;
  stop(): Promise<void>;
}

const STOP_TIMEOUT_MS = 30_000;

function required<T>(value: T | undefined, name: string): T {
  if (value === undefined) throw new Error(`${name} must be set to start the server`);
  return value;
}

export async function startServer(config: Config, options: StartServerOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const encryptionKey = required(config.encryptionKey, 'ENCRYPTION_KEY');
  const port = options.port ?? config.port;
  const stopTimeoutMs = options.stopTimeoutMs ?? STOP_TIMEOUT_MS;
  const database = options.database ?? (await openDatabase({ databaseUrl: config.databaseUrl }));
  const ownsDatabase = options.database === undefined;
  const { db, sql } = database;
  const closers: (() => Promise<unknown>)[] = [];
  try {
    const metrics = createMetrics({ countProfiles: profileCounter(db) });
    const countGraph = (report: { status: number }) => metrics.graphRequests.inc({ status: String(report.status) });
    const composed = syncDepsFromConfig(config, database, logger);
    const { auth } = composed;
    const syncDeps = {
      ...composed,
      timing: { ...composed.timing, ...options.syncTiming },
      readerFor: ((source, hooks) =>
        composed.readerFor(source, {
          onRequest: (report) => {
            countGraph(report);
            hooks.onRequest(report);
          },
        })) as typeof composed.readerFor,
    };
    const authorization = createAuthorizationService({ db, auth, encryptionKey, publicUrl: config.publicUrl });

    // The Bolt app takes the routes, so the callback's follow-up is built first and reaches Slack once it is up.
    const afterAuthorization = authorizationFollowUp();
    // The change feed needs the scheduler; a notification before it exists is dropped (hourly runs catch up).
    let feed: ChangeFeed | undefined;
    let schedulerWedged: () => string | undefined = () => undefined;
    const routes: CustomRoute[] = [
      // The scheduler starts after the routes exist; until then nothing can be wedged.
      ...healthRoutes({ sql, wedged: () => schedulerWedged() }),
      ...graphNotificationRoutes({
        logger,
        sink: {
          changes: async (items) => feed?.receiver.changes(items),
          lifecycle: async (items) => feed?.receiver.lifecycle(items),
          refused: (reason) => metrics.graphNotifications.inc({ outcome: reason }),
        },
      }),
      // On the public port only behind METRICS_TOKEN; with METRICS_PORT it gets a server of its own below.
      ...(config.metricsToken && config.metricsPort === undefined
        ? [{ path: '/metrics', method: 'GET', handler: metricsHandler(metrics, config.metricsToken) }]
        : []),
      ...azureRoutes({
        authorization,
        publicUrl: config.publicUrl,
        authorityHost: config.azure.authorityHost,
        logger,
        onAuthorized: afterAuthorization.completed,
      }),
      {
        path: '/photos/:signed',
        method: ['GET', 'HEAD'],
        handler: createPhotoHandler({ sql, signingKey: photoSigningKey(encryptionKey) }),
      },
    ];
    // Install by OAuth (any number of workspaces and Grid orgs), or one workspace with a pasted token.
    const oauth = config.slack.oauth;
    const installations =
      oauth &&
      createInstallationStore({
        db,
        sql,
        encryptionKey,
        logger,
        refresh: tokenRefresher({ apiUrl: config.slack.apiUrl, ...oauth }),
        refreshBeforeMs: options.slackTokenRefreshBeforeMs,
      });
    const slack = await createSlackApp({
      signingSecret: required(config.slack.signingSecret, 'SLACK_SIGNING_SECRET'),
      botToken: installations ? undefined : required(config.slack.botToken, 'SLACK_BOT_TOKEN'),
      install:
        oauth && installations
          ? {
              ...oauth,
              installations,
              publicUrl: config.publicUrl,
              apiUrl: config.slack.apiUrl,
              callbackOptions: installPages(logger),
            }
          : undefined,
      apiUrl: config.slack.apiUrl,
      appToken: config.slack.appToken,
      socketModeRoutesPort: port,
      logger,
      customRoutes: routes,
      processBeforeResponse: options.processBeforeResponse,
      onRateLimited: (url) => metrics.slackApiErrors.inc({ method: url, error: 'ratelimited' }),
    });

    const alerts = createRunAlerts({
      db,
      posterFor: async (installation) => {
        const installed = await slack.clientFor(installation);
        return installed && createAlertPoster({ client: installed, logger });
      },
      adminUsers: config.slack.adminUsers,
      logger,
    });
    const runEvents = createRunEvents({ db, alerts, countRun: (run) => metrics.observeRun(run), logger });
    const scheduler = createScheduler({
      sql,
      databaseUrl: database.url,
      mongodbUrl: config.mongodbUrl,
      intervalMs: config.syncIntervalMs,
      // A run in flight past its deadline, plus margin, means the scheduler is wedged.
      wedgedAfterMs: (options.syncTiming?.deadlineMs ?? config.runBounds.deadlineMs) + 15 * 60_000,
      logger,
      runSync: engineRunner(syncDeps, runEvents.progressFor),
      onRunFinished: async (request, result) => {
        await runEvents.runFinished(request, result);
        // A first sync, or one after a change of groups, may need a subscription made now.
        feed?.nudge();
      },
      ...options.schedulerOptions,
    });
    const watch = runEvents.attach(scheduler);
    schedulerWedged = () => scheduler.wedged();
    feed = createChangeFeed({
      sql,
      encryptionKey,
      publicUrl: config.publicUrl,
      clientFor: (source) =>
        createSubscriptionClient({
          graphBaseUrl: config.azure.graphBaseUrl,
          getToken: auth.tokenProvider(source),
          onRequest: countGraph,
        }),
      syncNow: (sourceId, request) => scheduler.syncNow(sourceId, request),
      count: (outcome, n) => metrics.graphNotifications.inc({ outcome }, n),
      logger,
      ...(options.changeFeed || {}),
    });
    const changeFeed = feed;

    const services = createAdminServices({
      db,
      sql,
      sync: syncDeps,
      auth,
      authorization,
      scheduler,
      watch,
      alerts,
      authMode: config.azure.authMode,
      graphBaseUrl: config.azure.graphBaseUrl,
      syncEvery: config.syncInterval,
      afterRun: runEvents.runEnded,
      onGraphRequest: countGraph,
      logger,
    });
    const deps: ListenerDeps = {
      services,
      adminCheck: createAdminCheck({ adminUsers: config.slack.adminUsers, logger }),
      guestCheck: createGuestCheck(),
      logger,
      whois: { sql, publicUrl: config.publicUrl, photoSigningKey: photoSigningKey(encryptionKey) },
      ownsSource: (installation, sourceId) => sourceBelongsTo(db, installation, sourceId),
      uninstall: createUninstallService({
        sql,
        forgetTokens: async (installation) => (installations ? installations.forget(installation) : false),
        stopSchedule: (sourceId) => scheduler.disableSource(sourceId),
        stopGraphSubscriptions: (sourceId) => changeFeed.stopSource(sourceId),
        cancelRuns: (sourceId) => scheduler.cancelRuns(sourceId),
        logger,
      }),
    };
    registerListeners(slack.app, deps);
    afterAuthorization.connect(runEvents, authorizationShower(deps, slack.clientFor));

    await scheduler.start();
    closers.push(() => scheduler.stop({ timeoutMs: stopTimeoutMs }));
    if (options.changeFeed !== false) changeFeed.start();
    closers.push(() => changeFeed.stop());
    const metricsServer =
      config.metricsPort === undefined
        ? undefined
        : await startMetricsServer(config.metricsPort, metricsHandler(metrics, config.metricsToken));
    if (metricsServer) closers.push(() => metricsServer.close());
    else if (!config.metricsToken) logger.info('/metrics is off: set METRICS_PORT or METRICS_TOKEN to serve it');
    const listening = await slack.start(port);
    const url = `http://127.0.0.1:${listening.port}`;
    logger.info(
      {
        port: listening.port,
        metricsPort: metricsServer?.port,
        mode: config.slack.appToken ? 'socket' : 'http',
        publicUrl: config.publicUrl,
        jobStore: scheduler.jobStore,
      },
      'aad-sync is serving',
    );

    let stopping: Promise<void> | undefined;
    return {
      port: listening.port,
      url,
      metricsPort: metricsServer?.port,
      stop() {
        stopping ??= (async () => {
          await slack.stop().catch((error: unknown) => logger.warn({ err: error }, 'stopping the Slack app failed'));
          await changeFeed.stop();
          const stopped = await scheduler.stop({ timeoutMs: stopTimeoutMs });
          if (stopped.interrupted.length > 0)
            logger.warn({ sources: stopped.interrupted }, 'syncs interrupted by the stop');
          await services.drain(stopTimeoutMs);
          runEvents.close();
          await metricsServer?.close();
          if (ownsDatabase) await database.close();
          logger.info('aad-sync stopped');
        })();
        return stopping;
      },
    };
  } catch (error) {
    for (const close of closers) await close().catch(() => {});
    if (ownsDatabase) await database.close().catch(() => {});
    throw error;
  }
}
