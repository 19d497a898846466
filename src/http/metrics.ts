import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { sql as raw } from 'drizzle-orm';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Db } from '../db/client.ts';
import { profiles } from '../db/schema.ts';
import { withDeadline } from '../deadline.ts';

export interface ProfileCounts {
  active: number;
  removed: number;
}

export interface RunObservation {
  mode: 'full' | 'delta' | 'preview';
  status: 'succeeded' | 'failed' | 'held';
  trigger: 'schedule' | 'manual' | 'setup' | 'cli' | 'notification';
  durationMs: number;
}

export interface Metrics {
  registry: Registry;
  syncDuration: Histogram<'mode' | 'status'>;
  runs: Counter<'status' | 'trigger'>;
  profiles: Gauge<'state'>;
  graphRequests: Counter<'status'>;
  slackApiErrors: Counter<'method' | 'error'>;
  /** Graph change notifications received, by what became of them (forged ones are counted, never acted on). */
  graphNotifications: Counter<'outcome'>;
  /** A finished run counts in both the histogram and the counter, so callers cannot record one without the other. */
  observeRun(run: RunObservation): void;
}

/** Hourly deltas take seconds; a first full sync of a large tenant takes minutes. */
const SYNC_DURATION_BUCKETS = [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800];

/**
 * A registry of its own (not prom-client's global one), so two apps or two tests in one process never
 * share counters. `countProfiles` scans every profile, so its answer is kept for `countCacheMs` and shared
 * by concurrent scrapes: however many scrapers there are, the database counts at most once per period.
 * When the count fails or outlasts `countTimeoutMs` the gauge is left empty for that scrape (and the next
 * one counts again) rather than repeating numbers that may be stale, and the rest of the scrape still
 * answers before Prometheus gives up on it.
 */
export function createMetrics(
  options: {
    countProfiles?: () => Promise<ProfileCounts>;
    countTimeoutMs?: number;
    countCacheMs?: number;
    now?: () => number;
  } = {},
): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const syncDuration = new Histogram({
    name: 'aad_sync_sync_duration_seconds',
    help: 'Wall time of finished sync runs.',
    labelNames: ['mode', 'status'] as const,
    buckets: SYNC_DURATION_BUCKETS,
    registers: [registry],
  });
  const runs = new Counter({
    name: 'aad_sync_runs_total',
    help: 'Finished sync runs by outcome and by what started them.',
    labelNames: ['status', 'trigger'] as const,
    registers: [registry],
  });
  const countProfiles = options.countProfiles;
  const countTimeoutMs = options.countTimeoutMs ?? 2_000;
  const countCacheMs = options.countCacheMs ?? 60_000;
  const now = options.now ?? Date.now;
  let counted: { at: number; counts: Promise<ProfileCounts | undefined> } | undefined;
  const profilesGauge = new Gauge({
    name: 'aad_sync_profiles',
    help: 'Profiles in the directory: active, or removed by a sync (kept for history).',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      if (!countProfiles) return;
      if (!counted || now() - counted.at >= countCacheMs) {
        counted = {
          at: now(),
          counts: withDeadline(
            countProfiles().catch(() => undefined),
            countTimeoutMs,
            () => undefined,
          ),
        };
      }
      const mine = counted;
      const counts = await mine.counts;
      if (!counts) {
        if (counted === mine) counted = undefined;
        return this.reset();
      }
      this.set({ state: 'active' }, counts.active);
      this.set({ state: 'removed' }, counts.removed);
    },
  });
  const graphRequests = new Counter({
    name: 'aad_sync_graph_requests_total',
    help: 'Microsoft Graph responses by HTTP status (429 means throttled).',
    labelNames: ['status'] as const,
    registers: [registry],
  });
  const slackApiErrors = new Counter({
    name: 'aad_sync_slack_api_errors_total',
    help: 'Slack Web API calls that failed, by method and Slack error code.',
    labelNames: ['method', 'error'] as const,
    registers: [registry],
  });

  const graphNotifications = new Counter({
    name: 'aad_sync_graph_notifications_total',
    help: 'Graph change and lifecycle notifications received: accepted, or ignored and why.',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });

  return {
    registry,
    syncDuration,
    runs,
    profiles: profilesGauge,
    graphRequests,
    slackApiErrors,
    graphNotifications,
    observeRun(run) {
      syncDuration.observe({ mode: run.mode, status: run.status }, run.durationMs / 1000);
      runs.inc({ status: run.status, trigger: run.trigger });
    },
  };
}

/** The `countProfiles` callback for a real database: one scan of `profiles` (cached by createMetrics). */
export function profileCounter(db: Db): () => Promise<ProfileCounts> {
  return async () => {
    const [row] = await db
      .select({
        active: raw<number>`count(*) filter (where ${profiles.active})`.mapWith(Number),
        removed: raw<number>`count(*) filter (where not ${profiles.active})`.mapWith(Number),
      })
      .from(profiles);
    return { active: row.active, removed: row.removed };
  };
}

/**
 * GET /metrics. With `token`, only `Authorization: Bearer <token>` gets an answer (compared in constant
 * time); anyone else gets 401 and nothing about the tenant (its size is in the profile gauge).
 */
export function metricsHandler(metrics: Metrics, token?: string) {
  const expected = token ? Buffer.from(`Bearer ${token}`) : undefined;
  return (req: IncomingMessage, res: ServerResponse) => {
    const given = Buffer.from(req.headers.authorization ?? '');
    if (expected && (given.length !== expected.length || !timingSafeEqual(given, expected))) {
      res.writeHead(401, { 'Content-Type': 'text/plain; charset=utf-8', 'WWW-Authenticate': 'Bearer' });
      res.end('/metrics needs the bearer token set in METRICS_TOKEN.\n');
      return;
    }
    metrics.registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'Content-Type': metrics.registry.contentType, 'Cache-Control': 'no-store' });
        res.end(text);
      },
      () => {
        res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('metrics collection failed\n');
      },
    );
  };
}

/** METRICS_PORT: a server that answers GET /metrics and nothing else, apart from the public port. */
export async function startMetricsServer(
  port: number,
  handler: ReturnType<typeof metricsHandler>,
): Promise<{ port: number; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && new URL(req.url ?? '/', 'http://local').pathname === '/metrics') handler(req, res);
    else res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, resolve);
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
