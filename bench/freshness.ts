import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { control } from '../src/demo/entra-changes.ts';
import { signInToGroupsStep } from '../src/demo/sign-in.ts';
import { accepted, responsesTo, viewIf } from '../src/demo/slack.ts';
import { ADMIN_CHANNEL, type DemoStack, MEMBER, startDemoStack } from '../src/demo/stack.ts';
import { Transcript } from '../src/demo/transcript.ts';
import { rerunUnlessTrusted } from '../src/demo/trust.ts';
import { waitFor } from '../src/demo/wait.ts';
import { Random } from '../src/emulators/entra/random.ts';
import { blockIds, callbackIds, optionValues } from '../src/slack/ids.ts';
import { percentile } from './percentile.ts';

/**
 * DESIGN §7 "freshness": how long a change made in Entra ID takes to be visible to `/whois` when nobody
 * presses Sync now. The real server (`startServer`, production settings: 3 s debounce) with its change
 * feed on, the Entra emulator POSTing Graph change notifications to it, Graph answering in 100 ms.
 *
 * 1. `changes` changes (new titles, new hires, departures) in bursts of `burst`, a burst every 2–8 s
 *    (some land while the previous burst's run is still going). Each is timed from the moment the
 *    emulator accepted it to the moment its profile row reads the new value (what `/whois` searches);
 *    one hire is then looked up with a real `/whois` as a check.
 * 2. A burst of `storm` notifications (every person changed `storm / users` times, as fast as the control
 *    API takes it); counted: the runs it caused (target ≤ 10) and that the last values arrived.
 * The process must trust the emulator's certificate (aad-sync bench arranges it).
 */

export interface FreshnessOptions {
  changes?: number;
  burst?: number;
  storm?: number;
  users?: number;
}

const TARGET_P95_MS = 15_000;
const TARGET_STORM_RUNS = 10;
const GRAPH_LATENCY_MS = 100;

interface Pending {
  id: string;
  sentAt: number;
  visible: (row: ProfileRow | undefined) => boolean;
}

interface ProfileRow {
  graph_id: string;
  job_title: string | null;
  active: boolean;
}

export async function runFreshnessBenchmark(options: FreshnessOptions = {}) {
  const changes = options.changes ?? 200;
  const burst = options.burst ?? 20;
  const storm = options.storm ?? 10_000;
  const users = options.users ?? 2000;
  const silent = new Writable({ write: (_chunk, _encoding, done) => done() });
  const stack = await startDemoStack({ tenant: { users, groups: 40, latencyMs: GRAPH_LATENCY_MS } });
  let peakRss = process.memoryUsage().rss;
  try {
    const sourceId = await enableEveryone(stack, new Transcript(silent, { color: false }));
    await waitFor(
      async () =>
        (await stack.sql`select 1 from graph_subscriptions where source_id = ${sourceId} and status = 'active'`)
          .length > 0,
      'the Graph subscription on /users',
      60_000,
    );

    // 1. Changes in bursts, timed one by one.
    const people = await stack.sql<{ graph_id: string }[]>`
      select graph_id from profiles where source_id = ${sourceId} and active order by graph_id`;
    const random = new Random('freshness'); // the same pauses on every run
    const pending: Pending[] = [];
    const delays: number[] = [];
    let nextPerson = 0;
    let hired = '';
    const started = performance.now();
    for (let b = 0; b * burst < changes; b++) {
      const n = Math.min(burst, changes - b * burst);
      const edits: Record<string, unknown>[] = [];
      const leaving: string[] = [];
      const expect: Omit<Pending, 'sentAt'>[] = [];
      for (let i = 0; i < n; i++) {
        const kind = i % 10;
        if (kind === 0) {
          const id = crypto.randomUUID();
          const local = `fresh.hire.${b}.${i}`;
          hired = `Hire${b}x${i} Fresh`;
          edits.push({
            id,
            displayName: hired,
            givenName: `Hire${b}x${i}`,
            surname: 'Fresh',
            mail: `${local}@contoso.com`,
            userPrincipalName: `${local}@contoso.com`,
            jobTitle: 'New hire',
            accountEnabled: true,
          });
          expect.push({ id, visible: (row) => row?.active === true });
        } else if (kind === 5) {
          const id = people[nextPerson++].graph_id;
          leaving.push(id);
          expect.push({ id, visible: (row) => row?.active === false });
        } else {
          const id = people[nextPerson++].graph_id;
          const title = `Title ${b}.${i}`;
          edits.push({ id, jobTitle: title });
          expect.push({ id, visible: (row) => row?.job_title === title });
        }
      }
      const burstAt = performance.now();
      await control(stack, 'POST', 'users', edits);
      const editedAt = performance.now();
      for (const id of leaving) await control(stack, 'DELETE', `users/${id}`);
      const leftAt = performance.now();
      for (const e of expect) pending.push({ ...e, sentAt: leaving.includes(e.id) ? leftAt : editedAt });
      // The next burst 2–8 s after this one started, whatever the app is doing.
      const until = burstAt + 2000 + random.next() * 6000;
      while (performance.now() < until) {
        await collect(stack, sourceId, pending, delays);
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
        await sleep(25);
      }
    }
    const giveUpAt = performance.now() + 120_000;
    while (pending.length > 0 && performance.now() < giveUpAt) {
      await collect(stack, sourceId, pending, delays);
      await sleep(25);
    }
    const changesMs = performance.now() - started;
    const lost = pending.length;
    const whoisShows = await whoisFinds(stack, hired, 'New hire');

    // 2. The storm: every person changed until `storm` notifications went out; then count the runs.
    await quiet(stack, sourceId);
    const runsBefore = await notificationRuns(stack, sourceId);
    const deliveredBefore = await delivered(stack);
    const everyone = (
      await stack.sql<{ graph_id: string }[]>`
      select graph_id from profiles where source_id = ${sourceId} and active`
    ).map((r) => r.graph_id);
    const rounds = Math.ceil(storm / everyone.length);
    const stormStarted = performance.now();
    let sent = 0;
    for (let r = 0; r < rounds && sent < storm; r++) {
      const batch = everyone.slice(0, storm - sent).map((id) => ({ id, jobTitle: `Storm ${r}` }));
      await control(stack, 'POST', 'users', batch);
      sent += batch.length;
    }
    const last = `Storm ${rounds - 1}`;
    await waitFor(
      async () => {
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
        const [{ n }] = await stack.sql<{ n: number }[]>`
          select count(*)::int as n from profiles where source_id = ${sourceId} and active and job_title = ${last}`;
        return n === Math.min(everyone.length, storm - (rounds - 1) * everyone.length) || null;
      },
      'the storm’s last values',
      300_000,
    );
    const stormVisibleMs = performance.now() - stormStarted;
    await quiet(stack, sourceId);
    const stormRuns = (await notificationRuns(stack, sourceId)) - runsBefore;
    const stormDelivered = (await delivered(stack)) - deliveredBefore;

    const sorted = [...delays].sort((a, b) => a - b);
    const p95 = Math.round(percentile(sorted, 95));
    return {
      name: 'freshness',
      users,
      changes,
      burst,
      graph_latency_ms: GRAPH_LATENCY_MS,
      debounce_ms: 3000,
      wall_ms: Math.round(changesMs + stormVisibleMs),
      peak_rss_mb: Math.round(peakRss / 1024 / 1024),
      rss_note: 'the whole process: server, both emulators and the signed client',
      graph_requests: null,
      rows_written: null,
      p50_ms: Math.round(percentile(sorted, 50)),
      p95_ms: p95,
      max_ms: Math.round(sorted[sorted.length - 1] ?? 0),
      changes_never_visible: lost,
      whois_shows_last_hire: whoisShows,
      storm_notifications: stormDelivered,
      storm_runs: stormRuns,
      storm_visible_ms: Math.round(stormVisibleMs),
      target: `change → visible to /whois p95 ≤ ${TARGET_P95_MS / 1000} s over ${changes} changes in bursts; a burst of ${storm} notifications → ≤ ${TARGET_STORM_RUNS} runs`,
      ok:
        lost === 0 &&
        whoisShows &&
        p95 <= TARGET_P95_MS &&
        stormDelivered >= storm &&
        stormRuns >= 1 &&
        stormRuns <= TARGET_STORM_RUNS,
    };
  } finally {
    await stack.stop();
  }
}

/** The wizard as an admin goes through it: no groups (everyone), defaults, hourly sync on, Enable. */
async function enableEveryone(stack: DemoStack, t: Transcript): Promise<string> {
  const { client } = stack;
  const { modal, groupsStep } = await signInToGroupsStep(stack, t);
  accepted(await client.viewSubmission(groupsStep, { [blockIds.groups]: [] }), 'the groups step');
  const settings = await waitFor(() => viewIf(stack, modal.id, callbackIds.setupSettings), 'the settings step');
  accepted(
    await client.viewSubmission(settings, {
      [blockIds.adminChannel]: ADMIN_CHANNEL.id,
      [blockIds.options]: [optionValues.hourlySync],
    }),
    'the settings step',
  );
  const preview = await waitFor(() => {
    const view = viewIf(stack, modal.id, callbackIds.setupPreview);
    return view && JSON.stringify(view.blocks).includes('Will be imported') ? view : null;
  }, 'the preview');
  accepted(await client.viewSubmission(preview), 'Enable');
  return waitFor(
    async () => {
      const [run] = await stack.sql<{ source_id: string }[]>`
        select source_id from sync_runs where trigger = 'setup' and status = 'succeeded'`;
      return run?.source_id;
    },
    'the first sync',
    120_000,
  );
}

/** Moves every change whose row now reads its new value from `pending` to `delays`. */
async function collect(stack: DemoStack, sourceId: string, pending: Pending[], delays: number[]): Promise<void> {
  if (pending.length === 0) return;
  const rows = await stack.sql<ProfileRow[]>`
    select graph_id, job_title, active from profiles
    where source_id = ${sourceId} and graph_id in ${stack.sql(pending.map((p) => p.id))}`;
  const seenAt = performance.now();
  const byId = new Map(rows.map((r) => [r.graph_id, r]));
  for (let i = pending.length - 1; i >= 0; i--) {
    if (!pending[i].visible(byId.get(pending[i].id))) continue;
    delays.push(seenAt - pending[i].sentAt);
    pending.splice(i, 1);
  }
}

/** A real `/whois` by a member who is not an admin finds `name` with `title`. */
async function whoisFinds(stack: DemoStack, name: string, title: string): Promise<boolean> {
  const reply = accepted(
    await stack.client.command('/whois', name, { userId: MEMBER.id, channelId: 'C0GENERAL' }),
    `/whois ${name}`,
  );
  const text = JSON.stringify(responsesTo(stack, reply.responseUrl));
  return text.includes(name) && text.includes(title);
}

/** No run going and none started for 5 s (longer than the debounce): the feed has caught up. */
async function quiet(stack: DemoStack, sourceId: string): Promise<void> {
  let calmSince = performance.now();
  let seen = -1;
  await waitFor(
    async () => {
      const [{ n, running }] = await stack.sql<{ n: number; running: number }[]>`
        select count(*)::int as n, count(*) filter (where status = 'running')::int as running
        from sync_runs where source_id = ${sourceId}`;
      if (n !== seen || running > 0) {
        seen = n;
        calmSince = performance.now();
      }
      return performance.now() - calmSince > 5_000;
    },
    'the change feed to settle',
    300_000,
  );
}

async function notificationRuns(stack: DemoStack, sourceId: string): Promise<number> {
  const [{ n }] = await stack.sql<{ n: number }[]>`
    select count(*)::int as n from sync_runs where source_id = ${sourceId} and trigger = 'notification'`;
  return n;
}

/** Notifications the emulator delivered (POSTs answered 2xx), over every subscription. */
async function delivered(stack: DemoStack): Promise<number> {
  const response = await fetch(`${stack.entra.graphBaseUrl}/_emulator/subscriptions`);
  const body = (await response.json()) as { delivery?: { delivered?: number } };
  return body.delivery?.delivered ?? 0;
}

// `npx tsx bench/freshness.ts [--changes N] [--storm N]`: this line alone (npm run bench runs every line).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rerunCode = await rerunUnlessTrusted();
  if (rerunCode !== null) process.exit(rerunCode);
  const { values } = parseArgs({ options: { changes: { type: 'string' }, storm: { type: 'string' } } });
  const line = await runFreshnessBenchmark({
    changes: values.changes ? Number(values.changes) : undefined,
    storm: values.storm ? Number(values.storm) : undefined,
  });
  process.stdout.write(`${JSON.stringify(line)}\n`);
}
