import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { actionIds, blockIds, callbackIds } from '../../src/slack/ids.ts';
import {
  ADMIN,
  ADMIN_CHANNEL,
  type AppFixture,
  authorizeUrl,
  clearData,
  expectWithinSlackLimits,
  finishedRuns,
  openSetup,
  previewShown,
  signInThroughBrowser,
  sourceRow,
  startAppFixture,
  viewText,
} from '../helpers/app.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * Issue 6, through the real server: the groups step says how many people "everyone" is (Graph's $count),
 * and the first sync after Enable is followed in the admin channel as "Sync now" is — one message, ending
 * as the summary — or in the admin's direct messages when the app cannot post in that channel.
 */

let f: AppFixture;

beforeAll(async () => {
  f = await startAppFixture({ mode: 'application', seed: 'app-setup-first-sync' });
});
afterAll(() => f?.stop());
beforeEach(async () => {
  f.slack.reset();
  await f.entra.control('POST', 'reset');
  await clearData(f.db);
});

const enabledPeople = () => [...f.entra.emulator.tenant.users.values()].filter((u) => u.accountEnabled).length;
const topLevel = (channel: string) => f.slack.messagesIn(channel).filter((m) => !m.threadTs);

/** The wizard up to the done modal, everyone imported, alerts to `adminChannel`; returns the groups step's text. */
async function setUp(adminChannel: string): Promise<{ groupsText: string; sourceId: string }> {
  const setup = await openSetup(f.client, f.slack);
  const { page } = await signInThroughBrowser(authorizeUrl(setup));
  expect(page.status, page.text).toBe(200);
  const groupsStep = f.slack.view(setup.id)!;
  expect(groupsStep.callback_id).toBe(callbackIds.setupGroups);
  await f.client.viewSubmission(groupsStep, { [blockIds.groups]: [] });
  await f.client.viewSubmission(f.slack.view(setup.id)!, { [blockIds.adminChannel]: adminChannel });
  await f.client.viewSubmission(await previewShown(f, setup.id));
  expect(f.slack.view(setup.id)!.callback_id).toBe(callbackIds.setupDone);
  return { groupsText: viewText(groupsStep), sourceId: (await sourceRow(f.db)).id };
}

describe('the first sync after Enable', () => {
  it('is one message in the admin channel that ends as the summary with counts; step 2 said how many', async () => {
    const { groupsText, sourceId } = await setUp(ADMIN_CHANNEL);
    expect(enabledPeople()).toBeLessThan(f.entra.emulator.tenant.users.size);
    expect(groupsText).toContain(`Leave empty to import everyone (${enabledPeople()} people).`);

    const runs = await finishedRuns(f.db, sourceId, 1);
    const first = runs.find((r) => r.mode !== 'preview')!;
    expect(first).toMatchObject({ trigger: 'setup', requested_by: ADMIN, status: 'succeeded' });
    await waitFor(() => /^Sync finished/.test(topLevel(ADMIN_CHANNEL)[0]?.text ?? ''), { what: 'the summary' });
    const messages = topLevel(ADMIN_CHANNEL);
    expect(messages).toHaveLength(1);
    expect(messages[0].text).toContain(`${first.read_count} read`);
    expect(JSON.stringify(messages[0].blocks)).toContain(String(first.created_count));
    expect(f.slack.calls('chat.postMessage').filter((c) => c.args.channel === ADMIN)).toEqual([]);
    expectWithinSlackLimits(f.slack);
  });

  it('goes to the admin’s direct messages when the app is not in the (private) admin channel', async () => {
    const { sourceId } = await setUp('G0PRIVATE');
    const runs = await finishedRuns(f.db, sourceId, 1);
    expect(runs.find((r) => r.mode !== 'preview')).toMatchObject({ trigger: 'setup', status: 'succeeded' });
    const dm = `D${ADMIN.slice(1)}`;
    await waitFor(() => /^Sync finished/.test(topLevel(dm)[0]?.text ?? ''), { what: 'the summary in the DM' });
    expect(topLevel(dm)).toHaveLength(1);
    expect(topLevel('G0PRIVATE')).toEqual([]);
  });
});

describe('the head count of step 2', () => {
  it('is left out when Graph is too slow to say, and shown again when it answers', async () => {
    const { sourceId } = await setUp(ADMIN_CHANNEL);
    await finishedRuns(f.db, sourceId, 1);
    const editGroups = async () => {
      await f.client.appHomeOpened(ADMIN);
      await f.client.blockAction({ userId: ADMIN, actionId: actionIds.editGroups, view: f.slack.homeOf(ADMIN)! });
      return waitFor(
        () => {
          const view = f.slack.lastView();
          return view?.callback_id === callbackIds.editGroups ? viewText(view) : null;
        },
        { what: 'the Edit groups modal' },
      );
    };
    await f.entra.control('POST', 'faults', { latencyMs: 2_500 });
    const slow = await editGroups();
    expect(slow).toContain('Leave empty to import everyone.');
    expect(slow).not.toMatch(/everyone \(\d/);

    await f.entra.control('POST', 'faults', { latencyMs: 0 });
    f.slack.reset();
    expect(await editGroups()).toContain(`everyone (${enabledPeople()} people)`);
  });
});
