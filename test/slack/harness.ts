import { webApi } from '@slack/bolt';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import {
  createSlackClient,
  type SlackEmulator,
  type SlackTestClient,
  startSlackEmulator,
} from '../../src/emulators/slack/index.ts';
import type { Logger } from '../../src/logger.ts';
import type { AdminServices } from '../../src/services/contract.ts';
import type { SourceReport } from '../../src/services/model.ts';
import { type AdminCheck, createAdminCheck } from '../../src/slack/admin.ts';
import { createSlackApp, type SlackApp } from '../../src/slack/app.ts';
import { createGuestCheck, type GuestCheck } from '../../src/slack/guests.ts';
import { registerListeners } from '../../src/slack/listeners/index.ts';
import { recordingLogger } from '../helpers/logs.ts';
import { stubServices } from './fixtures.ts';

export const SECRET = 'test-signing-secret-123';

/** The Slack error code of a failed Web API call. */
export async function slackError(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    return (error as { data?: { error?: string } }).data?.error ?? String(error);
  }
  throw new Error('the call succeeded');
}

export interface Harness {
  emulator: SlackEmulator;
  slack: SlackApp;
  client: SlackTestClient;
  logger: Logger;
  adminCheck: AdminCheck;
  guestCheck: GuestCheck;
  /** Every log line the app wrote, as JSON text. */
  logLines: string[];
  stop(): Promise<void>;
}

/**
 * The real Bolt app from `createSlackApp` on a free port, with every listener, talking to the Slack
 * emulator; the signed client plays Slack. `processBeforeResponse` makes each HTTP answer wait for the
 * listener, so a test sees everything the listener did once the request returns.
 */
export async function startHarness(options: {
  services: AdminServices;
  adminUsers?: string[];
  now?: () => number;
}): Promise<Harness> {
  const emulator = await startSlackEmulator();
  const { logger, lines: logLines } = recordingLogger();
  const slack = await createSlackApp({
    signingSecret: SECRET,
    botToken: emulator.botToken,
    apiUrl: emulator.apiUrl,
    logger,
    processBeforeResponse: true,
    retryConfig: { retries: 0 },
    unhandledRequestTimeoutMs: 1000,
  });
  const adminCheck = createAdminCheck({ adminUsers: options.adminUsers ?? [], logger, now: options.now });
  const guestCheck = createGuestCheck();
  registerListeners(slack.app, { services: options.services, adminCheck, guestCheck, logger });
  const { port } = await slack.start(0);
  const client = createSlackClient({
    appUrl: `http://127.0.0.1:${port}/slack/events`,
    signingSecret: SECRET,
    emulator,
  });
  return {
    emulator,
    slack,
    client,
    logger,
    adminCheck,
    guestCheck,
    logLines,
    async stop() {
      await slack.stop();
      await emulator.close();
    },
  };
}

/** The Web API client the app itself uses (same options as `createSlackApp`), pointed at the emulator. */
export function webClientFor(emulator: SlackEmulator): webApi.WebClient {
  return new webApi.WebClient(emulator.botToken, {
    slackApiUrl: emulator.apiUrl,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    logLevel: webApi.LogLevel.ERROR,
  });
}

/**
 * A harness for a whole test file: the app with a recording stand-in for the services, started once,
 * with the emulator and the call record cleared before each test.
 */
export function useStubbedHarness(report: SourceReport | null, overrides: Partial<AdminServices>) {
  const ctx = {} as { h: Harness; stub: ReturnType<typeof stubServices> };
  beforeAll(async () => {
    ctx.stub = stubServices(report, overrides);
    ctx.h = await startHarness({ services: ctx.stub.services });
  });
  afterAll(() => ctx.h?.stop());
  beforeEach(() => {
    ctx.h.emulator.reset();
    ctx.stub.calls.length = 0;
  });
  return ctx;
}
