import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { EmulatedMessage } from '../../src/emulators/slack/index.ts';
import { actionIds, blockIds, callbackIds } from '../../src/slack/ids.ts';
import {
  ADMIN,
  ADMIN_CHANNEL,
  type AppFixture,
  authorizeUrl,
  expectWithinSlackLimits,
  FAST,
  finishedRunBy,
  finishedRuns,
  setUpSource,
  signInThroughBrowser,
  sourceRow,
  startAppFixture,
  syncNowAndWait,
  viewText,
} from '../helpers/app.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * Admin-channel alerts through the real server, one streak after another on one source: a revoked
 * sign-in (one message for the whole streak, Reauthorize, "recovered"), a deleted group (Edit groups),
 * and removals held for approval (Reject keeps everyone, Approve applies them).
 */

let f: AppFixture;
let sourceId: string;

beforeAll(async () => {
  f = await startAppFixture({
    mode: 'delegated',
    seed: 'app-alerts',
    server: { schedulerOptions: { ...FAST.schedulerOptions, intervalMs: 1_500 } },
  });
  sourceId = await setUpSource(f, { autoSync: true });
});
afterAll(() => f?.stop());
beforeEach(() => f.slack.reset());

/** Alerts are the app's top-level messages in the admin channel that are not sync progress. */
const alerts = () => f.slack.messagesIn(ADMIN_CHANNEL).filter((m) => !m.threadTs && m.text.startsWith('aad-sync: '));
const repliesTo = (alert: EmulatedMessage) => f.slack.messagesIn(ADMIN_CHANNEL).filter((m) => m.threadTs === alert.ts);
const buttonsOf = (message: EmulatedMessage) => {
  const block = message.blocks.find((b) => (b as { block_id?: string }).block_id === blockIds.alertActions) as
    | { elements: { action_id: string; value?: string }[] }
    | undefined;
  return block?.elements ?? [];
};
const syncNow = () => syncNowAndWait(f, sourceId);

describe('a revoked sign-in', () => {
  it('posts one alert for the whole streak, and Reauthorize brings a sync and a "recovered" reply', async () => {
    await f.entra.control('POST', 'revoke', { immediate: true });
    const [alert] = await waitFor(() => (alerts().length > 0 ? alerts() : null), { what: 'the alert' });
    expect(alert.text).toBe('aad-sync: Entra ID sign-in expired: syncing has stopped');
    expect(buttonsOf(alert).map((b) => b.action_id)).toEqual([actionIds.reauthorize]);
    // It says when the authorization was lost: the first refusal, after the last sync that worked.
    expect(JSON.stringify(alert.blocks)).toMatch(
      /Microsoft stopped accepting the saved sign-in <!date\^\d+\^[^>]+>; the last sync that worked finished <!date\^\d+/,
    );
    // Where the message is becomes known only when Slack answers the post: the row follows it.
    const streak = await waitFor(
      async () => {
        const current = await sourceRow(f.db);
        return current.alert_ts === null ? null : current;
      },
      { what: 'the streak saved' },
    );
    expect(streak).toMatchObject({ status: 'needs_reauth', alert_code: 'reauth_required', alert_ts: alert.ts });

    // Three more scheduled runs fail (skipped: Entra is not even asked); the same message counts them.
    await waitFor(async () => (await sourceRow(f.db)).alert_count >= 4, { what: 'four failures', timeoutMs: 15_000 });
    expect(alerts()).toHaveLength(1);
    expect(alerts()[0].text).toMatch(/^aad-sync: Entra ID sign-in expired: syncing has stopped \([4-9] times\)$/);
    expect(f.slack.calls('chat.update').filter((c) => c.args.ts === alert.ts).length).toBeGreaterThanOrEqual(3);
    const posted = f.slack.calls('chat.postMessage').filter((c) => c.args.channel === ADMIN_CHANNEL && c.answer.ok);
    expect(posted).toHaveLength(1);

    // Reauthorize: a personal link in a modal, a new consent, the alert resolved, a sync, a reply in the thread.
    await f.client.blockAction({
      userId: ADMIN,
      actionId: actionIds.reauthorize,
      message: alerts()[0],
      value: sourceId,
    });
    const modal = f.slack.lastView()!;
    expect(modal.callback_id).toBe(callbackIds.reauthorize);
    const { page } = await signInThroughBrowser(authorizeUrl(modal));
    expect(page.status, page.text).toBe(200);
    expect(page.text).toContain('Connection restored');
    expect(viewText(f.slack.view(modal.id))).not.toContain('Sign in with Microsoft');

    const [recovered] = await waitFor(() => (repliesTo(alert).length > 0 ? repliesTo(alert) : null), {
      what: 'the recovered reply',
    });
    expect(recovered.text).toBe('aad-sync recovered: the last sync succeeded');
    expect(alerts()).toHaveLength(1);
    expect(alerts()[0].text).toMatch(/\(resolved\)$/);
    expect(JSON.stringify(alerts()[0].blocks)).toContain(`Resolved by <@${ADMIN}>`);
    expect(buttonsOf(alerts()[0])).toEqual([]);
    const row = await waitFor(
      async () => {
        const current = await sourceRow(f.db);
        return current.alert_ts === null ? current : null;
      },
      { what: 'the streak forgotten' },
    );
    expect(row).toMatchObject({ status: 'active', alert_code: null, alert_count: 0 });
    const [failedRun] = await f.db.sql`
      select id from sync_runs where source_id = ${sourceId} and error_code = 'reauth_required' order by id limit 1`;
    const [recoveredBy] = await f.db.sql`
      select id from sync_runs where source_id = ${sourceId} and status = 'succeeded' order by id desc limit 1`;
    expect(Number(recoveredBy.id)).toBeGreaterThan(Number(failedRun.id));

    expectWithinSlackLimits(f.slack);

    // The schedule stops here, so the next scenarios decide when runs happen. A tick that had already
    // started when the schedule was removed still runs; stopping the server waits for it.
    await f.client.command('/aad', 'disable', { userId: ADMIN });
    await f.restart('delegated');
    await finishedRuns(f.db, sourceId, 1);
  });
});

describe('a deleted group', () => {
  it('fails the run with an alert naming it and an Edit groups button that fixes it', async () => {
    const groups = [...f.entra.emulator.tenant.groups.values()].filter((g) => g.members.size >= 3);
    const [doomed] = groups;

    // Choosing groups from the Home tab makes the next run read in full.
    await f.client.appHomeOpened(ADMIN);
    await f.client.blockAction({ userId: ADMIN, actionId: actionIds.editGroups, view: f.slack.homeOf(ADMIN)! });
    const edit = f.slack.lastView()!;
    expect(edit.callback_id).toBe(callbackIds.editGroups);
    await f.client.viewSubmission(edit, { [blockIds.groups]: [{ text: doomed.displayName, value: doomed.id }] });
    expect(await syncNow()).toMatchObject({ status: 'succeeded', mode: 'full' });
    expect(await syncNow()).toMatchObject({ status: 'succeeded', mode: 'delta' });

    await f.entra.control('DELETE', `groups/${doomed.id}`);
    expect(await syncNow()).toMatchObject({ status: 'failed', error_code: 'group_missing' });
    const [alert] = await waitFor(() => (alerts().length > 0 ? alerts() : null), { what: 'the alert' });
    expect(JSON.stringify(alert.blocks)).toContain(doomed.displayName);
    expect(buttonsOf(alert).map((b) => b.action_id)).toEqual([actionIds.editGroups]);

    await f.client.blockAction({ userId: ADMIN, actionId: actionIds.editGroups, message: alert, value: sourceId });
    const fix = f.slack.lastView()!;
    expect(fix.callback_id).toBe(callbackIds.editGroups);
    expect(viewText(fix)).toContain(doomed.displayName);
    // Everyone in the tenant instead (no group left to go missing).
    await f.client.viewSubmission(fix, { [blockIds.groups]: [] });
    expect(await f.db.sql`select group_id from source_groups where source_id = ${sourceId}`).toEqual([]);
    expect(await syncNow()).toMatchObject({ status: 'succeeded', mode: 'full' });
    await waitFor(() => repliesTo(alert).length === 1, { what: 'the recovered reply' });
    await waitFor(async () => (await sourceRow(f.db)).alert_ts === null, { what: 'the streak forgotten' });
    expectWithinSlackLimits(f.slack);
  });
});

describe('removals above the threshold', () => {
  it('are held: Reject keeps everyone, Approve removes them', async () => {
    // A fifth of the imported people leave Entra ID.
    const people = await f.db.sql<{ graph_id: string }[]>`
      select graph_id from profiles where source_id = ${sourceId} and active order by graph_id`;
    const leaving = people.slice(0, Math.ceil(people.length / 5));
    for (const { graph_id } of leaving) await f.entra.control('DELETE', `users/${graph_id}`);
    const activeCount = async () =>
      (await f.db.sql`select count(*)::int as n from profiles where source_id = ${sourceId} and active`)[0].n;

    const held = await syncNow();
    expect(held).toMatchObject({ status: 'held' });
    const [alert] = await waitFor(() => (alerts().length > 0 ? alerts() : null), { what: 'the held alert' });
    expect(alert.text).toBe(`aad-sync: Sync held: ${leaving.length} people would be removed`);
    expect(buttonsOf(alert).map((b) => [b.action_id, b.value])).toEqual([
      [actionIds.approveRemovals, held.id],
      [actionIds.rejectRemovals, held.id],
    ]);

    await f.client.blockAction({ userId: ADMIN, actionId: actionIds.rejectRemovals, message: alert, value: held.id });
    expect(alerts()[0].text).toMatch(/\(rejected\)$/);
    expect(await activeCount()).toBe(people.length);
    expect(await sourceRow(f.db)).toMatchObject({ alert_ts: null, alert_code: null });

    // Still gone at the next sync: held again, with a new alert to answer.
    const again = await syncNow();
    expect(again).toMatchObject({ status: 'held' });
    await waitFor(() => alerts().length === 2, { what: 'a second held alert' });
    const second = alerts()[1];
    await f.client.blockAction({
      userId: ADMIN,
      actionId: actionIds.approveRemovals,
      message: second,
      value: again.id,
    });
    const applied = await finishedRunBy(f.db, sourceId, { after: Number(again.id), requestedBy: ADMIN });
    expect(applied).toMatchObject({ status: 'succeeded', removed_count: leaving.length });
    expect(await activeCount()).toBe(people.length - leaving.length);
    expect(alerts()[1].text).toMatch(/\(approved\)$/);
    expect(JSON.stringify(alerts()[1].blocks)).toContain(`${leaving.length} people removed`);
    expect(await sourceRow(f.db)).toMatchObject({ alert_ts: null, alert_code: null });
    expectWithinSlackLimits(f.slack);
  });
});
