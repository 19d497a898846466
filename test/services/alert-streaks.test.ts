import { webApi } from '@slack/bolt';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type SlackEmulator, startSlackEmulator } from '../../src/emulators/slack/index.ts';
import { createLogger } from '../../src/logger.ts';
import { createRunAlerts, type RunAlerts } from '../../src/services/alerts.ts';
import { createAlertPoster } from '../../src/slack/alert-poster.ts';
import type { ChatClient } from '../../src/slack/channel-post.ts';
import { actionIds, blockIds } from '../../src/slack/ids.ts';
import { SKIPPED_NEEDS_REAUTH } from '../../src/sync/runs.ts';
import { expectWithinSlackLimits } from '../helpers/app.ts';
import { startTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { sleep } from '../helpers/wait.ts';

/**
 * The alert streak rules of DESIGN §6 against real PostgreSQL rows and the Slack emulator, run by run:
 * which run posts, which updates, when an earlier alert is resolved and when "recovered" is replied.
 */

let db: TestDatabase;
let slack: SlackEmulator;
let client: webApi.WebClient;
let alerts: RunAlerts;
let sourceId: string;
const silent = createLogger({ level: 'silent' });

/** The alerts of one replica of the app; `client` is how it reaches Slack. */
const replica = (chat: ChatClient) =>
  createRunAlerts({
    db: db.db,
    posterFor: async () => createAlertPoster({ client: chat, logger: silent }),
    adminUsers: ['U0OWNER'],
    logger: silent,
  });

beforeAll(async () => {
  [db, slack] = await Promise.all([startTestDatabase(), startSlackEmulator()]);
  client = new webApi.WebClient(slack.botToken, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
  alerts = replica(client);
});
afterAll(async () => {
  await Promise.all([db?.stop(), slack?.close()]);
});
beforeEach(async () => {
  slack.reset();
  await db.sql`truncate sources cascade`;
  const [row] = await db.sql`
    insert into sources (slack_team_id, tenant_id, status, admin_channel, authorized_by_slack_user)
    values ('T0AADSYNC', 'tenant', 'active', 'C0ADMINS', 'U0ADMIN') returning id`;
  sourceId = row.id;
  await db.sql`insert into source_groups (source_id, group_id, display_name) values (${sourceId}, 'g-1', 'Sales')`;
});

type Ended = { status: 'succeeded' | 'failed' | 'held'; code?: string; message?: string; mode?: string };

/** Records a finished run, as the engine does. */
async function record({ status, code, message, mode = 'delta' }: Ended): Promise<number> {
  const details = status === 'held' ? { held: { removals: 40, active: 200, threshold: 0.1, sample: [] } } : {};
  const [row] = await db.sql`
    insert into sync_runs (source_id, trigger, mode, status, finished_at, error_code, error_message, details, read_count)
    values (${sourceId}, 'schedule', ${mode}, ${status}, now(), ${code ?? null}, ${message ?? null},
      ${db.sql.json(details)}, 200)
    returning id`;
  return Number(row.id);
}

/** Records a finished run and tells the alerts about it. */
async function run(ended: Ended): Promise<number> {
  const runId = await record(ended);
  await alerts.runEnded(sourceId, { runId });
  return runId;
}

const failure = (code: string, message = `failed: ${code}`): Ended => ({ status: 'failed', code, message });
const top = () => slack.messagesIn('C0ADMINS').filter((m) => !m.threadTs);
const thread = (ts: string) => slack.messagesIn('C0ADMINS').filter((m) => m.threadTs === ts);
const streak = async () =>
  (await db.sql`select alert_channel, alert_ts, alert_code, alert_count from sources where id = ${sourceId}`)[0];
const buttons = (blocks: unknown[]) =>
  (
    blocks.find((b) => (b as { block_id?: string }).block_id === blockIds.alertActions) as
      | { elements: { action_id: string }[] }
      | undefined
  )?.elements.map((e) => e.action_id) ?? [];

describe('one alert per failure streak', () => {
  it('posts the first failure, updates it for the next ones, and replies "recovered" when a run succeeds', async () => {
    await run(failure('graph_unavailable'));
    const [alert] = top();
    expect(alert.text).toBe('aad-sync: Microsoft Graph is not answering');
    expect(await streak()).toEqual({
      alert_channel: 'C0ADMINS',
      alert_ts: alert.ts,
      alert_code: 'graph_unavailable',
      alert_count: 1,
    });
    await run(failure('graph_unavailable'));
    await run(failure('graph_unavailable'));
    expect(top()).toHaveLength(1);
    expect(top()[0].text).toBe('aad-sync: Microsoft Graph is not answering (3 times)');
    expect(JSON.stringify(top()[0].blocks)).toContain('Failed 3 times since');

    await run({ status: 'succeeded' });
    expect(thread(alert.ts).map((m) => m.text)).toEqual(['aad-sync recovered: the last sync succeeded']);
    expect(JSON.stringify(thread(alert.ts)[0].blocks)).toContain('after 3 failed syncs');
    expect(top()[0].text).toBe('aad-sync: Microsoft Graph is not answering (resolved)');
    expect(buttons(top()[0].blocks)).toEqual([]);
    expect(await streak()).toEqual({ alert_channel: null, alert_ts: null, alert_code: null, alert_count: 0 });

    // Quiet when nothing was wrong.
    await run({ status: 'succeeded' });
    expect(slack.calls('chat.postMessage').filter((c) => c.answer.ok)).toHaveLength(2);
    expectWithinSlackLimits(slack);
  });

  it('resolves the earlier alert and posts a new one when the reason changes', async () => {
    await run(failure('graph_unavailable'));
    await run(
      failure('group_missing', 'The group "Sales" (g-1) no longer exists in Entra ID: edit the groups to sync.'),
    );
    const [first, second] = top();
    expect(first.text).toBe('aad-sync: Microsoft Graph is not answering (resolved)');
    expect(second.text).toBe('aad-sync: A selected group no longer exists: Sales');
    expect(buttons(second.blocks)).toEqual([actionIds.editGroups]);
    expect(await streak()).toMatchObject({ alert_ts: second.ts, alert_code: 'group_missing', alert_count: 1 });
    expectWithinSlackLimits(slack);
  });

  it('counts runs skipped for a lost sign-in in the reauthorization streak', async () => {
    await run(failure('reauth_required', 'Microsoft no longer accepts the sign-in.'));
    await run(failure(SKIPPED_NEEDS_REAUTH, 'Skipped: Microsoft authorization for this source was lost.'));
    expect(top()).toHaveLength(1);
    expect(top()[0].text).toBe('aad-sync: Entra ID sign-in expired: syncing has stopped (2 times)');
    expect(buttons(top()[0].blocks)).toEqual([actionIds.reauthorize]);

    await alerts.reauthorized(sourceId, 'U0ADMIN');
    expect(JSON.stringify(top()[0].blocks)).toContain('Resolved by <@U0ADMIN>');
    // Still open until a sync succeeds, which replies under it.
    expect(await streak()).toMatchObject({ alert_code: 'reauth_required' });
    await run({ status: 'succeeded' });
    expect(thread(top()[0].ts)).toHaveLength(1);
  });

  it('asks about held removals, and forgets the question once answered', async () => {
    const held = await run({ status: 'held' });
    expect(top()[0].text).toBe('aad-sync: Sync held: 40 people would be removed');
    expect(buttons(top()[0].blocks)).toEqual([actionIds.approveRemovals, actionIds.rejectRemovals]);
    await alerts.heldAnswered(sourceId, held, { kind: 'approved', by: 'U0ADMIN', at: new Date() });
    expect(top()[0].text).toBe('aad-sync: Sync held: 40 people would be removed (approved)');
    expect(await streak()).toMatchObject({ alert_ts: null, alert_code: null });
  });

  it('ignores previews, and reports a crash as a failure', async () => {
    await run({ status: 'failed', code: 'no_valid_people', message: 'nobody', mode: 'preview' });
    expect(top()).toEqual([]);
    await alerts.runEnded(sourceId, { crashed: new Error('the database went away') });
    expect(top()[0].text).toBe('aad-sync: Sync failed');
    expect(JSON.stringify(top()[0].blocks)).toContain('the database went away');
  });

  it('posts a new message when the alert was deleted meanwhile', async () => {
    await run(failure('graph_unavailable'));
    slack.failNext('chat.update', 'message_not_found');
    await run(failure('graph_unavailable'));
    expect(top()).toHaveLength(2);
    expect(await streak()).toMatchObject({ alert_ts: top()[1].ts, alert_count: 2 });
  });
});

describe('where the alert goes', () => {
  it('says nothing without an admin channel', async () => {
    await db.sql`update sources set admin_channel = null where id = ${sourceId}`;
    await run(failure('graph_unavailable'));
    expect(slack.calls('chat.postMessage')).toEqual([]);
    expect(await streak()).toMatchObject({ alert_code: null });
  });

  it('tells the admins once per streak when the channel is private and the app is not in it', async () => {
    await db.sql`update sources set admin_channel = 'G0PRIVATE' where id = ${sourceId}`;
    await run(failure('graph_unavailable'));
    await run(failure('graph_unavailable'));
    const told = slack.calls('chat.postMessage').filter((c) => c.answer.ok);
    expect(told.map((c) => c.args.channel).sort()).toEqual(['U0ADMIN', 'U0OWNER']);
    expect(await streak()).toMatchObject({ alert_channel: 'G0PRIVATE', alert_ts: null, alert_count: 2 });
  });
});

describe('two replicas', () => {
  it('post one alert when runs end on both at once: the second waits until the first has saved its message', async () => {
    // Replica A's post hangs in Slack until released: its message exists before the streak row says where.
    let release = () => {};
    const slackAnswers = new Promise<void>((resolve) => {
      release = resolve;
    });
    let posting = () => {};
    const posted = new Promise<void>((resolve) => {
      posting = resolve;
    });
    const slow: ChatClient = {
      conversations: client.conversations,
      chat: {
        ...client.chat,
        postMessage: async (args) => {
          posting();
          await slackAnswers;
          return client.chat.postMessage(args);
        },
      },
    };
    const first = await record(failure('graph_unavailable'));
    const onA = replica(slow).runEnded(sourceId, { runId: first });
    await posted;

    // Replica B: the next run (an admin's "Sync now") failed the same way.
    const second = await record(failure('graph_unavailable'));
    const onB = alerts.runEnded(sourceId, { runId: second });
    // Time for B to act on its own if nothing holds it back; with the lock it is still waiting.
    await Promise.race([onB, sleep(300)]);
    release();
    await Promise.all([onA, onB]);

    expect(top()).toHaveLength(1);
    expect(top()[0].text).toBe('aad-sync: Microsoft Graph is not answering (2 times)');
    expect(await streak()).toEqual({
      alert_channel: 'C0ADMINS',
      alert_ts: top()[0].ts,
      alert_code: 'graph_unavailable',
      alert_count: 2,
    });
  });
});
