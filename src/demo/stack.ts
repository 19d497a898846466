import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { parseConfig } from '../config.ts';
import type { Sql } from '../db/client.ts';
import { freePort } from '../db/embedded.ts';
import { startThrowawayDatabase } from '../db/throwaway.ts';
import { type EntraEmulator, type EntraEmulatorOptions, startEntraEmulator } from '../emulators/entra/index.ts';
import {
  createSlackClient,
  DEFAULT_CHANNELS,
  DEFAULT_USERS,
  type SlackEmulator,
  type SlackTestClient,
  startSlackEmulator,
} from '../emulators/slack/index.ts';
import { createLogger, type Logger } from '../logger.ts';
import { type RunningServer, startServer } from '../server.ts';
import { SLACK_OAUTH_REDIRECT_PATH } from '../slack/install.ts';
import { DEMO_OAUTH_APP, DEMO_SPACES } from './spaces.ts';

/**
 * Everything the demo runs, in this one process: a throw-away embedded PostgreSQL (a temporary folder,
 * so the demo repeats the same way and never touches `.data/postgres`), the Entra ID + Graph emulator over
 * HTTPS, the Slack Web API emulator, and the real server (`startServer`, as `aad-sync serve` runs it)
 * configured to talk to both emulators. `stop()` ends all of it, also after a failure.
 */

/** Graph answers as slowly as Microsoft's does on a good day, so a sync takes long enough to watch. */
export const DEMO_TENANT = { users: 2000, groups: 40, seed: 'contoso', latencyMs: 100 } as const;
export const SIGNING_SECRET = 'demo-signing-secret-0f3c9a';
export const ADMIN = DEFAULT_USERS.find((u) => u.isAdmin && !u.isOwner)!;
export const MEMBER = DEFAULT_USERS.find((u) => !u.isAdmin && !u.isRestricted)!;
export const ADMIN_CHANNEL = DEFAULT_CHANNELS.find((c) => c.name === 'aad-admins')!;

export interface DemoStack {
  entra: EntraEmulator;
  slack: SlackEmulator;
  server: RunningServer;
  /** Where browsers reach the server (install story: "Add to Slack" is here). */
  publicUrl: string;
  /** Plays Slack towards the app: signed slash commands, view submissions, options loads. */
  client: SlackTestClient;
  databaseUrl: string;
  /** The demo's own connection, to choose whom to look up and to count the result. */
  sql: Sql;
  /** The app's configuration secrets, for checks that none of them was printed or logged. */
  secrets: { encryptionKey: string; signingSecret: string; botToken: string; clientSecret: string };
  stop(): Promise<void>;
}

export interface StackOptions {
  /** Where the app's JSON logs go (LOG_LEVEL applies); default: nowhere, the transcript is the output. */
  logs?: NodeJS.WritableStream;
  logLevel?: string;
  /** Told what is starting. */
  progress?: (what: string) => void;
  /** Another tenant than the demo's (benchmarks). */
  tenant?: EntraEmulatorOptions;
  /** Install by OAuth (the install story): no pasted token; two workspaces and a Grid org to install into. */
  installByOAuth?: boolean;
}

/** The demo's own state secret for the OAuth install flow (install story only). */
const STATE_SECRET = 'demo-state-secret-for-oauth-installs-7d1e';

const discard = new Writable({ write: (_chunk, _encoding, done) => done() });

export async function startDemoStack(options: StackOptions = {}): Promise<DemoStack> {
  const stops: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const step of stops.reverse()) await step().catch(() => {});
    stops.length = 0;
  };
  try {
    const port = await freePort();
    const publicUrl = `http://127.0.0.1:${port}`;
    const [database, entra, slack] = await Promise.all([
      startThrowawayDatabase({ prefix: 'aad-sync-demo-' }),
      startEntraEmulator({ ...DEMO_TENANT, ...options.tenant }),
      startSlackEmulator(
        options.installByOAuth
          ? {
              spaces: DEMO_SPACES,
              oauth: {
                ...DEMO_OAUTH_APP,
                redirectUrls: [`${publicUrl}${SLACK_OAUTH_REDIRECT_PATH}`],
                tokenRotation: true,
              },
            }
          : {},
      ),
    ]);
    stops.push(
      () => database.stop(),
      () => entra.close(),
      () => slack.close(),
    );
    options.progress?.(
      `PostgreSQL (embedded, in ${database.folder}, deleted at the end), the emulators and the aad-sync server`,
    );

    const encryptionKey = randomBytes(32).toString('base64');
    const config = parseConfig({
      DATABASE_URL: database.url,
      ...(options.installByOAuth
        ? {
            SLACK_CLIENT_ID: DEMO_OAUTH_APP.clientId,
            SLACK_CLIENT_SECRET: DEMO_OAUTH_APP.clientSecret,
            SLACK_STATE_SECRET: STATE_SECRET,
          }
        : { SLACK_BOT_TOKEN: slack.botToken }),
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      AZURE_CLIENT_ID: entra.clientId,
      AZURE_CLIENT_SECRET: entra.clientSecret,
      AZURE_AUTHORITY_HOST: entra.authorityHost,
      GRAPH_BASE_URL: entra.graphBaseUrl,
      PUBLIC_URL: publicUrl,
      ENCRYPTION_KEY: encryptionKey,
      PORT: String(port),
      LOG_LEVEL: options.logLevel ?? 'info',
    });
    const logger: Logger = createLogger({ level: config.logLevel, destination: options.logs ?? discard });
    const server = await startServer(config, {
      port,
      logger,
      database,
      // Each Slack request is answered once its listener has finished, so the transcript shows every
      // step's result in order.
      processBeforeResponse: true,
      schedulerOptions: { processEvery: 200 },
      stopTimeoutMs: 5_000,
    });
    stops.push(() => server.stop());
    return {
      entra,
      slack,
      server,
      publicUrl,
      client: createSlackClient({
        appUrl: `${publicUrl}/slack/events`,
        signingSecret: SIGNING_SECRET,
        emulator: slack,
      }),
      databaseUrl: database.url,
      sql: database.sql,
      secrets: {
        encryptionKey,
        signingSecret: SIGNING_SECRET,
        botToken: slack.botToken,
        clientSecret: entra.clientSecret,
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
