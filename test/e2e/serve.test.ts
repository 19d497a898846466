import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVE_REQUIRES } from '../../src/config.ts';
import { freePort } from '../../src/db/embedded.ts';
import { type SlackEmulator, startSlackEmulator } from '../../src/emulators/slack/index.ts';
import { runCli } from '../helpers/cli.ts';
import { startTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.ts';

/** `aad-sync serve` as an operator runs it: the real binary, its configuration from the environment. */

let db: TestDatabase;
let entra: TestEmulator;
let slack: SlackEmulator;

beforeAll(async () => {
  [db, entra, slack] = await Promise.all([
    startTestDatabase(),
    startTestEmulator({ users: 20, groups: 2, seed: 'app-serve' }),
    startSlackEmulator(),
  ]);
});
afterAll(async () => {
  await Promise.all([db?.stop(), entra?.close(), slack?.close()]);
});

describe('aad-sync serve', () => {
  it('lists every missing variable, where to get it, and points to the demo', async () => {
    const result = await runCli(['serve'], { env: {} });
    expect(result.code).toBe(1);
    const lines = result.stderr.split('\n').filter((line) => line.startsWith('  - '));
    expect(lines.map((line) => line.split(' ')[3])).toEqual([...SERVE_REQUIRES]);
    for (const line of lines) expect(line).toMatch(/is missing: .+\.$/);
    expect(result.stderr).toContain('npm run demo');
    expect(result.stdout).toBe('');
  });

  it('refuses a malformed value with the reason', async () => {
    const result = await runCli(['serve'], {
      env: {
        SLACK_BOT_TOKEN: 'not-a-bot-token',
        SLACK_SIGNING_SECRET: 'signing-secret-1',
        AZURE_CLIENT_ID: 'id',
        AZURE_CLIENT_SECRET: 'secret',
        ENCRYPTION_KEY: 'short',
      },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('SLACK_BOT_TOKEN must start with xoxb-');
    expect(result.stderr).toContain('ENCRYPTION_KEY must be 32 bytes');
  });

  it('serves /healthz with a full configuration and exits 0 on SIGTERM, logging JSON without secrets', async () => {
    const port = await freePort();
    const metricsPort = await freePort();
    const secrets = {
      SLACK_BOT_TOKEN: slack.botToken,
      SLACK_SIGNING_SECRET: 'serve-test-signing-secret',
      AZURE_CLIENT_SECRET: entra.emulator.clientSecret,
      ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    };
    const stop = new AbortController();
    let ready: () => void = () => {};
    const listening = new Promise<void>((resolve) => {
      ready = resolve;
    });
    const run = runCli(['serve'], {
      env: {
        ...secrets,
        DATABASE_URL: db.url,
        SLACK_API_URL: slack.apiUrl,
        AZURE_CLIENT_ID: entra.emulator.clientId,
        AZURE_AUTHORITY_HOST: entra.emulator.authorityHost,
        GRAPH_BASE_URL: entra.emulator.graphBaseUrl,
        PUBLIC_URL: `http://127.0.0.1:${port}`,
        PORT: String(port),
        METRICS_PORT: String(metricsPort),
        NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS ?? '',
      },
      signal: stop.signal,
      timeoutMs: 60_000,
      onStdout: (text) => {
        if (text.includes(`listening on port ${port}`)) ready();
      },
    });
    await Promise.race([listening, run.then((r) => Promise.reject(new Error(`exited early: ${r.stderr}${r.stdout}`)))]);

    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const readiness = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(readiness.status).toBe(200);
    // Prometheus on its own port; the public one does not serve /metrics at all.
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(404);
    const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(await metrics.text()).toContain('aad_sync_runs_total');
    expect((await fetch(`http://127.0.0.1:${port}/slack/events`, { method: 'POST', body: '{}' })).status).toBe(401);

    stop.abort();
    const result = await run;
    expect(result.code, `${result.stderr}\n${result.stdout}`).toBe(0);
    const records = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { msg: string });
    expect(records.map((r) => r.msg)).toEqual(
      expect.arrayContaining(['aad-sync is serving', 'shutting down', 'aad-sync stopped', 'shut down cleanly']),
    );
    for (const secret of Object.values(secrets)) expect(result.stdout + result.stderr).not.toContain(secret);
  });
});
