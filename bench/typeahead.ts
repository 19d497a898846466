import { Writable } from 'node:stream';
import { signInToGroupsStep } from '../src/demo/sign-in.ts';
import { startDemoStack } from '../src/demo/stack.ts';
import { Transcript } from '../src/demo/transcript.ts';
import { actionIds } from '../src/slack/ids.ts';
import { percentile } from './percentile.ts';
import { graphRequests, sum } from './sync.ts';

/**
 * The group type-ahead of DESIGN §7: the wizard's Groups step open in the real server (as the demo gets
 * there: `/aad setup`, then the sign-in), Graph answering after 50 ms, and `loads` signed
 * `block_suggestion` requests sent one after another, as an admin typing would. Each is timed from
 * sending to the app's answer (the ack that carries the options, which Slack waits at most 3 s for).
 * The process must trust the emulator's certificate (aad-sync bench arranges it).
 */

export interface TypeaheadOptions {
  loads?: number;
  groups?: number;
  latencyMs?: number;
}

const round = (ms: number) => Math.round(ms * 10) / 10;

/** What an admin types: the start of group names, one to six letters, lower case. */
function queries(names: string[], count: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const name = names[(i * 7) % names.length];
    return name.slice(0, 1 + (i % 6)).toLowerCase();
  });
}

export async function runTypeaheadBenchmark(options: TypeaheadOptions = {}) {
  const loads = options.loads ?? 80;
  const latencyMs = options.latencyMs ?? 50;
  const silent = new Writable({ write: (_chunk, _encoding, done) => done() });
  const stack = await startDemoStack({ tenant: { users: 2000, groups: options.groups ?? 400, latencyMs } });
  try {
    const { groupsStep } = await signInToGroupsStep(stack, new Transcript(silent, { color: false }));
    const names = [...stack.entra.tenant.groups.values()].map((g) => g.displayName);
    const graphBefore = sum(graphRequests(stack.entra));
    const timings: number[] = [];
    let empty = 0;
    let peakRss = process.memoryUsage().rss;
    const started = performance.now();
    for (const text of queries(names, loads)) {
      const t0 = performance.now();
      const reply = await stack.client.optionsLoad(actionIds.groupsSelect, text, groupsStep);
      timings.push(performance.now() - t0);
      if (reply.status !== 200) throw new Error(`the options load for "${text}" answered ${reply.status}`);
      const options = (reply.body as { options?: unknown[] }).options ?? [];
      if (options.length === 0) empty += 1;
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }
    const wallMs = performance.now() - started;
    const graphAfter = sum(graphRequests(stack.entra));
    const sorted = [...timings].sort((a, b) => a - b);
    const p95 = round(percentile(sorted, 95));
    return {
      name: 'group_typeahead',
      users: stack.entra.tenant.users.size,
      groups: names.length,
      loads,
      graph_latency_ms: latencyMs,
      wall_ms: Math.round(wallMs),
      peak_rss_mb: Math.round(peakRss / 1024 / 1024),
      rss_note: 'the whole process: server, both emulators and the signed client',
      graph_requests: graphAfter - graphBefore,
      rows_written: null,
      p50_ms: round(percentile(sorted, 50)),
      p95_ms: p95,
      max_ms: round(sorted[sorted.length - 1]),
      answers_without_options: empty,
      target: `ack p95 ≤ 500 ms with ${latencyMs} ms Graph latency`,
      ok: p95 <= 500,
    };
  } finally {
    await stack.stop();
  }
}
