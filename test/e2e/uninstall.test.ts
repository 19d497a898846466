import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncDepsFromConfig } from '../../src/sync/compose.ts';
import { runSync } from '../../src/sync/engine.ts';
import { METRICS_TOKEN, setUpSource } from '../helpers/app.ts';
import { type InstallFixture, startInstallFixture } from '../helpers/installs.ts';
import { recordingLogger } from '../helpers/logs.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * Uninstall through the real server with change notifications on: Slack's `tokens_revoked` + `app_uninstalled`
 * delete the installation's Graph subscriptions in Graph (the emulator) and in our table, after which their
 * notifications are refused; a sync running at that moment is cancelled before anything is deleted, on this
 * replica at once and in another process at its next heartbeat, and nothing of it is applied; other
 * installations carry on.
 */

const ALPHA = { team: 'T0ALPHA', admin: 'U0ALPHAADM', channel: 'C0ALPHA' };
const BETA = { team: 'T0BETA', admin: 'U0BETAADM', channel: 'C0BETA' };
const ORG = { team: 'E0GRID', admin: 'W0ORGADM', channel: 'C0GRID2', member: 'W0MEMBER2' };

let f: InstallFixture;
const sourceOf: Record<string, string> = {};

interface EmulatedSubscription {
  id: string;
  clientState: string;
}

async function emulatorSubscriptions(): Promise<EmulatedSubscription[]> {
  return ((await f.entra.control('GET', 'subscriptions')).body as { subscriptions: EmulatedSubscription[] })
    .subscriptions;
}

async function subscriptionIds(sourceId: string): Promise<string[]> {
  const rows = await f.db.sql<{ subscription_id: string }[]>`
    select subscription_id from graph_subscriptions where source_id = ${sourceId} and status = 'active'`;
  return rows.map((r) => r.subscription_id);
}

async function notificationCount(outcome: string): Promise<number> {
  const text = await (
    await fetch(`${f.publicUrl}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
  ).text();
  const line = text.split('\n').find((l) => l.startsWith(`aad_sync_graph_notifications_total{outcome="${outcome}"}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

/** Index of the first log line matching every pattern; -1 when none does. */
const logIndex = (...patterns: RegExp[]) => f.logs.findIndex((l) => patterns.every((p) => p.test(l)));

const running = async (sourceId: string) =>
  (await f.db.sql`select id from sync_runs where source_id = ${sourceId} and status = 'running'`).length > 0;

async function uninstalled(team: string) {
  const replies = await f.client.uninstall(team);
  expect(replies.map((r) => r.status)).toEqual([200, 200]);
  const audit = await waitFor(() => f.logs.find((l) => l.includes('slack_uninstall') && l.includes(team)), {
    what: `${team}'s uninstall`,
    timeoutMs: 20_000,
  });
  return JSON.parse(audit) as Record<string, unknown>;
}

beforeAll(async () => {
  f = await startInstallFixture({
    server: { changeFeed: { debounceMs: 300, upkeepEveryMs: 300, retryAfterMs: 500 } },
  });
  for (const [team, admin, channel] of [
    [ALPHA.team, ALPHA.admin, ALPHA.channel],
    [BETA.team, BETA.admin, BETA.channel],
    [ORG.team, ORG.admin, ORG.channel],
  ]) {
    expect((await f.install(team, admin)).status).toBe(200);
    sourceOf[team] = await setUpSource(f, { admin, adminChannel: channel, installation: team, autoSync: true });
  }
  for (const team of [ALPHA.team, BETA.team, ORG.team])
    await waitFor(async () => (await subscriptionIds(sourceOf[team])).length === 1, {
      what: `${team}'s subscription`,
      timeoutMs: 20_000,
    });
}, 180_000);
afterAll(() => f?.stop());

describe('uninstall and Graph change notifications', () => {
  it('deletes the installation’s subscriptions in Graph and refuses their notifications from then on', async () => {
    const [betaId] = await subscriptionIds(sourceOf[BETA.team]);
    const others = [...(await subscriptionIds(sourceOf[ALPHA.team])), ...(await subscriptionIds(sourceOf[ORG.team]))];
    const beta = (await emulatorSubscriptions()).find((s) => s.id === betaId)!;
    expect(beta).toBeDefined();
    // This replica has the subscription cached as known: a notification is accepted before the uninstall.
    const notify = () =>
      fetch(`${f.publicUrl}/graph/notifications`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          value: [
            {
              subscriptionId: beta.id,
              clientState: beta.clientState,
              changeType: 'updated',
              resource: 'Users/x',
              tenantId: f.entra.emulator.tenantId,
            },
          ],
        }),
      });
    const acceptedBefore = await notificationCount('accepted');
    expect((await notify()).status).toBe(202);
    await waitFor(async () => (await notificationCount('accepted')) === acceptedBefore + 1, { what: 'accepted' });
    // It asked for a delta run (after the debounce): let that end, so no run is going on at the uninstall.
    await waitFor(
      async () =>
        (
          await f.db.sql`select 1 from sync_runs where source_id = ${sourceOf[BETA.team]} and trigger = 'notification'
            and status <> 'running'`
        ).length === 1,
      { what: 'the run the notification asked for', timeoutMs: 20_000 },
    );

    const audit = await uninstalled(BETA.team);
    expect(audit).toMatchObject({ tokens: true, sources: 1, cancelledRuns: 0 });
    expect((await emulatorSubscriptions()).map((s) => s.id).sort()).toEqual([...others].sort());
    expect(await f.db.sql`select 1 from graph_subscriptions where subscription_id = ${betaId}`).toEqual([]);

    // Graph (or anyone who learnt its secret) posting for it now: answered 202 as Graph expects, then refused.
    const [accepted, unknown] = [await notificationCount('accepted'), await notificationCount('unknown_subscription')];
    expect((await notify()).status).toBe(202);
    await waitFor(async () => (await notificationCount('unknown_subscription')) === unknown + 1, {
      what: 'the notification refused',
    });
    expect(await notificationCount('accepted')).toBe(accepted);
    // Several upkeeps later, nothing was made again for the gone source.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect((await emulatorSubscriptions()).map((s) => s.id).sort()).toEqual([...others].sort());
  });
});

describe('a sync running at the moment of uninstall', () => {
  it('is cancelled first on this replica, nothing of it applied, then everything is deleted', async () => {
    const sourceId = sourceOf[ALPHA.team];
    // Graph slows down so the run is surely still reading when Slack's events arrive.
    await f.entra.control('POST', 'faults', { latencyMs: 1_500 });
    try {
      await f.client.command('/aad', 'sync', { userId: ALPHA.admin, channelId: ALPHA.channel });
      await waitFor(() => running(sourceId), { what: 'the run in progress' });
      const audit = await uninstalled(ALPHA.team);
      expect(audit).toMatchObject({ tokens: true, sources: 1, cancelledRuns: 1 });
      // The run ended as cancelled (nothing applied) before the delete, not failed by it afterwards.
      const cancelled = logIndex(/"code":"cancelled"/, /sync cancelled/);
      expect(cancelled).toBeGreaterThanOrEqual(0);
      expect(cancelled).toBeLessThan(logIndex(/slack_uninstall/, new RegExp(ALPHA.team)));
    } finally {
      await f.entra.control('POST', 'faults', { latencyMs: 0 });
    }
    expect(await f.db.sql`select 1 from sources where id = ${sourceId}`).toEqual([]);
    expect(await f.db.sql`select 1 from profiles where source_id = ${sourceId}`).toEqual([]);
    expect(await f.db.sql`select 1 from graph_subscriptions where source_id = ${sourceId}`).toEqual([]);
    // No crash and no unexpected failure: errors and fatals are pino levels 50 and 60.
    expect(f.logs.filter((l) => /"level":(50|60)/.test(l))).toEqual([]);
    // The org, untouched, still answers /whois and syncs.
    const [someone] = await f.db.sql<{ email: string }[]>`
      select email from profiles where source_id = ${sourceOf[ORG.team]} and active limit 1`;
    const reply = await f.client.command('/whois', someone.email, { userId: ORG.member });
    expect(reply.status).toBe(200);
  });

  it('in another process stops at its next heartbeat and applies nothing', async () => {
    const sourceId = sourceOf[ORG.team];
    const { logger, lines } = recordingLogger();
    // The CLI's `aad-sync sync` (or another replica) on the same database.
    const deps = { ...syncDepsFromConfig(f.config, f.db, logger), timing: { heartbeatMs: 200 } };
    // A page of people is slow (100 ms each), deleting the subscription is not: the delete lands mid-read.
    await f.entra.control('POST', 'faults', { latencyPerItemMs: 100 });
    try {
      const outcome = runSync(deps, { sourceId, trigger: 'cli', mode: 'full' });
      await waitFor(() => running(sourceId), { what: 'the run in progress' });
      const audit = await uninstalled(ORG.team);
      // Not this replica's run: nothing to cancel here; the delete takes its record away.
      expect(audit).toMatchObject({ tokens: true, sources: 1, cancelledRuns: 0 });
      expect(await outcome).toMatchObject({ status: 'failed', errorCode: 'stale' });
    } finally {
      await f.entra.control('POST', 'faults', { latencyPerItemMs: 0 });
    }
    expect(await f.db.sql`select 1 from profiles where source_id = ${sourceId}`).toEqual([]);
    expect(await f.db.sql`select 1 from sync_runs where source_id = ${sourceId}`).toEqual([]);
    expect(lines.filter((l) => /"level":(50|60)/.test(l))).toEqual([]);
    expect(f.logs.filter((l) => /"level":(50|60)/.test(l))).toEqual([]);
  });
});
