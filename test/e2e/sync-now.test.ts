import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { actionIds, blockIds, callbackIds, toggleValues } from '../../src/slack/ids.ts';
import {
  ADMIN,
  ADMIN_CHANNEL,
  type AppFixture,
  expectWithinSlackLimits,
  finishedRunBy,
  lastRunId,
  METRICS_TOKEN,
  runsOf,
  setUpSource,
  startAppFixture,
  syncNowAndWait,
  viewText,
} from '../helpers/app.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * "Sync now" through the real server: one run at a time (the second request is told who started the
 * running one), a progress message in the admin channel that is updated while the run goes and ends
 * with the counts; status, enable and disable answer from the database and the scheduler.
 */

let f: AppFixture;
let sourceId: string;

beforeAll(async () => {
  f = await startAppFixture({ mode: 'application', seed: 'app-sync-now' });
  sourceId = await setUpSource(f);
});
afterAll(() => f?.stop());
beforeEach(async () => {
  f.slack.reset();
  await f.entra.control('POST', 'faults', { latencyMs: 0 });
});

const channelMessages = () => f.slack.messagesIn(ADMIN_CHANNEL).filter((m) => !m.threadTs);

describe('/aad sync', () => {
  it('refuses a second sync while one runs, and follows the run in one message that ends with the counts', async () => {
    // Graph lost the delta state, so the run reads everyone again: two pages of 200 people, each slow, make it
    // last long enough for a progress update.
    await f.entra.control('POST', 'expire-delta-tokens', {});
    await f.entra.control('POST', 'faults', { latencyMs: 1_500 });
    const after = await lastRunId(f.db, sourceId);

    const first = await f.client.command('/aad', 'sync', { userId: ADMIN, channelId: 'C0GENERAL' });
    expect(first.status).toBe(200);
    const second = await f.client.command('/aad', 'sync', { userId: 'U0OWNER', channelId: 'C0GENERAL' });
    expect(second.status).toBe(200);

    const replies = f.slack.responses().map((r) => ({ to: r.target.userId, text: String(r.body.text) }));
    expect(replies).toContainEqual({ to: ADMIN, text: 'Sync started' });
    expect(replies).toContainEqual({ to: 'U0OWNER', text: 'A sync is already running; no second one was started.' });
    const refusal = f.slack.responses().find((r) => r.target.userId === 'U0OWNER')!;
    expect(JSON.stringify(refusal.body)).toContain(`<@${ADMIN}>`);

    const run = await finishedRunBy(f.db, sourceId, { after, requestedBy: ADMIN });
    expect(run).toMatchObject({ trigger: 'manual', mode: 'full', status: 'succeeded', read_count: 300 });
    // The refused request started nothing: the admin's run is the only one since.
    expect((await runsOf(f.db, sourceId)).filter((r) => Number(r.id) > after)).toEqual([run]);

    await waitFor(() => /^Sync finished/.test(channelMessages()[0]?.text ?? ''), { what: 'the summary' });
    const [message] = channelMessages();
    expect(channelMessages()).toHaveLength(1);
    const updates = f.slack.calls('chat.update').filter((c) => c.args.ts === message.ts);
    expect(updates.length).toBeGreaterThanOrEqual(2);
    expect(updates.map((c) => String(c.args.text))).toContainEqual(
      expect.stringMatching(/^Syncing from Entra ID: \d+/),
    );
    expect(message.text).toContain('300 read');
    expect(JSON.stringify(message.blocks)).toContain('Unchanged');
    expectWithinSlackLimits(f.slack);

    // The app counts a run before it tells the admin that it finished.
    expect((await fetch(`${f.publicUrl}/metrics`)).status).toBe(401);
    const bearer = { authorization: `Bearer ${METRICS_TOKEN}` };
    const metrics = await (await fetch(`${f.publicUrl}/metrics`, { headers: bearer })).text();
    expect(metrics).toMatch(/^aad_sync_runs_total\{status="succeeded",trigger="manual"\} [1-9]/m);
    expect(metrics).toMatch(/^aad_sync_graph_requests_total\{status="200"\} [1-9]/m);
    const [{ active }] = await f.db.sql`select count(*)::int as active from profiles where active`;
    expect(metrics).toContain(`aad_sync_profiles{state="active"} ${active}\n`);
  });

  it('tells a Home-tab press during a run who started it, on the refreshed Home when the notice cannot open', async () => {
    await f.client.appHomeOpened('U0OWNER');
    await waitFor(() => f.slack.homeOf('U0OWNER'), { what: 'the Home tab' });
    await f.entra.control('POST', 'expire-delta-tokens', {});
    await f.entra.control('POST', 'faults', { latencyMs: 1_500 });
    const after = await lastRunId(f.db, sourceId);
    expect((await f.client.command('/aad', 'sync', { userId: ADMIN })).status).toBe(200);
    // The notice modal's trigger ran out (Slack gives 3 s; many presses at once on a busy replica take longer).
    f.slack.failNext('views.open', 'expired_trigger_id');
    const home = f.slack.homeOf('U0OWNER')!;
    await f.client.blockAction({ userId: 'U0OWNER', actionId: actionIds.syncNow, view: home });
    expect(viewText(f.slack.homeOf('U0OWNER'))).toContain(`A sync is running, started by <@${ADMIN}>`);
    const run = await finishedRunBy(f.db, sourceId, { after, requestedBy: ADMIN });
    expect(run.status).toBe('succeeded');
    expect((await runsOf(f.db, sourceId)).filter((r) => Number(r.id) > after)).toEqual([run]);
  });

  it('starts from the Home tab too, and refreshes the dashboard', async () => {
    await f.client.appHomeOpened(ADMIN);
    const home = f.slack.homeOf(ADMIN)!;
    const after = await lastRunId(f.db, sourceId);
    const published = f.slack.calls('views.publish').length;
    await f.client.blockAction({ userId: ADMIN, actionId: actionIds.syncNow, view: home });
    // The dashboard was published again once the run had started.
    expect(f.slack.calls('views.publish').length).toBe(published + 1);
    const run = await finishedRunBy(f.db, sourceId, { after, requestedBy: ADMIN });
    expect(run).toMatchObject({ trigger: 'manual', status: 'succeeded', mode: 'delta' });
    await waitFor(() => /^Sync finished/.test(channelMessages()[0]?.text ?? ''), { what: 'the summary' });
    expectWithinSlackLimits(f.slack);
  });

  it('reads everyone again after the mappings change, then goes back to changes only', async () => {
    await f.client.appHomeOpened(ADMIN);
    await f.client.blockAction({ userId: ADMIN, actionId: actionIds.editSettings, view: f.slack.homeOf(ADMIN)! });
    const edit = f.slack.lastView()!;
    expect(edit.callback_id).toBe(callbackIds.editSettings);
    const saved = await f.client.viewSubmission(edit, { [blockIds.mapping('office')]: 'city' });
    expect(saved.body).toBe('');
    const [row] = await f.db.sql`select mapping from sources where id = ${sourceId}`;
    expect(row.mapping.office).toBe('city');

    expect(await syncNowAndWait(f, sourceId)).toMatchObject({ mode: 'full', status: 'succeeded' });
    expect(await syncNowAndWait(f, sourceId)).toMatchObject({ mode: 'delta', status: 'succeeded' });
    const [someone] = await f.db
      .sql`select office from profiles where source_id = ${sourceId} and office is not null limit 1`;
    const cities = new Set([...f.entra.emulator.tenant.users.values()].map((u) => u.city));
    expect(cities.has(someone.office)).toBe(true);
    expectWithinSlackLimits(f.slack);
  });

  it('imports photos from the next run on once photo sync is turned on', async () => {
    await f.client.appHomeOpened(ADMIN);
    await f.client.blockAction({
      userId: ADMIN,
      actionId: actionIds.photoSync,
      view: f.slack.homeOf(ADMIN)!,
      value: toggleValues.on,
    });
    expect(await f.db.sql`select photo_sync from sources where id = ${sourceId}`).toEqual([{ photo_sync: true }]);
    expect(viewText(f.slack.homeOf(ADMIN))).toContain('Photo sync: on');
    const run = await syncNowAndWait(f, sourceId);
    // Everyone's photo is looked at, not only changed people's: the run reads in full.
    expect(run).toMatchObject({ mode: 'full', status: 'succeeded' });
    const [{ photos }] = await f.db.sql`select count(*)::int as photos from profile_photos`;
    expect(photos).toBeGreaterThan(0);
  });

  it('answers status, and turns the schedule on and off', async () => {
    // Set up without automatic sync: no schedule until someone enables it.
    expect(await f.db.sql`select sync_enabled from sources where id = ${sourceId}`).toEqual([{ sync_enabled: false }]);
    await f.client.command('/aad', 'status', { userId: ADMIN });
    expect(String(f.slack.responses().at(-1)!.body.text)).toBe('aad-sync status: active');

    await f.client.command('/aad', 'enable', { userId: ADMIN });
    expect(String(f.slack.responses().at(-1)!.body.text)).toMatch(/^Automatic sync is on/);
    const [enabled] = await f.db.sql`select sync_enabled, status from sources where id = ${sourceId}`;
    expect(enabled).toEqual({ sync_enabled: true, status: 'active' });
    const jobs = await f.db.sql`select count(*)::int as n from agenda_jobs where name = 'aad-sync:scheduled-sync'`;
    expect(jobs).toEqual([{ n: 1 }]);

    await f.client.command('/aad', 'disable', { userId: ADMIN });
    const [disabled] = await f.db.sql`select sync_enabled, status from sources where id = ${sourceId}`;
    expect(disabled).toEqual({ sync_enabled: false, status: 'disabled' });
    const left = await f.db.sql`select count(*)::int as n from agenda_jobs where name = 'aad-sync:scheduled-sync'`;
    expect(left).toEqual([{ n: 0 }]);
    expectWithinSlackLimits(f.slack);
  });
});
