import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type SlackEmulator, startSlackEmulator } from '../../src/emulators/slack/index.ts';
import { createLogger } from '../../src/logger.ts';
import type { RunProgress } from '../../src/services/model.ts';
import { ChannelAccessError } from '../../src/slack/channel-post.ts';
import {
  channelSink,
  createProgressReporter,
  RESPONSE_URL_USES,
  responseUrlSink,
} from '../../src/slack/progress-reporter.ts';
import { run, T0 } from './fixtures.ts';
import { webClientFor } from './harness.ts';

let emulator: SlackEmulator;
let web: ReturnType<typeof webClientFor>;
const logger = createLogger({ level: 'silent' });

beforeAll(async () => {
  emulator = await startSlackEmulator();
  web = webClientFor(emulator);
});
afterAll(() => emulator?.close());
beforeEach(() => emulator.reset());

const step = (read: number): RunProgress => ({
  runId: 41,
  mode: 'full',
  trigger: 'manual',
  requestedBy: 'U0ADMIN',
  startedAt: T0,
  phase: 'reading',
  read,
  written: 0,
  total: 2000,
  photos: 0,
});

/** A reporter on a fake clock; `tick` moves time on, feeds one progress report and waits for its update. */
function harness(channel = 'C0ADMINS') {
  let now = 0;
  const slept: number[] = [];
  const sink = channelSink(web, channel);
  const reporter = createProgressReporter({
    sink,
    logger,
    minIntervalMs: 3000,
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
    },
  });
  const tick = async (ms: number, read: number) => {
    now += ms;
    reporter.progress(step(read));
    await reporter.settled();
  };
  return { reporter, sink, tick, slept };
}

describe('progress message in a channel', () => {
  it('posts once (joining the public channel), updates at most every few seconds, and ends with the summary', async () => {
    const { reporter, sink, tick } = harness();
    await reporter.start(step(0));
    expect(emulator.calls('conversations.join')).toHaveLength(1);
    for (const [ms, read] of [
      [1000, 100],
      [1000, 200],
      [1500, 300],
      [500, 400],
      [2499, 500],
      [1, 600],
    ]) {
      await tick(ms, read);
    }
    expect(emulator.calls('chat.update').map((c) => c.args.text)).toEqual([
      'Syncing from Entra ID: 300 of 2,000 people read, 0 written',
      'Syncing from Entra ID: 600 of 2,000 people read, 0 written',
    ]);
    reporter.finished(run());
    await reporter.settled();
    reporter.progress(step(2000));
    await reporter.settled();
    const messages = emulator.messagesIn('C0ADMINS');
    expect(messages).toHaveLength(1);
    expect(messages[0].text).toMatch(/^Sync finished/);
    expect(sink.where()).toEqual({ channel: 'C0ADMINS', ts: messages[0].ts });
    expect(emulator.calls('chat.update')).toHaveLength(3);
  });

  it('skips updates while Slack says to wait, then carries on', async () => {
    const { reporter, tick } = harness();
    await reporter.start(step(0));
    emulator.rateLimit('chat.update', { times: 1, retryAfterSeconds: 10 });
    await tick(3000, 100);
    await tick(3000, 200);
    await tick(3000, 300);
    expect(emulator.calls('chat.update').map((c) => c.status)).toEqual([429]);
    await tick(4001, 400);
    expect(emulator.calls('chat.update').map((c) => c.status)).toEqual([429, 200]);
    expect(emulator.messagesIn('C0ADMINS')[0].text).toContain('400 of 2,000');
  });

  it('waits out a 429 for the summary so the last word lands', async () => {
    const { reporter, slept } = harness();
    await reporter.start(step(0));
    emulator.rateLimit('chat.update', { times: 2, retryAfterSeconds: 2 });
    reporter.finished(
      run({ status: 'failed', errorCode: 'graph_unavailable', errorMessage: 'Graph kept answering 503.' }),
    );
    await reporter.settled();
    expect(slept).toEqual([2000, 2000]);
    expect(emulator.messagesIn('C0ADMINS')[0].text).toBe('Sync failed: Graph kept answering 503.');
  });

  it('gives up on the summary after a few refusals without throwing', async () => {
    const { reporter, slept } = harness();
    await reporter.start(step(0));
    emulator.rateLimit('chat.update', { times: 10, retryAfterSeconds: 1 });
    reporter.finished(run());
    await expect(reporter.settled()).resolves.toBeUndefined();
    expect(slept).toHaveLength(2);
    expect(emulator.messagesIn('C0ADMINS')[0].text).toMatch(/^Syncing/);
  });

  it('keeps going when one update fails for another reason', async () => {
    const { reporter, tick } = harness();
    await reporter.start(step(0));
    emulator.failNext('chat.update', 'internal_error');
    await tick(3000, 100);
    await tick(3000, 200);
    expect(emulator.calls('chat.update').map((c) => c.answer.ok)).toEqual([false, true]);
  });

  it('ends with the summary when the run finishes while the first message is still being posted', async () => {
    const { reporter } = harness();
    const starting = reporter.start(step(0));
    reporter.finished(run());
    await starting;
    await reporter.settled();
    const messages = emulator.messagesIn('C0ADMINS');
    expect(messages).toHaveLength(1);
    expect(messages[0].text).toMatch(/^Sync finished/);
  });

  it('shows only the summary when the run finished before start was called', async () => {
    const { reporter } = harness();
    reporter.finished(run());
    await reporter.start(step(0));
    await reporter.settled();
    const messages = emulator.messagesIn('C0ADMINS');
    expect(messages).toHaveLength(1);
    expect(messages[0].text).toMatch(/^Sync finished/);
    expect(emulator.calls('chat.update')).toHaveLength(0);
  });

  it('refuses to start in a private channel the app was not invited to', async () => {
    const { reporter } = harness('G0PRIVATE');
    await expect(reporter.start(step(0))).rejects.toBeInstanceOf(ChannelAccessError);
  });
});

describe('progress through the command’s response URL', () => {
  it('replaces the ephemeral reply and keeps the last of its five uses for the summary', async () => {
    const url = emulator.issueResponseUrl({ userId: 'U0ADMIN', channel: 'C0GENERAL' });
    const respond = async (payload: object) => {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(payload),
      });
      if (!res.ok) throw new Error(`response_url answered ${res.status}`);
    };
    let now = 0;
    const reporter = createProgressReporter({
      sink: responseUrlSink(respond),
      logger,
      minIntervalMs: 1000,
      now: () => now,
    });
    await reporter.start(step(0));
    for (let i = 1; i <= 10; i++) {
      now += 1000;
      reporter.progress(step(i * 100));
      await reporter.settled();
    }
    reporter.finished(run());
    await reporter.settled();
    const bodies = emulator.responses().map((r) => r.body);
    expect(bodies).toHaveLength(RESPONSE_URL_USES);
    expect(bodies.map((b) => b.replace_original)).toEqual([false, true, true, true, true]);
    expect(String(bodies[4].text)).toMatch(/^Sync finished/);
  });
});
