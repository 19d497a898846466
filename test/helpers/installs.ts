import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { type Config, parseConfig } from '../../src/config.ts';
import { freePort } from '../../src/db/embedded.ts';
import type { ExtraTenantOptions } from '../../src/emulators/entra/index.ts';
import { createSlackClient, type SlackTestClient, startSlackEmulator } from '../../src/emulators/slack/index.ts';
import { type RunningServer, type StartServerOptions, startServer } from '../../src/server.ts';
import { SLACK_INSTALL_PATH } from '../../src/slack/install.ts';
import { OAUTH_APP, SPACES } from '../fixtures/slack-spaces.ts';
import { type AppFixture, FAST, METRICS_TOKEN, SIGNING_SECRET } from './app.ts';
import { type Hop, TestBrowser } from './browser.ts';
import { startTestDatabase } from './database.ts';
import { startTestEmulator } from './emulator.ts';
import { recordingLogger } from './logs.ts';

/**
 * The whole product in install-by-OAuth mode (SLACK_CLIENT_ID …, no SLACK_BOT_TOKEN), with the Slack emulator
 * holding two workspaces and a Grid org (test/fixtures/slack-spaces.ts) and token rotation on. `replica()` starts
 * another server on the same database, as a second replica behind a load balancer.
 */

export const STATE_SECRET = 'install-test-state-secret-of-32-chars!';

/** Like AppFixture; `client` plays Slack towards the first server. */
export interface InstallFixture
  extends Pick<AppFixture, 'db' | 'entra' | 'slack' | 'server' | 'client' | 'publicUrl' | 'logs'> {
  /** "Add to Slack" in a browser, as `user` choosing `team` (a workspace, or an org for an org-wide install). */
  install(team: string, user?: string, extra?: Record<string, string>): Promise<Hop>;
  /** The first server's configuration (for a test that plays another process on the same database). */
  config: Config;
  /** Another server on the same database; its client plays Slack towards it. */
  replica(): Promise<{ server: RunningServer; client: SlackTestClient }>;
  stop(): Promise<void>;
}

export interface InstallFixtureOptions {
  server?: StartServerOptions;
  /** Entra tenants beside the first (Contoso), for installations that each connect their own. */
  tenants?: ExtraTenantOptions[];
}

export async function startInstallFixture(options: InstallFixtureOptions = {}): Promise<InstallFixture> {
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const [db, entra, slack] = await Promise.all([
    startTestDatabase(),
    startTestEmulator({ users: 60, groups: 8, seed: 'installs', tenants: options.tenants }),
    startSlackEmulator({
      spaces: SPACES,
      oauth: { ...OAUTH_APP, redirectUrls: [`${publicUrl}/slack/oauth_redirect`], tokenRotation: true },
    }),
  ]);
  const key = randomBytes(32).toString('base64');
  const { lines: logs, logger } = recordingLogger();
  const config = (serverPort: number) =>
    parseConfig({
      DATABASE_URL: db.url,
      SLACK_CLIENT_ID: OAUTH_APP.clientId,
      SLACK_CLIENT_SECRET: OAUTH_APP.clientSecret,
      SLACK_STATE_SECRET: STATE_SECRET,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      AZURE_CLIENT_ID: entra.emulator.clientId,
      AZURE_CLIENT_SECRET: entra.emulator.clientSecret,
      AZURE_AUTHORITY_HOST: entra.emulator.authorityHost,
      GRAPH_BASE_URL: entra.emulator.graphBaseUrl,
      PUBLIC_URL: publicUrl,
      ENCRYPTION_KEY: key,
      PORT: String(serverPort),
      METRICS_TOKEN,
    });
  const start = (serverPort: number) =>
    startServer(config(serverPort), { ...FAST, ...options.server, port: serverPort, logger, database: db });
  const clientOf = (url: string) =>
    createSlackClient({ appUrl: `${url}/slack/events`, signingSecret: SIGNING_SECRET, emulator: slack });
  const replicas: RunningServer[] = [];
  const server = await start(port);
  return {
    db,
    entra,
    slack,
    server,
    client: clientOf(publicUrl),
    publicUrl,
    logs,
    config: config(port),
    async install(team, user, extra = {}) {
      const browser = new TestBrowser();
      const start = await browser.get(`${publicUrl}${SLACK_INSTALL_PATH}`);
      expect(start.status, start.text).toBe(302);
      const authorize = new URL(start.location ?? '');
      authorize.searchParams.set('team', team);
      if (user) authorize.searchParams.set('user', user);
      for (const [name, value] of Object.entries(extra)) authorize.searchParams.set(name, value);
      const back = await browser.get(authorize.toString());
      expect(back.status, back.text).toBe(302);
      return browser.get(back.location ?? '');
    },
    async replica() {
      const replicaPort = await freePort();
      const second = await start(replicaPort);
      replicas.push(second);
      return { server: second, client: clientOf(`http://127.0.0.1:${replicaPort}`) };
    },
    async stop() {
      for (const r of replicas) await r.stop();
      await server.stop();
      await Promise.all([slack.close(), entra.close(), db.stop()]);
    },
  };
}
