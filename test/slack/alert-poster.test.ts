import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type SlackEmulator, startSlackEmulator } from '../../src/emulators/slack/index.ts';
import { createLogger } from '../../src/logger.ts';
import type { AlertRef } from '../../src/services/alerts.ts';
import type { AlertData } from '../../src/services/model.ts';
import { createAlertPoster } from '../../src/slack/alert-poster.ts';
import { actionIds } from '../../src/slack/ids.ts';
import { minutes, run, T0 } from './fixtures.ts';
import { webClientFor } from './harness.ts';

let emulator: SlackEmulator;
let poster: ReturnType<typeof createAlertPoster>;

beforeAll(async () => {
  emulator = await startSlackEmulator();
  const web = webClientFor(emulator);
  poster = createAlertPoster({ client: web, logger: createLogger({ level: 'silent' }) });
});
afterAll(() => emulator?.close());
beforeEach(() => emulator.reset());

const alert: AlertData = {
  sourceId: 's-1',
  code: 'reauth_required',
  message: 'AADSTS50173: the grant was revoked',
  count: 1,
  firstAt: T0,
  lastAt: T0,
};

const actionIdsOf = (blocks: unknown[]) =>
  (blocks as { type: string; elements?: { action_id?: string }[] }[])
    .filter((b) => b.type === 'actions')
    .flatMap((b) => b.elements!.map((e) => e.action_id));

describe('alert poster', () => {
  it('posts the first failure of a streak, joining the public channel, then updates it instead of reposting', async () => {
    const first = await poster.show('C0ADMINS', alert, null, ['U0ADMIN']);
    expect(first).toMatchObject({ ok: true, posted: 'new' });
    const ref = (first as { ref: AlertRef }).ref;
    const second = await poster.show('C0ADMINS', { ...alert, count: 2, lastAt: minutes(60) }, ref, ['U0ADMIN']);
    expect(second).toEqual({ ok: true, ref, posted: 'updated' });
    const messages = emulator.messagesIn('C0ADMINS');
    expect(messages).toHaveLength(1);
    expect(messages[0].text).toContain('(2 times)');
    expect(actionIdsOf(messages[0].blocks)).toEqual([actionIds.reauthorize]);
  });

  it('posts anew when the old alert is gone or the channel changed', async () => {
    const gone = await poster.show('C0ADMINS', alert, { channel: 'C0ADMINS', ts: '1.000001' }, []);
    expect(gone).toMatchObject({ ok: true, posted: 'new' });
    const ref = (gone as { ref: AlertRef }).ref;
    const moved = await poster.show('C0GENERAL', alert, ref, []);
    expect(moved).toMatchObject({ ok: true, posted: 'new', ref: { channel: 'C0GENERAL' } });
  });

  it('tells the admins by direct message when the channel is private and the app is not in it', async () => {
    const outcome = await poster.show('G0PRIVATE', alert, null, ['U0ADMIN', 'U0OWNER']);
    expect(outcome).toEqual({ ok: false, reason: 'no_channel_access', channel: 'G0PRIVATE' });
    expect(emulator.calls('conversations.join').map((c) => c.answer.error)).toEqual([
      'method_not_supported_for_channel_type',
    ]);
    for (const admin of ['U0ADMIN', 'U0OWNER']) {
      expect(emulator.messagesIn(admin)).toEqual([
        expect.objectContaining({ text: 'aad-sync cannot post alerts in the admin channel' }),
      ]);
    }
  });

  it('replies "recovered" in the thread and marks the alert resolved, without buttons', async () => {
    const shown = await poster.show('C0ADMINS', { ...alert, count: 3 }, null, []);
    const ref = (shown as { ref: AlertRef }).ref;
    await poster.recovered(ref, { ...alert, count: 3 }, { run: run(), failures: 3, since: T0 });
    const [original, reply] = emulator.messagesIn('C0ADMINS');
    expect(reply).toMatchObject({ threadTs: ref.ts, text: 'aad-sync recovered: the last sync succeeded' });
    expect(original.text).toContain('(resolved)');
    expect(actionIdsOf(original.blocks)).toEqual([]);
  });

  it('lets other Slack errors through', async () => {
    emulator.failNext('chat.postMessage', 'invalid_blocks');
    await expect(poster.show('C0ADMINS', alert, null, [])).rejects.toMatchObject({ data: { error: 'invalid_blocks' } });
  });
});
