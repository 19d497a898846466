import { createServer, type Server } from 'node:http';
import { type AddressInfo, createServer as createTcpServer, type Socket } from 'node:net';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase, type Database } from '../../src/db/client.ts';
import { runMigrations } from '../../src/db/migrate.ts';
import { profiles, sources } from '../../src/db/schema.ts';
import { healthRoutes, type JournalEntry, type Route, readMigrationJournal } from '../../src/http/health.ts';
import {
  createMetrics,
  type Metrics,
  metricsHandler,
  type ProfileCounts,
  profileCounter,
  startMetricsServer,
} from '../../src/http/metrics.ts';
import { startTestDatabase, type TestDatabase } from '../helpers/database.ts';

/** The routes behind a plain Node server on a free port, dispatched the way Bolt's `customRoutes` does. */
async function serve(routes: Route[]): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const route = routes.find(
      (r) => r.path === new URL(req.url ?? '/', 'http://x').pathname && r.method === req.method,
    );
    if (route) route.handler(req, res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const metricsRoute = (m: Metrics, token?: string): Route => ({
  path: '/metrics',
  method: 'GET',
  handler: metricsHandler(m, token),
});

async function get(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { headers });
  const text = await response.text();
  return { status: response.status, type: response.headers.get('content-type') ?? '', text };
}

let database: TestDatabase;
let metrics: Metrics;
let server: Awaited<ReturnType<typeof serve>>;
let databaseStopped = false;

beforeAll(async () => {
  database = await startTestDatabase({ migrate: false });
  metrics = createMetrics({ countProfiles: profileCounter(database.db) });
  server = await serve([...healthRoutes({ sql: database.sql }), metricsRoute(metrics)]);
});
afterAll(async () => {
  await server?.close();
  if (!databaseStopped) await database?.stop();
});

describe('/healthz and /readyz against a real PostgreSQL', () => {
  it('answers /healthz with 200 JSON whatever the database state', async () => {
    const response = await get(`${server.url}/healthz`);
    expect(response.status).toBe(200);
    expect(response.type).toMatch(/^application\/json/);
    expect(JSON.parse(response.text)).toEqual({ status: 'ok' });
  });

  it('is not ready before migrations, and says what to run', async () => {
    const response = await get(`${server.url}/readyz`);
    expect(response.status).toBe(503);
    expect(JSON.parse(response.text)).toEqual({
      status: 'not_ready',
      reason: expect.stringContaining('aad-sync migrate'),
    });
  });

  it('is ready once every migration of this build is applied', async () => {
    await runMigrations(database.url);
    const response = await get(`${server.url}/readyz`);
    expect(response.status).toBe(200);
    const expected = readMigrationJournal().length;
    expect(JSON.parse(response.text)).toEqual({ status: 'ready', migrations: { applied: expected, expected } });
  });

  it('is not ready when this build ships a migration the database lacks, and names it', async () => {
    const journal: JournalEntry[] = [
      ...readMigrationJournal(),
      { tag: '0099_from_the_future', when: 4_102_444_800_000 },
    ];
    const other = await serve(healthRoutes({ sql: database.sql, journal }));
    try {
      const response = await get(`${other.url}/readyz`);
      expect(response.status).toBe(503);
      expect(JSON.parse(response.text).reason).toBe(
        `1 of ${journal.length} migrations are not applied (0099_from_the_future)`,
      );
    } finally {
      await other.close();
    }
  });

  it('is not ready while the scheduler is wedged, and says so', async () => {
    const reason = "a sync run has been in flight since 2026-01-01T00:00:00.000Z, past every run's deadline";
    const other = await serve(healthRoutes({ sql: database.sql, wedged: () => reason }));
    try {
      const response = await get(`${other.url}/readyz`);
      expect(response.status).toBe(503);
      expect(JSON.parse(response.text)).toEqual({ status: 'not_ready', reason });
    } finally {
      await other.close();
    }
  });

  it('stays ready when a newer release has already migrated further (rolling update, rollback)', async () => {
    await database.sql`insert into drizzle.__drizzle_migrations (hash, created_at) values ('newer', 4102444800000)`;
    try {
      const response = await get(`${server.url}/readyz`);
      expect(response.status).toBe(200);
      const expected = readMigrationJournal().length;
      expect(JSON.parse(response.text).migrations).toEqual({ applied: expected + 1, expected });
    } finally {
      await database.sql`delete from drizzle.__drizzle_migrations where hash = 'newer'`;
    }
  });

  it('gives up on a database that accepts connections but never answers, within its timeout', async () => {
    const sockets = new Set<Socket>();
    const silent = createTcpServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const hung = postgres(`postgres://u:p@127.0.0.1:${port}/db`, { max: 1 });
    const other = await serve(healthRoutes({ sql: hung, readinessTimeoutMs: 300 }));
    try {
      const response = await get(`${other.url}/readyz`);
      expect(response.status).toBe(503);
      expect(JSON.parse(response.text).reason).toBe('the database did not answer within 300 ms');
    } finally {
      await other.close();
      await hung.end({ timeout: 0 });
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

describe('/metrics', () => {
  it('serves Prometheus text with every product metric, profile counts read from the database at scrape time', async () => {
    const [source] = await database.db.insert(sources).values({ slackTeamId: 'T1' }).returning();
    const person = (externalId: string, active: boolean) => ({
      sourceId: source.id,
      externalId,
      graphId: externalId,
      firstName: 'A',
      lastName: 'B',
      displayName: 'A B',
      email: `${externalId}@contoso.com`,
      contentHash: 'h',
      active,
    });
    await database.db.insert(profiles).values([person('a', true), person('b', true), person('c', false)]);
    metrics.observeRun({ mode: 'full', status: 'succeeded', trigger: 'manual', durationMs: 1500 });
    metrics.graphRequests.inc({ status: '429' });
    metrics.slackApiErrors.inc({ method: 'chat.postMessage', error: 'channel_not_found' });

    const response = await get(`${server.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.type).toBe(metrics.registry.contentType);
    const lines = response.text.split('\n');
    expect(lines).toContain('aad_sync_profiles{state="active"} 2');
    expect(lines).toContain('aad_sync_profiles{state="removed"} 1');
    expect(lines).toContain('aad_sync_runs_total{status="succeeded",trigger="manual"} 1');
    expect(lines).toContain('aad_sync_sync_duration_seconds_bucket{le="2",mode="full",status="succeeded"} 1');
    expect(lines).toContain('aad_sync_sync_duration_seconds_bucket{le="1",mode="full",status="succeeded"} 0');
    expect(lines).toContain('aad_sync_sync_duration_seconds_sum{mode="full",status="succeeded"} 1.5');
    expect(lines).toContain('aad_sync_graph_requests_total{status="429"} 1');
    expect(lines).toContain('aad_sync_slack_api_errors_total{method="chat.postMessage",error="channel_not_found"} 1');
    expect(response.text).toMatch(/^process_resident_memory_bytes \d+/m);
  });
});

describe('/metrics: who may read it, and what a scrape costs', () => {
  it('behind METRICS_TOKEN answers only the right bearer token', async () => {
    const token = 'a-long-random-metrics-token';
    const guarded = await serve([metricsRoute(metrics, token)]);
    try {
      for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: token }] as Record<
        string,
        string
      >[]) {
        const refused = await get(`${guarded.url}/metrics`, headers);
        expect(refused.status).toBe(401);
        expect(refused.text).not.toContain('aad_sync');
      }
      const allowed = await get(`${guarded.url}/metrics`, { authorization: `Bearer ${token}` });
      expect(allowed.status).toBe(200);
      expect(allowed.text).toContain('# TYPE aad_sync_profiles gauge');
    } finally {
      await guarded.close();
    }
  });

  it('on METRICS_PORT, a server that answers /metrics and nothing else', async () => {
    const own = await startMetricsServer(0, metricsHandler(metrics));
    try {
      expect((await get(`http://127.0.0.1:${own.port}/metrics`)).status).toBe(200);
      for (const path of ['/healthz', '/slack/events', '/metrics/x']) {
        expect((await get(`http://127.0.0.1:${own.port}${path}`)).status).toBe(404);
      }
    } finally {
      await own.close();
    }
  });

  it('counts profiles at most once per period, however many scrapers there are', async () => {
    let counts = 0;
    let clock = 0;
    const counted = createMetrics({
      now: () => clock,
      countProfiles: async (): Promise<ProfileCounts> => {
        counts++;
        return { active: 5, removed: 1 };
      },
    });
    await Promise.all(Array.from({ length: 16 }, () => counted.registry.metrics()));
    for (let i = 0; i < 10; i++) await counted.registry.metrics();
    expect(counts).toBe(1);
    clock += 60_000;
    expect(await counted.registry.metrics()).toMatch(/^aad_sync_profiles\{state="active"\} 5$/m);
    expect(counts).toBe(2);
  });
});

describe('/metrics with a profile count that hangs', () => {
  it('answers within the count timeout, without profile samples', async () => {
    const stuck = createMetrics({ countProfiles: () => new Promise(() => {}), countTimeoutMs: 100 });
    const text = await stuck.registry.metrics();
    expect(text).toContain('# TYPE aad_sync_profiles gauge');
    expect(text).not.toMatch(/^aad_sync_profiles\{/m);
    expect(text).toContain('# TYPE aad_sync_runs_total counter');
  });
});

describe('when the database goes away', () => {
  let own: Database;
  let other: Awaited<ReturnType<typeof serve>>;

  beforeAll(async () => {
    own = connectDatabase(database.url);
    const ownMetrics = createMetrics({ countProfiles: profileCounter(own.db), countCacheMs: 0 });
    other = await serve([...healthRoutes({ sql: own.sql }), metricsRoute(ownMetrics)]);
    expect((await get(`${other.url}/readyz`)).status).toBe(200);
    expect((await get(`${other.url}/metrics`)).text).toMatch(/^aad_sync_profiles\{state="active"\} 2$/m);
    databaseStopped = true;
    await database.stop();
  });
  afterAll(async () => {
    await other?.close();
    await own?.close();
  });

  it("reports not ready in plain words, without the driver's details (host, port, user)", async () => {
    const response = await get(`${other.url}/readyz`);
    expect(response.status).toBe(503);
    expect(JSON.parse(response.text)).toEqual({ status: 'not_ready', reason: 'the database is unreachable' });
    const { port } = new URL(database.url);
    expect(response.text).not.toContain(port);
    expect(response.text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|postgres/);
  });

  it('still answers /healthz and /metrics, leaving the profile gauge empty rather than stale', async () => {
    expect((await get(`${other.url}/healthz`)).status).toBe(200);
    const response = await get(`${other.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.text).toContain('# TYPE aad_sync_profiles gauge');
    expect(response.text).not.toMatch(/^aad_sync_profiles\{/m);
    expect(response.text).toMatch(/^process_cpu_user_seconds_total /m);
  });
});
