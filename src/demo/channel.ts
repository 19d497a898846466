import type { RecordedCall } from '../emulators/slack/index.ts';
import { renderMessage } from './render.ts';
import type { DemoStack } from './stack.ts';
import type { Transcript } from './transcript.ts';
import { waitFor } from './wait.ts';

/**
 * Prints what the app posts to a channel, as it happens: a new message in full, a progress update as its
 * one-line text, the final summary in full.
 */
export function followChannel(stack: DemoStack, t: Transcript, channel: { id: string; name: string }) {
  let seen = 0;
  let summaries = 0;
  const posts = () =>
    stack.slack
      .calls()
      .filter((c) => ['chat.postMessage', 'chat.update'].includes(c.method) && c.answer.ok === true)
      .filter((c) => c.args.channel === channel.id || c.answer.channel === channel.id);
  const shown = new Map<string, string[]>();
  const show = (call: RecordedCall) => {
    const message = call.args as { text?: string; blocks?: unknown[]; ts?: string };
    const ts = String(message.ts ?? call.answer.ts ?? '');
    const lines = renderMessage(message, t.style).split('\n');
    const before = shown.get(ts);
    shown.set(ts, lines);
    const progress = message.text?.startsWith('Syncing from Entra ID') ?? false;
    if (call.method === 'chat.update' && progress && before) {
      // A progress tick: only what changed, on one line.
      const changed = lines.filter((l) => !before.includes(l)).map((l) => l.replace(/^┃ ?/, ''));
      if (changed.length > 0) t.note(`↻ ${changed.filter(Boolean).join(' · ')}`);
    } else {
      t.line(`  In #${channel.name}${call.method === 'chat.update' ? ', the message is updated:' : ':'}`);
      t.message(message);
    }
    if (/^Sync (finished|failed|held)/.test(message.text ?? '')) summaries += 1;
  };
  function flush() {
    const all = posts();
    for (const call of all.slice(seen)) show(call);
    seen = all.length;
  }
  return {
    flush,
    /** Summaries shown so far (after printing whatever is new). */
    summaries: () => {
      flush();
      return summaries;
    },
  };
}

export type ChannelFollower = ReturnType<typeof followChannel>;

/** Starts a sync with `start` and prints the admin channel until its summary is there. */
export async function watchRun(channel: ChannelFollower, start: () => Promise<unknown>): Promise<void> {
  const before = channel.summaries();
  await start();
  await waitFor(() => channel.summaries() > before, 'the sync summary in the admin channel', 60_000);
}
