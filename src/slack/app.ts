import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  App,
  type Logger as BoltLogger,
  type CustomRoute,
  HTTPReceiver,
  LogLevel,
  type Receiver,
  SocketModeReceiver,
  webApi,
} from '@slack/bolt';
import type { Logger } from '../logger.ts';
import { type InstallMode, installerReceiverOptions } from './install.ts';

/**
 * The Bolt app: HTTP mode (`HTTPReceiver` at `/slack/events`, beside the product's own routes) or Socket
 * Mode when an app-level token is given. Listeners are registered by the caller (`registerListeners`).
 */

export const SLACK_EVENTS_PATH = '/slack/events';

export interface SlackAppOptions {
  signingSecret: string;
  /** One workspace with a pasted token … */
  botToken?: string;
  /** … or any number of workspaces and Grid orgs installed by OAuth. */
  install?: InstallMode;
  /** Web API base, e.g. `https://slack.com/api/` or the emulator's. */
  apiUrl: string;
  /** `xapp-…` → Socket Mode: events arrive over a WebSocket, `customRoutes` are served on `socketModeRoutesPort`. */
  appToken?: string;
  /** Socket Mode only: Bolt's side HTTP server for `customRoutes` takes its port at construction. */
  socketModeRoutesPort?: number;
  logger: Logger;
  /** `/azure/*`, `/photos/*`, `/healthz` …, served on the same port as `/slack/events`. */
  customRoutes?: CustomRoute[];
  /** Hold the HTTP answer until listeners finish: for tests and FaaS, never for a long-running server. */
  processBeforeResponse?: boolean;
  /** Web API retries; the default gives up within about a minute instead of the library's 30. */
  retryConfig?: webApi.RetryOptions;
  /** Per-request Web API timeout. */
  timeoutMs?: number;
  /** How long an un-acked request may wait before Bolt answers it (Slack itself waits 3 s). */
  unhandledRequestTimeoutMs?: number;
  /** Told of each Web API call Slack answered 429, by the app's client and the per-installation ones. */
  onRateLimited?: (url: string) => void;
}

export const DEFAULT_RETRY: webApi.RetryOptions = {
  retries: 3,
  factor: 2,
  minTimeout: 1_000,
  maxTimeout: 15_000,
  randomize: true,
};

export interface SlackApp {
  app: App;
  /** `HTTPReceiver` (its `requestListener` can be mounted elsewhere) or `SocketModeReceiver`. */
  receiver: Receiver;
  /**
   * A Web API client for work outside a Slack request (alerts, progress, the sign-in callback), with the token of
   * `installation` (workspace id, or org id for an org-wide install); undefined once it is uninstalled. With a
   * pasted token there is one installation and this is the app's own client.
   */
  clientFor(installation: string): Promise<webApi.WebClient | undefined>;
  /**
   * HTTP mode: listens on `port` (0 for any free one) and resolves with the port used. Socket Mode: connects,
   * and resolves with the routes port given at creation (`port` is ignored).
   */
  start(port: number): Promise<{ port: number }>;
  stop(): Promise<void>;
}

const LEVELS: Record<string, LogLevel> = {
  trace: LogLevel.DEBUG,
  debug: LogLevel.DEBUG,
  info: LogLevel.INFO,
  warn: LogLevel.WARN,
  error: LogLevel.ERROR,
  fatal: LogLevel.ERROR,
  silent: LogLevel.ERROR,
};

/** Bolt and its Web API client log through this into the product's pino logger (which redacts secrets). */
export function boltLogger(logger: Logger): BoltLogger {
  const text = (parts: unknown[]) => parts.map((p) => (typeof p === 'string' ? p : JSON.stringify(p))).join(' ');
  const child = logger.child({ component: 'bolt' });
  return {
    debug: (...parts: unknown[]) => child.debug(text(parts)),
    info: (...parts: unknown[]) => child.info(text(parts)),
    warn: (...parts: unknown[]) => child.warn(text(parts)),
    error: (...parts: unknown[]) => child.error(text(parts)),
    setLevel: () => {},
    getLevel: () => LEVELS[logger.level] ?? LogLevel.INFO,
    setName: () => {},
  };
}

export async function createSlackApp(options: SlackAppOptions): Promise<SlackApp> {
  const logger = boltLogger(options.logger);
  const customRoutes = options.customRoutes ?? [];
  const clientOptions: webApi.WebClientOptions = {
    slackApiUrl: options.apiUrl,
    retryConfig: options.retryConfig ?? DEFAULT_RETRY,
    timeout: options.timeoutMs ?? 10_000,
    // A 429 pauses the client's whole queue for Retry-After seconds; for an app whose modals must open within
    // 3 s, failing the one call (and letting the caller skip a progress update) is the better trade.
    rejectRateLimitedCalls: true,
    logger,
  };
  // A custom receiver takes the installer options itself (Bolt copies clientOptions only into receivers it builds).
  const installer = options.install ? installerReceiverOptions(options.install, clientOptions) : {};
  let receiver: Receiver;
  if (options.appToken) {
    receiver = new SocketModeReceiver({
      appToken: options.appToken,
      logger,
      customRoutes,
      ...installer,
      // Without clientOptions the Socket Mode client asks slack.com for its WebSocket URL whatever SLACK_API_URL says.
      installerOptions: {
        ...installer.installerOptions,
        port: options.socketModeRoutesPort ?? 3000,
        clientOptions,
      },
    });
  } else {
    receiver = new HTTPReceiver({
      signingSecret: options.signingSecret,
      endpoints: SLACK_EVENTS_PATH,
      customRoutes,
      processBeforeResponse: options.processBeforeResponse ?? false,
      unhandledRequestTimeoutMillis: options.unhandledRequestTimeoutMs ?? 3001,
      logger,
      ...installer,
    });
  }

  const app = new App({
    token: options.install ? undefined : options.botToken,
    receiver,
    logger,
    deferInitialization: true,
    clientOptions,
  });
  // auth.test once, now: a wrong token or API URL stops start-up with Slack's own error instead of failing later.
  await app.init();

  const watched = (client: webApi.WebClient) => {
    const report = options.onRateLimited;
    if (report)
      client.on(webApi.WebClientEvent.RATE_LIMITED, (_after: number, { url }: { url: string }) => report(url));
    return client;
  };
  watched(app.client);
  const install = options.install;
  const clientFor = install
    ? async (installation: string) => {
        const bot = await install.installations.botFor(installation);
        return bot ? watched(new webApi.WebClient(bot.token, clientOptions)) : undefined;
      }
    : async () => app.client;

  app.error(async (error) => {
    const original = (error as { original?: unknown }).original ?? error;
    options.logger.error({ err: original, code: (error as { code?: string }).code }, 'a Slack listener failed');
  });

  return {
    app,
    receiver,
    clientFor,
    async start(port) {
      if (options.appToken) {
        await app.start();
        return { port: options.socketModeRoutesPort ?? 3000 };
      }
      const server = (await app.start(port)) as Server;
      return { port: (server.address() as AddressInfo).port };
    },
    async stop() {
      await app.stop();
    },
  };
}
