import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { AlertData, IgnoredReason, RunReport, SourceReport } from '../../../src/services/model.ts';
import { actionIds, blockIds, callbackIds } from '../../../src/slack/ids.ts';
import { decodeMetadata } from '../../../src/slack/metadata.ts';
import { alertMessage, cannotPostMessage, recoveredReply, resolvedAlert } from '../../../src/slack/views/alerts.ts';
import { homeView } from '../../../src/slack/views/home.ts';
import type { KnownBlock } from '../../../src/slack/views/kit.ts';
import { type SurfaceKind, validateSurface } from '../../../src/slack/views/limits.ts';
import { notAdminModal, noticeModal } from '../../../src/slack/views/notice.ts';
import { progressMessage, summaryMessage } from '../../../src/slack/views/progress.ts';
import { reauthorizeModal } from '../../../src/slack/views/reauthorize.ts';
import {
  alreadyRunningMessage,
  disabledMessage,
  enabledMessage,
  helpMessage,
  notAdminMessage,
  notSetUpMessage,
  problemMessage,
  statusMessage,
  syncStartedMessage,
} from '../../../src/slack/views/replies.ts';
import { authorizeStep, doneModal, groupsModal, previewModal, settingsModal } from '../../../src/slack/views/setup.ts';
import { DEFAULT_MAPPING, PROFILE_FIELDS, UNMAPPED } from '../../../src/sync/mapping.ts';
import { minutes, run, source, T0 } from '../fixtures.ts';

const long = (n: number, word = 'Long') => `${word} ${'x'.repeat(n)}`;
const link = { url: `https://aad-sync.example.com/azure/authorize/${'r'.repeat(43)}`, expiresAt: minutes(10) };
const metadata = { sourceId: source().id };

const hundredGroups = Array.from({ length: 100 }, (_, i) => ({
  id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
  name: i % 2 === 0 ? long(250, `Group ${i}`) : `Team ${i}`,
}));

const manyReasons: IgnoredReason[] = Array.from({ length: 60 }, (_, i) => ({
  reason: long(200, `missing attribute ${i}`),
  count: 1000 - i,
  examples: Array.from({ length: 25 }, (_, j) => long(120, `person-${i}-${j}@contoso.com`)),
}));

const failedRun = (code: string, message: string): RunReport =>
  run({
    status: 'failed',
    errorCode: code,
    errorMessage: message,
    counts: { ...run().counts, created: 0, updated: 0 },
  });

const extremeRun = run({
  id: 9_999_999,
  requestedBy: 'U0ADMIN',
  trigger: 'manual',
  mode: 'full',
  finishedAt: minutes(60 * 26 + 3),
  counts: {
    read: 12_345_678,
    created: 9_999_999,
    updated: 1_000_000,
    unchanged: 1,
    removed: 99_999,
    ignored: 888_888,
    photos: 77_777,
  },
  ignored: manyReasons,
});

const extremeSource: SourceReport = source({
  status: 'failing',
  authorizedBy: { upn: `${'a'.repeat(200)}@${'b'.repeat(100)}.onmicrosoft.com`, slackUserId: 'U0ADMIN', at: T0 },
  groups: hundredGroups,
  syncEvery: '60 minutes',
  activeProfiles: 12_345_678,
  running: run({ status: 'running', finishedAt: null, requestedBy: 'U0OWNER', trigger: 'manual' }),
  recentRuns: Array.from({ length: 50 }, (_, i) =>
    i % 3 === 0 ? failedRun('graph_unavailable', long(2000, 'Graph said')) : { ...extremeRun, id: i },
  ),
  held: {
    runId: 7,
    removals: 5000,
    activeProfiles: 12_000,
    threshold: 0.1,
    sample: Array.from({ length: 500 }, (_, i) => long(80, `Name ${i}`)),
  },
});

const sources: [string, SourceReport][] = [
  ['active', source()],
  ['extreme failing', extremeSource],
  ['setup', source({ status: 'setup', recentRuns: [], authorizedBy: { upn: null, slackUserId: null, at: null } })],
  ['disabled', source({ status: 'disabled', syncEnabled: false, nextRunAt: null })],
  [
    'needs_reauth',
    source({ status: 'needs_reauth', recentRuns: [failedRun('reauth_required', 'AADSTS50173: grant revoked')] }),
  ],
  ['held', source({ status: 'held', recentRuns: [run({ status: 'held' })] })],
  [
    'application, no groups, photos',
    source({ authMode: 'application', groups: [], photoSync: true, adminChannel: null }),
  ],
];

const alertBase: AlertData = {
  sourceId: source().id,
  code: 'reauth_required',
  message: 'AADSTS50173: The provided grant has expired due to it being revoked.',
  count: 1,
  firstAt: T0,
  lastAt: T0,
};

const alerts: [string, AlertData][] = [
  ['reauth_required', alertBase],
  ['reauth_required after a success', { ...alertBase, lastSuccessAt: minutes(-50) }],
  ['reauth_required, never synced', { ...alertBase, lastSuccessAt: null }],
  ['reauth_required streak', { ...alertBase, count: 37, lastAt: minutes(60 * 37) }],
  [
    'app_misconfigured',
    {
      ...alertBase,
      code: 'app_misconfigured',
      envVar: 'AZURE_CLIENT_SECRET',
      message: 'AADSTS7000215: Invalid client secret provided.',
    },
  ],
  ['app_misconfigured without var', { ...alertBase, code: 'app_misconfigured', message: null }],
  ['group_missing', { ...alertBase, code: 'group_missing', missingGroups: [{ id: 'g1', name: 'Contractors (EU)' }] }],
  [
    'group_missing many long',
    { ...alertBase, code: 'group_missing', missingGroups: hundredGroups, message: long(5000) },
  ],
  ['no_valid_people', { ...alertBase, code: 'no_valid_people', peopleRead: 2000 }],
  ['graph_unavailable', { ...alertBase, code: 'graph_unavailable', count: 3 }],
  ['unknown code', { ...alertBase, code: 'database_unreachable', message: null }],
  [
    'held',
    {
      ...alertBase,
      code: 'held',
      held: {
        runId: 42,
        removals: 250,
        activeProfiles: 2000,
        threshold: 0.1,
        sample: ['Adele Vance', 'Alex Wilber', 'Diego Siciliani'],
      },
    },
  ],
  ['held extreme', { ...alertBase, code: 'held', held: extremeSource.held! }],
  [
    'held resolved: approved',
    {
      ...alertBase,
      code: 'held',
      held: extremeSource.held!,
      resolution: { kind: 'approved', by: 'U0ADMIN', at: minutes(5) },
    },
  ],
  [
    'held resolved: rejected',
    {
      ...alertBase,
      code: 'held',
      held: extremeSource.held!,
      resolution: { kind: 'rejected', by: 'U0OWNER', at: minutes(5) },
    },
  ],
  ['resolved by a sync', { ...alertBase, count: 4, resolution: { kind: 'resolved', by: null, at: minutes(240) } }],
  ['resolved by an admin', { ...alertBase, resolution: { kind: 'resolved', by: 'U0ADMIN', at: minutes(3) } }],
];

const progress = {
  runId: 41,
  mode: 'full' as const,
  trigger: 'manual' as const,
  requestedBy: 'U0ADMIN',
  startedAt: T0,
  phase: 'reading' as const,
  read: 1200,
  written: 300,
  total: 2000,
  photos: 0,
};

const settings = {
  mapping: DEFAULT_MAPPING,
  adminChannel: 'C0ADMINS',
  photoSync: true,
  hourlySync: true,
  syncEvery: '60 minutes',
  metadata,
};
const groupsData = {
  selected: hundredGroups,
  tenantPeople: 123_456,
  signedInAs: 'adele.vance@contoso.com',
  metadata,
};

/** Every surface the app can produce, with realistic and extreme data. */
const catalogue: [string, SurfaceKind, unknown][] = [
  [
    'authorize preparing',
    'modal',
    authorizeStep({ state: 'preparing', authMode: 'delegated', link: null, metadata: {} }),
  ],
  [
    'reauthorize preparing',
    'modal',
    reauthorizeModal({
      state: 'preparing',
      authMode: 'delegated',
      link: null,
      reason: null,
      previousUpn: null,
      metadata: {},
    }),
  ],
  [
    'done, count unknown',
    'modal',
    doneModal({ adminChannel: 'C0ADMINS', hourlySync: true, syncEvery: '60 minutes', people: null }),
  ],
  [
    'alert resolved from the shown message',
    'message',
    resolvedAlert(alertMessage(alerts[10][1]), { kind: 'approved', by: 'U0ADMIN', at: T0 }, 5000),
  ],
  ['alert resolved from an empty message', 'message', resolvedAlert({}, { kind: 'rejected', by: 'U0ADMIN', at: T0 })],
  ['authorize ready (delegated)', 'modal', authorizeStep({ state: 'ready', authMode: 'delegated', link, metadata })],
  [
    'authorize waiting (application)',
    'modal',
    authorizeStep({ state: 'waiting', authMode: 'application', link, metadata }),
  ],
  [
    'authorize error with link',
    'modal',
    authorizeStep({ state: 'error', authMode: 'delegated', link, error: long(5000, 'AADSTS65001'), metadata }),
  ],
  [
    'authorize error, retry',
    'modal',
    authorizeStep({
      state: 'error',
      authMode: 'delegated',
      link: null,
      error: 'The sign-in link expired.',
      metadata: {},
    }),
  ],
  [
    'groups setup, none chosen',
    'modal',
    groupsModal({ ...groupsData, selected: [], tenantPeople: null, signedInAs: null }, 'setup'),
  ],
  ['groups setup, 100 long groups', 'modal', groupsModal({ ...groupsData, signedInAs: long(3000) }, 'setup')],
  [
    'groups edit, 150 groups',
    'modal',
    groupsModal({ ...groupsData, selected: [...hundredGroups, ...hundredGroups.slice(0, 50)] }, 'edit'),
  ],
  ['settings setup', 'modal', settingsModal(settings, 'setup')],
  [
    'settings edit, nothing chosen',
    'modal',
    settingsModal({ ...settings, adminChannel: null, photoSync: false, hourlySync: false }, 'edit'),
  ],
  [
    'settings with unknown attributes',
    'modal',
    settingsModal({ ...settings, mapping: { ...DEFAULT_MAPPING, email: 'gone', jobTitle: UNMAPPED } }, 'setup'),
  ],
  [
    'preview loading',
    'modal',
    previewModal({ report: null, groups: [], hourlySync: true, syncEvery: '60 minutes', metadata }),
  ],
  [
    'preview error',
    'modal',
    previewModal({
      report: { ok: false, refusal: { code: 'preview_failed', detail: long(4000, 'Group missing') } },
      groups: [],
      hourlySync: true,
      syncEvery: '60 minutes',
      metadata,
    }),
  ],
  [
    'preview ready',
    'modal',
    previewModal({
      report: { ok: true, people: 1995, ignored: 5, reasons: run().ignored },
      groups: source().groups,
      hourlySync: true,
      syncEvery: '60 minutes',
      metadata,
    }),
  ],
  [
    'preview extreme',
    'modal',
    previewModal({
      report: { ok: true, people: 12_345_678, ignored: 888_888, reasons: manyReasons },
      groups: hundredGroups,
      hourlySync: false,
      syncEvery: '60 minutes',
      metadata,
    }),
  ],
  [
    'preview nobody valid',
    'modal',
    previewModal({
      report: { ok: true, people: 0, ignored: 2000, reasons: manyReasons.slice(0, 2) },
      groups: [],
      hourlySync: true,
      syncEvery: '60 minutes',
      metadata,
    }),
  ],
  ['done', 'modal', doneModal({ adminChannel: 'C0ADMINS', hourlySync: true, syncEvery: '60 minutes', people: 1995 })],
  [
    'done, manual only',
    'modal',
    doneModal({ adminChannel: null, hourlySync: false, syncEvery: '60 minutes', people: 1 }),
  ],
  [
    'reauthorize ready',
    'modal',
    reauthorizeModal({
      state: 'ready',
      authMode: 'delegated',
      link,
      reason: 'The provided grant has been revoked.',
      previousUpn: 'adele.vance@contoso.com',
      metadata,
    }),
  ],
  [
    'reauthorize waiting, extreme',
    'modal',
    reauthorizeModal({
      state: 'waiting',
      authMode: 'application',
      link,
      reason: long(5000),
      previousUpn: long(3000),
      metadata,
    }),
  ],
  [
    'reauthorize error',
    'modal',
    reauthorizeModal({
      state: 'error',
      authMode: 'delegated',
      link: null,
      reason: null,
      previousUpn: null,
      error: 'Consent was declined.',
      metadata,
    }),
  ],
  [
    'reauthorize done',
    'modal',
    reauthorizeModal({ state: 'done', authMode: 'delegated', link: null, reason: null, previousUpn: null, metadata }),
  ],
  ['notice', 'modal', noticeModal('This window is out of date', long(5000))],
  ['not admin modal', 'modal', notAdminModal()],
  ['help', 'message', helpMessage()],
  ['help for unknown', 'message', helpMessage(long(3000, 'frob'))],
  ['not admin', 'message', notAdminMessage()],
  ['not set up', 'message', notSetUpMessage()],
  ...sources.map(([name, s]): [string, SurfaceKind, unknown] => [`status ${name}`, 'message', statusMessage(s)]),
  ['status, no source', 'message', statusMessage(null)],
  [
    'already running',
    'message',
    alreadyRunningMessage(run({ status: 'running', requestedBy: 'U0OWNER', trigger: 'manual' })),
  ],
  ['already running, scheduled', 'message', alreadyRunningMessage(run({ status: 'running' }))],
  ['sync started', 'message', syncStartedMessage('C0ADMINS')],
  ['sync started, no channel', 'message', syncStartedMessage(null)],
  ['enabled', 'message', enabledMessage(source())],
  ['disabled', 'message', disabledMessage()],
  ['problem', 'message', problemMessage(long(5000, 'Reauthorize first'))],
  [
    'progress starting',
    'message',
    progressMessage({ ...progress, phase: 'starting', read: 0, written: 0, total: null }),
  ],
  ['progress reading', 'message', progressMessage(progress)],
  [
    'progress photos, extreme',
    'message',
    progressMessage({
      ...progress,
      phase: 'photos',
      read: 12_345_678,
      written: 12_345_678,
      total: 12_345_678,
      photos: 99_999,
    }),
  ],
  [
    'progress delta, no total',
    'message',
    progressMessage({ ...progress, mode: 'delta', phase: 'applying', total: null }),
  ],
  ['summary succeeded', 'message', summaryMessage(run({ requestedBy: 'U0ADMIN', trigger: 'manual' }))],
  ['summary extreme', 'message', summaryMessage(extremeRun)],
  [
    'summary failed',
    'message',
    summaryMessage(failedRun('group_missing', long(5000, 'Group "Sales" no longer exists'))),
  ],
  ['summary held', 'message', summaryMessage(run({ status: 'held' }))],
  ...sources.map(([name, s]): [string, SurfaceKind, unknown] => [
    `home admin ${name}`,
    'home',
    homeView({ audience: 'admin', source: s }),
  ]),
  ['home admin, no source', 'home', homeView({ audience: 'admin', source: null })],
  ['home member', 'home', homeView({ audience: 'member', directoryReady: true, people: 1997 })],
  ['home member, not ready', 'home', homeView({ audience: 'member', directoryReady: false, people: null })],
  ...alerts.map(([name, a]): [string, SurfaceKind, unknown] => [`alert ${name}`, 'message', alertMessage(a)]),
  ['recovered', 'message', recoveredReply({ run: run(), failures: 3, since: T0 })],
  ['recovered extreme', 'message', recoveredReply({ run: extremeRun, failures: 9999, since: T0 })],
  ['cannot post', 'message', cannotPostMessage('G0PRIVATE')],
];

describe('every view and message', () => {
  it.each(catalogue)('%s stays within Slack’s limits', (_name, kind, payload) => {
    expect(validateSurface(kind, payload)).toEqual([]);
  });
});

type Block = KnownBlock & Record<string, unknown>;
const blocksOf = (payload: unknown) => (payload as { blocks: Block[] }).blocks;
const allText = (payload: unknown) => JSON.stringify(payload);
const buttons = (payload: unknown) =>
  blocksOf(payload)
    .filter((b) => b.type === 'actions')
    .flatMap((b) => b.elements as { action_id: string; text: { text: string }; url?: string; value?: string }[]);
const inputs = (payload: unknown) => blocksOf(payload).filter((b) => b.type === 'input') as Block[];

describe('setup wizard', () => {
  it('step 1 explains what is read and offers the personal sign-in link', () => {
    const view = authorizeStep({ state: 'ready', authMode: 'delegated', link, metadata });
    expect(view.callback_id).toBe(callbackIds.setupAuthorize);
    expect(allText(view)).toContain('never changes anything in Entra ID');
    expect(allText(view)).toContain('GroupMember.Read.All');
    const [signIn] = buttons(view);
    expect(signIn).toMatchObject({
      action_id: actionIds.authorizeLink,
      url: link.url,
      text: { text: 'Sign in with Microsoft' },
    });
    expect(allText(view)).toContain(`<!date^${Math.floor(link.expiresAt.getTime() / 1000)}^{time}|`);
    expect(decodeMetadata(view.private_metadata)).toEqual(metadata);
  });

  it('step 1 shows waiting and error states in plain words, with a fresh start when the link is gone', () => {
    expect(allText(authorizeStep({ state: 'waiting', authMode: 'delegated', link, metadata }))).toContain(
      'Waiting for you',
    );
    const error = authorizeStep({
      state: 'error',
      authMode: 'delegated',
      link: null,
      error: 'The link <expired> & was used',
      metadata,
    });
    expect(allText(error)).toContain('The link &lt;expired&gt; &amp; was used');
    expect(buttons(error).map((b) => b.action_id)).toEqual([actionIds.setupRetry]);
  });

  it('step 2 searches groups from the first letter, keeps the chosen ones, and says what empty means', () => {
    const view = groupsModal({ ...groupsData, selected: hundredGroups.slice(0, 2) }, 'setup');
    const [input] = inputs(view);
    expect(input.block_id).toBe(blockIds.groups);
    expect(input.optional).toBe(true);
    expect(input.hint).toMatchObject({
      text: expect.stringContaining('Leave empty to import everyone (123,456 people)'),
    });
    expect(input.element).toMatchObject({
      type: 'multi_external_select',
      action_id: actionIds.groupsSelect,
      min_query_length: 1,
      initial_options: [
        { value: hundredGroups[0].id, text: { text: expect.stringMatching(/^Group 0 x+…$/) } },
        { value: hundredGroups[1].id, text: { text: 'Team 1' } },
      ],
    });
    expect(view.submit).toMatchObject({ text: 'Next' });
    const edit = groupsModal(groupsData, 'edit');
    expect(edit.callback_id).toBe(callbackIds.editGroups);
    expect(edit.submit).toMatchObject({ text: 'Save' });
  });

  it('step 3 has a select per profile field, marks the four required ones and offers "Not mapped" only for the rest', () => {
    const view = settingsModal(settings, 'setup');
    const mappingInputs = inputs(view).filter((b) => String(b.block_id).startsWith('mapping_'));
    expect(mappingInputs.map((b) => b.block_id)).toEqual(PROFILE_FIELDS.map((f) => blockIds.mapping(f.key)));
    for (const field of PROFILE_FIELDS) {
      const block = mappingInputs.find((b) => b.block_id === blockIds.mapping(field.key))!;
      const element = block.element as { options: { value: string }[]; initial_option: { value: string } };
      expect(block.optional).toBe(!field.required);
      expect((block.label as { text: string }).text.endsWith('(required)')).toBe(field.required);
      expect(element.options.some((o) => o.value === UNMAPPED)).toBe(!field.required);
      expect(element.options.length).toBeLessThanOrEqual(100);
      expect(element.initial_option.value).toBe(DEFAULT_MAPPING[field.key]);
    }
    const channel = inputs(view).find((b) => b.block_id === blockIds.adminChannel)!;
    expect(channel.element).toMatchObject({ type: 'conversations_select', initial_conversation: 'C0ADMINS' });
    const options = inputs(view).find((b) => b.block_id === blockIds.options)!;
    expect((options.element as { initial_options: { value: string }[] }).initial_options.map((o) => o.value)).toEqual([
      'photo_sync',
      'hourly_sync',
    ]);
    expect(view.submit).toMatchObject({ text: 'Preview' });
  });

  it('step 3 leaves a required field empty rather than guessing when its attribute is unknown', () => {
    const view = settingsModal({ ...settings, mapping: { ...DEFAULT_MAPPING, email: 'gone' } }, 'setup');
    const email = inputs(view).find((b) => b.block_id === blockIds.mapping('email'))!;
    expect((email.element as Record<string, unknown>).initial_option).toBeUndefined();
    const unset = settingsModal({ ...settings, adminChannel: null }, 'edit');
    const channel = inputs(unset).find((b) => b.block_id === blockIds.adminChannel)!;
    expect(channel.element).toMatchObject({ default_to_current_conversation: true });
  });

  it('the preview counts who is imported and skipped, with the top reasons and examples, then offers Enable', () => {
    const view = previewModal({
      report: { ok: true, people: 1995, ignored: 5, reasons: run().ignored },
      groups: [],
      hourlySync: true,
      syncEvery: '60 minutes',
      metadata,
    });
    const text = allText(view);
    expect(text).toContain('1,995 people');
    expect(text).toContain(
      'missing Email (mail)*: 4 people, e.g. `svc-backup@contoso.onmicrosoft.com` and `room-1@contoso.com`',
    );
    expect(text).toContain('Everyone in the tenant');
    expect(view.submit).toMatchObject({ text: 'Enable' });
    const many = previewModal({
      report: { ok: true, people: 1, ignored: 2, reasons: manyReasons },
      groups: [],
      hourlySync: true,
      syncEvery: '60 minutes',
      metadata,
    });
    expect(allText(many)).toContain('for 55 other reasons');
  });

  it('the preview refuses Enable when nobody would be imported, and while loading or failed', () => {
    const none = previewModal({
      report: { ok: true, people: 0, ignored: 3, reasons: [] },
      groups: [],
      hourlySync: true,
      syncEvery: '60 minutes',
      metadata,
    });
    expect(none.submit).toBeUndefined();
    expect(allText(none)).toContain('Nobody has all four required values');
    expect(
      previewModal({ report: null, groups: [], hourlySync: true, syncEvery: '60', metadata }).submit,
    ).toBeUndefined();
    const failed = previewModal({
      report: { ok: false, refusal: { code: 'preview_failed', detail: 'Group "Sales" no longer exists.' } },
      groups: [],
      hourlySync: true,
      syncEvery: '60',
      metadata,
    });
    expect(failed.submit).toBeUndefined();
    expect(buttons(failed).map((b) => b.action_id)).toEqual([actionIds.setupBackToSettings]);
  });
});

describe('alerts', () => {
  const actionsOf = (a: AlertData) => buttons(alertMessage(a)).map((b) => b.action_id);

  it('offers the button that fixes each failure', () => {
    expect(actionsOf(alertBase)).toEqual([actionIds.reauthorize]);
    expect(actionsOf({ ...alertBase, code: 'group_missing' })).toEqual([actionIds.editGroups]);
    expect(actionsOf({ ...alertBase, code: 'no_valid_people' })).toEqual([actionIds.editSettings]);
    expect(actionsOf({ ...alertBase, code: 'graph_unavailable' })).toEqual([actionIds.syncNow]);
    expect(actionsOf({ ...alertBase, code: 'app_misconfigured' })).toEqual([]);
    expect(actionsOf(alerts.find(([n]) => n === 'held')![1])).toEqual([
      actionIds.approveRemovals,
      actionIds.rejectRemovals,
    ]);
  });

  it('names the group that is gone, the variable to fix, and the people a held run would remove', () => {
    expect(
      allText(
        alertMessage({ ...alertBase, code: 'group_missing', missingGroups: [{ id: 'g', name: 'Contractors (EU)' }] }),
      ),
    ).toContain('A selected group no longer exists*: *Contractors (EU)*');
    expect(allText(alertMessage({ ...alertBase, code: 'app_misconfigured', envVar: 'AZURE_CLIENT_ID' }))).toContain(
      '`AZURE_CLIENT_ID`',
    );
    const held = alertMessage(alerts.find(([n]) => n === 'held')![1]);
    expect(held.text).toBe('aad-sync: Sync held: 250 people would be removed');
    expect(allText(held)).toContain('Adele Vance, Alex Wilber and Diego Siciliani');
    expect(buttons(held)[0].value).toBe('42');
  });

  it('shows the streak when updated instead of reposted, and replaces buttons with who resolved it', () => {
    const streak = alertMessage({ ...alertBase, count: 37, lastAt: minutes(60) });
    expect(streak.text).toContain('(37 times)');
    expect(allText(streak)).toMatch(/Failed 37 times since <!date\^\d+\^/);
    const approved = alertMessage(alerts.find(([n]) => n === 'held resolved: approved')![1]);
    expect(buttons(approved)).toEqual([]);
    expect(allText(approved)).toContain('Approved by <@U0ADMIN>');
    expect(allText(approved)).toContain('5,000 people removed');
    expect(allText(alertMessage({ ...alertBase, resolution: { kind: 'resolved', by: null, at: T0 } }))).toContain(
      'Resolved <!date',
    );
  });

  it('every alert reads sensibly in a notification', () => {
    for (const [, a] of alerts) {
      const { text } = alertMessage(a);
      expect(text).toMatch(/^aad-sync: [A-Z]/);
      expect(text).not.toMatch(/[*:]{2}|:[a-z_]+:/);
    }
  });
});

describe('replies, progress and Home', () => {
  it('status lists state, counts, schedule and recent runs', () => {
    const text = allText(statusMessage(source()));
    expect(text).toContain('Active*: syncing every 60 minutes');
    expect(text).toContain('1,997 people');
    expect(text).toContain('All Employees and Contractors (EU)');
    expect(text).toContain('adele.vance@contoso.com');
    expect(text).toContain('12 added');
  });

  it('progress shows counts and a bar when the total is known, counts alone when it is not', () => {
    const withTotal = progressMessage(progress);
    expect(withTotal.text).toBe('Syncing from Entra ID: 1,200 of 2,000 people read, 300 written');
    expect(allText(withTotal)).toContain('▰▰▰▰▰▰▱▱▱▱ 60%');
    expect(allText(progressMessage({ ...progress, total: null }))).not.toContain('▰');
  });

  it('the summary gives counts, duration and mode, and failures say the directory is unchanged', () => {
    const ok = summaryMessage(run({ trigger: 'manual', requestedBy: 'U0ADMIN' }));
    expect(ok.text).toBe('Sync finished: 2,000 read · 12 added · 40 updated · 2 removed · 5 skipped');
    expect(allText(ok)).toContain('in 1 min 30 s');
    expect(allText(ok)).toContain('Changes-only sync · started by <@U0ADMIN>');
    expect(allText(summaryMessage(failedRun('graph_unavailable', 'Graph kept answering 503.')))).toContain(
      'The directory is unchanged',
    );
  });

  it('already running says who started it and when', () => {
    const text = allText(alreadyRunningMessage(run({ requestedBy: 'U0OWNER', trigger: 'manual', startedAt: T0 })));
    expect(text).toContain(`started by <@U0OWNER> <!date^${T0.getTime() / 1000}^`);
  });

  it('the admin Home offers Enable when disabled and marks Reauthorize when the sign-in expired', () => {
    const disabled = buttons(
      homeView({ audience: 'admin', source: source({ status: 'disabled', syncEnabled: false }) }),
    );
    expect(disabled.map((b) => b.text.text)).toContain('Enable');
    const reauth = buttons(homeView({ audience: 'admin', source: source({ status: 'needs_reauth' }) }));
    expect(reauth.find((b) => b.action_id === actionIds.reauthorize)).toMatchObject({ style: 'danger' });
    const photos = buttons(homeView({ audience: 'admin', source: source({ photoSync: true }) }));
    expect(photos.find((b) => b.action_id === actionIds.photoSync)).toMatchObject({
      value: 'off',
      text: { text: 'Photo sync: on' },
    });
  });
});

describe('views stay pure', () => {
  it('import nothing from Slack libraries at run time', () => {
    const dir = new URL('../../../src/slack/views/', import.meta.url);
    for (const file of readdirSync(dir)) {
      const code = readFileSync(new URL(file, dir), 'utf8');
      const runtime = code.match(
        /^import (?!type ).*from '(@slack\/[^']+|\.\.\/\.\.\/(db|azure|http|emulators)[^']*)'/gm,
      );
      expect(runtime, file).toBeNull();
    }
  });
});
