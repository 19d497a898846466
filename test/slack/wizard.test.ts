import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { EmulatedView } from '../../src/emulators/slack/index.ts';
import type { AdminServices, SetupDraft } from '../../src/services/contract.ts';
import type { GroupRef, Refusal, SourceReport } from '../../src/services/model.ts';
import { showAuthorizationResult } from '../../src/slack/flows/setup.ts';
import { PICK_FROM_RESULTS } from '../../src/slack/forms.ts';
import { actionIds, blockIds, callbackIds, optionValues } from '../../src/slack/ids.ts';
import { groupSearch, SEARCH_SLOW } from '../../src/slack/listeners/options/index.ts';
import { alertMessage } from '../../src/slack/views/alerts.ts';
import { DEFAULT_MAPPING } from '../../src/sync/mapping.ts';
import { minutes, run, source, type stubServices, T0 } from './fixtures.ts';
import { type Harness, useStubbedHarness } from './harness.ts';

/** A small in-memory stand-in for the services, keeping what the wizard saves. */
const tenantGroups: GroupRef[] = Array.from({ length: 150 }, (_, i) => ({ id: `g-${i}`, name: `Sales team ${i}` }));
const state = {
  draft: null as SetupDraft | null,
  report: null as SourceReport | null,
  searchAnswer: null as Awaited<ReturnType<AdminServices['searchGroups']>> | null,
  settingsRefusal: null as Extract<Awaited<ReturnType<AdminServices['saveSettings']>>, { ok: false }> | null,
  disableRefusal: null as Refusal | null,
};

const services: Partial<AdminServices> = {
  status: async () => state.report,
  beginAuthorization: async (_actor, request) => ({
    requestId: `req-${request.viewId}`,
    sourceId: 'src-1',
    url: `https://aad-sync.example.com/azure/authorize/req-${request.viewId}`,
    expiresAt: minutes(10),
    authMode: 'delegated',
  }),
  draft: async () =>
    state.draft ? { ok: true, draft: state.draft } : { ok: false, refusal: { code: 'not_signed_in' } },
  searchGroups: async (_team, query) =>
    state.searchAnswer ?? {
      ok: true,
      groups: tenantGroups.filter((g) => g.name.toLowerCase().includes(query.toLowerCase())),
    },
  saveGroups: async (_actor, ids) => {
    const groups = ids.map((id) => tenantGroups.find((g) => g.id === id)!);
    state.draft = { ...state.draft!, groups };
    return { ok: true, groups };
  },
  saveSettings: async (_actor, settings) => {
    if (state.settingsRefusal) return state.settingsRefusal;
    state.draft = { ...state.draft!, ...settings, mapping: { ...DEFAULT_MAPPING, ...settings.mapping } };
    return { ok: true };
  },
  preview: async () => ({ ok: true, people: 1995, ignored: 5, reasons: run().ignored }),
  enable: async () => {
    state.report = source({ adminChannel: state.draft!.adminChannel, syncEnabled: state.draft!.hourlySync });
    return { ok: true, source: state.report, run: null };
  },
  disable: async () =>
    state.disableRefusal ? { ok: false, refusal: state.disableRefusal } : { ok: true, source: state.report! },
  setPhotoSync: async (_actor, on) => {
    state.report = { ...state.report!, photoSync: on };
    return { ok: true, source: state.report };
  },
  decideHeld: async (_actor, runId) => ({
    ok: true,
    run: run({ id: runId, status: 'succeeded', counts: { ...run().counts, removed: 250 } }),
  }),
};

const ctx = useStubbedHarness(null, services);
let h: Harness;
let stub: ReturnType<typeof stubServices>;
const admin = { teamId: 'T0AADSYNC', userId: 'U0ADMIN' };

beforeEach(() => {
  ({ h, stub } = ctx);
  state.report = null;
  state.searchAnswer = null;
  state.settingsRefusal = null;
  state.disableRefusal = null;
  state.draft = {
    sourceId: 'src-1',
    groups: [],
    tenantPeople: 2000,
    signedInAs: 'adele.vance@contoso.com',
    mapping: DEFAULT_MAPPING,
    adminChannel: null,
    photoSync: false,
    hourlySync: true,
    guestWhois: 'none',
    syncEvery: '60 minutes',
  };
});

const deps = () => ({ services: stub.services, adminCheck: h.adminCheck, guestCheck: h.guestCheck, logger: h.logger });
const called = (method: string) => stub.calls.filter((c) => c.method === method).map((c) => c.args);
const texts = (view: EmulatedView | undefined) => JSON.stringify(view?.blocks ?? []);

/** What the `/azure/callback` route does when the sign-in for `viewId` succeeded. */
const signInSucceeded = (viewId: string, purpose: 'setup' | 'reauthorize' = 'setup', actor = admin) =>
  showAuthorizationResult(deps(), h.slack.app.client, { ok: true, actor, viewId, purpose });

/** Runs `/aad setup` and the Microsoft sign-in; returns the modal, now at step 2. */
async function signedIn(): Promise<EmulatedView> {
  await h.client.command('/aad', 'setup', { userId: 'U0ADMIN', channelId: 'C0ADMINS' });
  const modal = h.emulator.lastView()!;
  expect(await signInSucceeded(modal.id)).toBe(true);
  return h.emulator.view(modal.id)!;
}

describe('setup wizard, end to end through the real app', () => {
  it('goes from sign-in to groups, settings, preview and done', async () => {
    const groupsStep = await signedIn();
    expect(groupsStep.callback_id).toBe(callbackIds.setupGroups);
    expect(texts(groupsStep)).toContain('Leave empty to import everyone (2,000 people)');

    const search = await h.client.optionsLoad(actionIds.groupsSelect, 'sales team 1', groupsStep);
    const options = (search.body as { options: { value: string }[] }).options;
    expect(options.length).toBe(61);
    expect(options[0]).toEqual({ text: { type: 'plain_text', text: 'Sales team 1', emoji: true }, value: 'g-1' });

    await h.client.viewSubmission(groupsStep, { [blockIds.groups]: [{ text: 'Sales team 1', value: 'g-1' }] });
    expect(called('saveGroups')).toEqual([[admin, ['g-1']]]);
    const settingsStep = h.emulator.view(groupsStep.id)!;
    expect(settingsStep.callback_id).toBe(callbackIds.setupSettings);

    await h.client.viewSubmission(settingsStep, {
      [blockIds.adminChannel]: 'C0ADMINS',
      [blockIds.options]: ['hourly_sync', 'photo_sync'],
      [blockIds.guestWhois]: 'reduced',
    });
    expect(called('saveSettings')[0][1]).toEqual({
      mapping: DEFAULT_MAPPING,
      adminChannel: 'C0ADMINS',
      photoSync: true,
      hourlySync: true,
      guestWhois: 'reduced',
    });
    await vi.waitFor(() => expect(texts(h.emulator.view(groupsStep.id))).toContain('1,995 people'));
    const preview = h.emulator.view(groupsStep.id)!;
    expect(preview).toMatchObject({ callback_id: callbackIds.setupPreview, submit: { text: 'Enable' } });
    expect(texts(preview)).toContain('Sales team 1');

    await h.client.viewSubmission(preview);
    // With an observer for the first sync, which the admin channel shows.
    expect(called('enable')).toEqual([[admin, expect.objectContaining({ progress: expect.any(Function) })]]);
    expect(h.emulator.view(groupsStep.id)).toMatchObject({
      callback_id: callbackIds.setupDone,
      close: { text: 'Done' },
    });
    await vi.waitFor(() => expect(h.emulator.homeOf('U0ADMIN')).toBeDefined());
  });

  it('shows a failed sign-in in plain words on the waiting modal, with Try again', async () => {
    await h.client.command('/aad', 'setup', { userId: 'U0ADMIN' });
    const modal = h.emulator.lastView()!;
    const message =
      'The account that signed in is not allowed to grant these permissions: sign in with a Global Administrator.';
    await showAuthorizationResult(deps(), h.slack.app.client, {
      ok: false,
      actor: admin,
      viewId: modal.id,
      purpose: 'setup',
      message,
    });
    const failed = h.emulator.view(modal.id)!;
    expect(texts(failed)).toContain('sign in with a Global Administrator');
    await h.client.blockAction({ userId: 'U0ADMIN', actionId: actionIds.setupRetry, view: failed });
    expect(texts(h.emulator.view(modal.id))).toContain('Sign in with Microsoft');
  });

  it('reports the modal gone when the admin closed it before signing in', async () => {
    await h.client.command('/aad', 'setup', { userId: 'U0ADMIN' });
    const modal = h.emulator.lastView()!;
    expect(await h.client.viewClosed(modal)).toBeNull();
    expect(await signInSucceeded(modal.id)).toBe(false);
  });

  it('puts problems on the field they belong to and saves nothing', async () => {
    const groupsStep = await signedIn();
    const refused = await h.client.viewSubmission(groupsStep, {
      [blockIds.groups]: [{ text: 'x', value: optionValues.searchFailed }],
    });
    expect(refused.body).toEqual({ response_action: 'errors', errors: { [blockIds.groups]: PICK_FROM_RESULTS } });
    expect(called('saveGroups')).toEqual([]);

    await h.client.viewSubmission(groupsStep, {});
    const settingsStep = h.emulator.view(groupsStep.id)!;
    const invalid = await h.client.viewSubmission(settingsStep, {
      [blockIds.mapping('externalId')]: 'displayName',
      [blockIds.mapping('jobTitle')]: 'none',
      [blockIds.adminChannel]: null,
    });
    expect(invalid.body).toEqual({
      response_action: 'errors',
      errors: {
        [blockIds.mapping('externalId')]: expect.stringContaining('not unique per person'),
        [blockIds.adminChannel]: 'Choose the channel where alerts should go.',
      },
    });
    expect(called('saveSettings')).toEqual([]);

    state.settingsRefusal = { ok: false, refusal: { code: 'not_signed_in' } };
    const refusedByService = await h.client.viewSubmission(settingsStep, { [blockIds.adminChannel]: 'C0GONE' });
    expect(refusedByService.body).toEqual({
      response_action: 'errors',
      errors: { [blockIds.adminChannel]: expect.stringContaining('not connected to Entra ID yet: run /aad setup') },
    });
    expect(h.emulator.view(groupsStep.id)?.callback_id).toBe(callbackIds.setupSettings);
  });

  it('goes back from the preview to the settings, keeping what was saved', async () => {
    const groupsStep = await signedIn();
    await h.client.viewSubmission(groupsStep, {});
    await h.client.viewSubmission(h.emulator.view(groupsStep.id)!, {
      [blockIds.adminChannel]: 'C0ADMINS',
      [blockIds.options]: [],
    });
    await vi.waitFor(() => expect(texts(h.emulator.view(groupsStep.id))).toContain('1,995 people'));
    await h.client.blockAction({
      userId: 'U0ADMIN',
      actionId: actionIds.setupBackToSettings,
      view: h.emulator.view(groupsStep.id)!,
    });
    const settings = h.emulator.view(groupsStep.id)!;
    expect(settings.callback_id).toBe(callbackIds.setupSettings);
    const channel = settings.blocks.find((b) => b.block_id === blockIds.adminChannel) as {
      element: { initial_conversation?: string };
    };
    expect(channel.element.initial_conversation).toBe('C0ADMINS');
  });
});

describe('group type-ahead', () => {
  const args = (value: string) => {
    const acks: unknown[] = [];
    return {
      acks,
      args: {
        ack: async (response: unknown) => {
          acks.push(response);
        },
        body: { team: { id: 'T0AADSYNC' }, user: { id: 'U0ADMIN' } },
        payload: { value },
      } as never,
    };
  };

  it('caps the answer at 100 options', async () => {
    const groupsStep = await signedIn();
    const reply = await h.client.optionsLoad(actionIds.groupsSelect, 'sales', groupsStep);
    expect((reply.body as { options: unknown[] }).options).toHaveLength(100);
  });

  it('turns a Graph error into one option that says why, instead of a timeout', async () => {
    const groupsStep = await signedIn();
    state.searchAnswer = { ok: false, refusal: { code: 'search_failed', cause: 'unavailable' } };
    const reply = await h.client.optionsLoad(actionIds.groupsSelect, 'sales', groupsStep);
    expect(reply.body).toEqual({
      options: [
        {
          text: { type: 'plain_text', text: 'Entra ID is not answering: try again in a moment', emoji: true },
          value: optionValues.searchFailed,
        },
      ],
    });
  });

  it('answers before Slack gives up when the search is slow or throws', async () => {
    const slow = { ...deps(), services: { ...stub.services, searchGroups: () => new Promise<never>(() => {}) } };
    const a = args('sales');
    await groupSearch(slow, 20)(a.args);
    expect(a.acks).toEqual([
      { options: [expect.objectContaining({ text: expect.objectContaining({ text: SEARCH_SLOW }) })] },
    ]);
    const broken = {
      ...deps(),
      services: { ...stub.services, searchGroups: async () => Promise.reject(new Error('boom')) },
    };
    const b = args('sales');
    await groupSearch(broken, 1000)(b.args);
    expect(b.acks).toEqual([{ options: [expect.objectContaining({ value: optionValues.searchFailed })] }]);
  });
});

describe('dashboard and alert buttons', () => {
  beforeEach(() => {
    state.report = source();
  });
  const home = async () => {
    await h.client.appHomeOpened('U0ADMIN');
    return h.emulator.homeOf('U0ADMIN')!;
  };

  it('turns photo sync on and refreshes the dashboard', async () => {
    await h.client.blockAction({ userId: 'U0ADMIN', actionId: actionIds.photoSync, view: await home() });
    expect(called('setPhotoSync')).toEqual([[admin, true]]);
    expect(texts(h.emulator.homeOf('U0ADMIN'))).toContain('Photo sync: on');
  });

  it('shows why a change was refused in a small modal', async () => {
    state.disableRefusal = { code: 'run_in_progress' };
    await h.client.blockAction({ userId: 'U0ADMIN', actionId: actionIds.disable, view: await home() });
    const notice = h.emulator.calls('views.open').at(-1)!.args.view as { title: { text: string } };
    expect(notice.title.text).toBe('Not changed');
    expect(JSON.stringify(notice)).toContain('Try again when it has finished');
  });

  it('edits groups from the dashboard and saves them', async () => {
    await h.client.blockAction({ userId: 'U0ADMIN', actionId: actionIds.editGroups, view: await home() });
    const modal = h.emulator.lastView()!;
    expect(modal).toMatchObject({ callback_id: callbackIds.editGroups, submit: { text: 'Save' } });
    await h.client.viewSubmission(modal, { [blockIds.groups]: [{ text: 'Sales team 2', value: 'g-2' }] });
    expect(called('saveGroups')).toEqual([[admin, ['g-2']]]);
    expect(h.emulator.view(modal.id)?.open).toBe(false);
  });

  it('edits mappings from an alert, remembering the source', async () => {
    h.emulator.setChannels([
      { id: 'C0ADMINS', name: 'aad-admins', isPrivate: false, members: ['U0AADBOT', 'U0ADMIN'] },
    ]);
    const shown = alertMessage({
      sourceId: 'src-1',
      code: 'no_valid_people',
      message: null,
      count: 1,
      firstAt: T0,
      lastAt: T0,
    });
    await h.slack.app.client.chat.postMessage({ channel: 'C0ADMINS', ...shown });
    const [message] = h.emulator.messagesIn('C0ADMINS');
    await h.client.blockAction({ userId: 'U0ADMIN', actionId: actionIds.editSettings, message });
    const modal = h.emulator.lastView()!;
    expect(modal.callback_id).toBe(callbackIds.editSettings);
    expect(JSON.parse(modal.private_metadata)).toEqual({ v: 1, sourceId: 'src-1' });
    await h.client.viewSubmission(modal, { [blockIds.adminChannel]: 'C0ADMINS' });
    expect(called('saveSettings')).toHaveLength(1);
  });

  it('reauthorizes from an alert with a personal link, saying why and who signed in last', async () => {
    state.report = source({
      status: 'needs_reauth',
      recentRuns: [run({ status: 'failed', errorCode: 'reauth_required', errorMessage: 'The grant was revoked.' })],
    });
    h.emulator.setChannels([
      { id: 'C0ADMINS', name: 'aad-admins', isPrivate: false, members: ['U0AADBOT', 'U0ADMIN'] },
    ]);
    await h.slack.app.client.chat.postMessage({
      channel: 'C0ADMINS',
      ...alertMessage({ sourceId: 'src-1', code: 'reauth_required', message: null, count: 1, firstAt: T0, lastAt: T0 }),
    });
    const [message] = h.emulator.messagesIn('C0ADMINS');
    await h.client.blockAction({ userId: 'U0OWNER', actionId: actionIds.reauthorize, message });
    const modal = h.emulator.lastView()!;
    expect(modal.callback_id).toBe(callbackIds.reauthorize);
    expect(texts(modal)).toContain('The grant was revoked.');
    expect(texts(modal)).toContain('Last authorized by adele.vance@contoso.com');
    expect(texts(modal)).toContain(`https://aad-sync.example.com/azure/authorize/req-${modal.id}`);
    await signInSucceeded(modal.id, 'reauthorize', { ...admin, userId: 'U0OWNER' });
    expect(texts(h.emulator.view(modal.id))).toContain('Authorization restored');
  });

  it('approves held removals and shows the decision on the alert, buttons gone', async () => {
    h.emulator.setChannels([
      { id: 'C0ADMINS', name: 'aad-admins', isPrivate: false, members: ['U0AADBOT', 'U0ADMIN'] },
    ]);
    const held = { runId: 42, removals: 250, activeProfiles: 2000, threshold: 0.1, sample: ['Adele Vance'] };
    await h.slack.app.client.chat.postMessage({
      channel: 'C0ADMINS',
      ...alertMessage({ sourceId: 'src-1', code: 'held', message: null, count: 1, firstAt: T0, lastAt: T0, held }),
    });
    const [message] = h.emulator.messagesIn('C0ADMINS');
    await h.client.blockAction({ userId: 'U0ADMIN', actionId: actionIds.approveRemovals, message });
    expect(called('decideHeld')).toEqual([[admin, 42, 'approve']]);
    const [updated] = h.emulator.messagesIn('C0ADMINS');
    expect(updated.text).toBe('aad-sync: Sync held: 250 people would be removed (approved)');
    expect(texts(updated as never)).toContain('Approved by <@U0ADMIN>');
    expect(texts(updated as never)).toContain('250 people removed');
    expect(updated.blocks.some((b) => (b as { type: string }).type === 'actions')).toBe(false);
  });

  it('refuses a non-admin’s Approve without deciding anything', async () => {
    h.emulator.setChannels([
      { id: 'C0ADMINS', name: 'aad-admins', isPrivate: false, members: ['U0AADBOT', 'U0MEMBER'] },
    ]);
    const held = { runId: 42, removals: 250, activeProfiles: 2000, threshold: 0.1, sample: [] };
    await h.slack.app.client.chat.postMessage({
      channel: 'C0ADMINS',
      ...alertMessage({ sourceId: 'src-1', code: 'held', message: null, count: 1, firstAt: T0, lastAt: T0, held }),
    });
    const [message] = h.emulator.messagesIn('C0ADMINS');
    await h.client.blockAction({ userId: 'U0MEMBER', actionId: actionIds.approveRemovals, message });
    expect(called('decideHeld')).toEqual([]);
    expect(h.emulator.messagesIn('C0ADMINS')[0].edited).toBeUndefined();
  });
});
