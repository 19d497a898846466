import type { GroupRef, Mapping, PreviewReport } from '../../services/model.ts';
import { ENTRA_ATTRIBUTES, PROFILE_FIELDS, UNMAPPED } from '../../sync/mapping.ts';
import { actionIds, blockIds, callbackIds, optionValues } from '../ids.ts';
import { encodeMetadata, type ModalMetadata } from '../metadata.ts';
import {
  actions,
  button,
  channelMention,
  context,
  divider,
  escapeText,
  fields,
  type KnownBlock,
  type ModalView,
  modal,
  option,
  type PlainTextOption,
  people,
  plain,
  section,
  slackDate,
} from './kit.ts';
import { refusalText } from './refusals.ts';
import { groupsText, ignoredLines } from './runs.ts';

/** The `/aad setup` wizard (Authorize → Groups → Mappings & settings → Preview → Done) and its edit modals. */

const TITLE = 'Set up aad-sync';
const step = (n: number, name: string) => `*Step ${n} of 3 · ${name}*`;

export interface AuthorizeData {
  /** `preparing`: the link is being made; `ready`: link shown; `waiting`: the admin opened it; `error`: `error` says why. */
  state: 'preparing' | 'ready' | 'waiting' | 'error';
  authMode: 'delegated' | 'application';
  /** The personal, single-use sign-in link; null in the error state until a new one is made with "Try again". */
  link: { url: string; expiresAt: Date } | null;
  error?: string;
  metadata: ModalMetadata;
}

const WHAT_IS_READ = [
  '*What aad-sync reads* (it never changes anything in Entra ID):',
  '• People: name, email, job title, department, office, phones, employee ID and manager',
  '• Groups you choose and their members, to import only those people',
  '• Profile photos, only if you turn photo sync on',
].join('\n');

function whoSignsIn(authMode: AuthorizeData['authMode']): string {
  return authMode === 'application'
    ? 'Sign in as a *Global Administrator* (or Privileged Role Administrator) to grant the app read-only ' +
        '*application* permissions for your organization. Syncing keeps working if that person later leaves.'
    : 'Sign in with a Microsoft account that can consent for your organization, such as a *Global Administrator*. ' +
        'Microsoft asks you to approve read-only access: `User.Read.All`, `GroupMember.Read.All`, ' +
        '`ProfilePhoto.Read.All` and `offline_access` (to keep syncing while you are away).';
}

/** The blocks that offer the sign-in link; shared by setup step 1 and the Reauthorize modal. */
export function signInBlocks(
  state: AuthorizeData['state'],
  link: AuthorizeData['link'],
  retryActionId: string,
): KnownBlock[] {
  if (state === 'preparing') return [context(':hourglass_flowing_sand: Preparing your personal sign-in link…')];
  if (!link) {
    return [
      actions(blockIds.authorizeActions, [button({ text: 'Try again', actionId: retryActionId, style: 'primary' })]),
    ];
  }
  return [
    actions(blockIds.authorizeActions, [
      button({ text: 'Sign in with Microsoft', actionId: actionIds.authorizeLink, url: link.url, style: 'primary' }),
    ]),
    context(
      `:lock: This link is only for you and works once, until ${slackDate(link.expiresAt, '{time}')}. ` +
        'Your Microsoft password never reaches aad-sync.',
    ),
  ];
}

export function authorizeStep(data: AuthorizeData): ModalView {
  const blocks: KnownBlock[] = [
    section(`${step(1, 'Authorize')}\n${whoSignsIn(data.authMode)}`),
    section(WHAT_IS_READ),
  ];
  if (data.state === 'error') {
    blocks.push(
      divider(),
      section(`:warning: *Sign-in did not work.*\n${escapeText(data.error ?? 'Please try again.')}`),
    );
  }
  blocks.push(...signInBlocks(data.state, data.link, actionIds.setupRetry));
  if (data.state === 'waiting') {
    blocks.push(
      context(
        ':hourglass_flowing_sand: Waiting for you to finish signing in. Keep this window open: it moves on by itself.',
      ),
    );
  }
  return modal({
    callbackId: callbackIds.setupAuthorize,
    title: TITLE,
    blocks,
    close: 'Cancel',
    privateMetadata: encodeMetadata(data.metadata),
  });
}

export interface GroupsData {
  selected: GroupRef[];
  /** People with an enabled account, for "leave empty to import everyone (N people)"; null when unknown. */
  tenantPeople: number | null;
  /** UPN of the Microsoft account that authorized, for reassurance. */
  signedInAs: string | null;
  metadata: ModalMetadata;
}

export const MAX_GROUPS = 100;

export const groupOption = (g: GroupRef): PlainTextOption => option(g.name, g.id);

function groupsInput(data: GroupsData): KnownBlock {
  const everyone = data.tenantPeople === null ? 'everyone' : `everyone (${people(data.tenantPeople)})`;
  return {
    type: 'input',
    block_id: blockIds.groups,
    optional: true,
    label: plain('Groups to import'),
    hint: plain(`Members of nested groups are included. Leave empty to import ${everyone}.`),
    element: {
      type: 'multi_external_select',
      action_id: actionIds.groupsSelect,
      placeholder: plain('Type a group name'),
      min_query_length: 1,
      max_selected_items: MAX_GROUPS,
      ...(data.selected.length > 0 ? { initial_options: data.selected.slice(0, MAX_GROUPS).map(groupOption) } : {}),
    },
  };
}

/** Step 2 of the wizard (`mode: 'setup'`) or the Edit groups modal (`mode: 'edit'`). */
export function groupsModal(data: GroupsData, mode: 'setup' | 'edit'): ModalView {
  const who = data.signedInAs ? `:white_check_mark: Signed in as ${escapeText(data.signedInAs)}` : null;
  const intro =
    mode === 'setup'
      ? `${step(2, 'Groups')}\nChoose whose profiles go into the directory.`
      : 'Choose whose profiles go into the directory. The next sync reads everyone again and applies the change.';
  return modal({
    callbackId: mode === 'setup' ? callbackIds.setupGroups : callbackIds.editGroups,
    title: mode === 'setup' ? TITLE : 'Edit groups',
    blocks: [section(intro), groupsInput(data), ...(who ? [context(who)] : [])],
    submit: mode === 'setup' ? 'Next' : 'Save',
    close: 'Cancel',
    privateMetadata: encodeMetadata(data.metadata),
  });
}

export interface SettingsData {
  mapping: Mapping;
  adminChannel: string | null;
  photoSync: boolean;
  hourlySync: boolean;
  /** e.g. "60 minutes". */
  syncEvery: string;
  metadata: ModalMetadata;
}

const NOT_MAPPED = option('Not mapped', UNMAPPED);
const attributeOptions = ENTRA_ATTRIBUTES.map((a) => option(a.label, a.name));

function mappingInput(field: (typeof PROFILE_FIELDS)[number], mapping: Mapping): KnownBlock {
  const choices = field.required ? attributeOptions : [NOT_MAPPED, ...attributeOptions];
  const current = choices.find((o) => o.value === mapping[field.key]) ?? (field.required ? undefined : NOT_MAPPED);
  return {
    type: 'input',
    block_id: blockIds.mapping(field.key),
    optional: !field.required,
    label: plain(field.required ? `${field.label} (required)` : field.label),
    ...(field.required ? { hint: plain('People without a value here are skipped.') } : {}),
    element: {
      type: 'static_select',
      action_id: actionIds.attributeSelect,
      placeholder: plain('Choose an Entra attribute'),
      options: choices,
      ...(current ? { initial_option: current } : {}),
    },
  };
}

function settingsInputs(data: SettingsData): KnownBlock[] {
  const checked = [
    option('Import profile photos', optionValues.photoSync, 'Shown on /whois cards'),
    option(`Sync every ${data.syncEvery}`, optionValues.hourlySync, 'Keeps the directory up to date by itself'),
  ];
  const initial = checked.filter(
    (o) =>
      (o.value === optionValues.photoSync && data.photoSync) ||
      (o.value === optionValues.hourlySync && data.hourlySync),
  );
  return [
    {
      type: 'input',
      block_id: blockIds.adminChannel,
      label: plain('Admin channel'),
      hint: plain(
        'Where alerts about failed syncs go. aad-sync joins a public channel by itself; ' +
          'invite it to a private one with /invite.',
      ),
      element: {
        type: 'conversations_select',
        action_id: actionIds.adminChannelSelect,
        placeholder: plain('Choose a channel'),
        filter: { include: ['public', 'private'], exclude_bot_users: true, exclude_external_shared_channels: true },
        ...(data.adminChannel
          ? { initial_conversation: data.adminChannel }
          : { default_to_current_conversation: true }),
      },
    },
    {
      type: 'input',
      block_id: blockIds.options,
      optional: true,
      label: plain('Options'),
      element: {
        type: 'checkboxes',
        action_id: actionIds.optionsSelect,
        options: checked,
        ...(initial.length > 0 ? { initial_options: initial } : {}),
      },
    },
  ];
}

/** Step 3 of the wizard (`mode: 'setup'`) or the Edit mappings modal (`mode: 'edit'`). */
export function settingsModal(data: SettingsData, mode: 'setup' | 'edit'): ModalView {
  const intro = 'Choose the Entra attribute that fills each profile field. The defaults suit most tenants.';
  return modal({
    callbackId: mode === 'setup' ? callbackIds.setupSettings : callbackIds.editSettings,
    title: mode === 'setup' ? TITLE : 'Mappings & settings',
    blocks: [
      section(mode === 'setup' ? `${step(3, 'Mappings & settings')}\n${intro}` : intro),
      ...PROFILE_FIELDS.map((f) => mappingInput(f, data.mapping)),
      divider(),
      ...settingsInputs(data),
    ],
    submit: mode === 'setup' ? 'Preview' : 'Save',
    close: 'Cancel',
    privateMetadata: encodeMetadata(data.metadata),
  });
}

export interface PreviewData {
  /** null while the preview is still being computed. */
  report: PreviewReport | null;
  groups: GroupRef[];
  hourlySync: boolean;
  syncEvery: string;
  metadata: ModalMetadata;
}

const backToSettings = () =>
  actions(blockIds.sourceActions, [button({ text: 'Change settings', actionId: actionIds.setupBackToSettings })]);

export function previewModal(data: PreviewData): ModalView {
  const base = { callbackId: callbackIds.setupPreview, title: TITLE, privateMetadata: encodeMetadata(data.metadata) };
  const report = data.report;
  if (report === null) {
    return modal({
      ...base,
      blocks: [
        section(
          ':hourglass_flowing_sand: *Reading your directory…*\nCounting who would be imported. This takes a few seconds.',
        ),
      ],
      close: 'Cancel',
    });
  }
  if (!report.ok) {
    return modal({
      ...base,
      blocks: [
        section(`:warning: *The preview did not work.*\n${escapeText(refusalText(report.refusal))}`),
        backToSettings(),
      ],
      close: 'Cancel',
    });
  }
  const blocks: KnownBlock[] = [
    section('*Preview*: nothing has been imported yet.'),
    fields([
      ['Will be imported', people(report.people)],
      ['Skipped', people(report.ignored)],
      ['Groups', groupsText(data.groups)],
      ['Automatic sync', data.hourlySync ? `Every ${escapeText(data.syncEvery)}` : 'Off (Sync now only)'],
    ]),
  ];
  if (report.reasons.length > 0) {
    blocks.push(section(`*Why people are skipped*\n${ignoredLines(report.reasons)}`));
  }
  if (report.people === 0) {
    blocks.push(
      section(
        ':no_entry: *Nobody has all four required values* (Unique Identifier, First name, Last name, Email). ' +
          'Change the mappings so they point at attributes your tenant fills in.',
      ),
      backToSettings(),
    );
    return modal({ ...base, blocks, close: 'Cancel' });
  }
  blocks.push(
    section(`Press *Enable* to import ${people(report.people)} now and keep the directory in step with Entra ID.`),
    backToSettings(),
  );
  return modal({ ...base, blocks, submit: 'Enable', close: 'Cancel' });
}

export interface DoneData {
  adminChannel: string | null;
  hourlySync: boolean;
  syncEvery: string;
  /** How many people the first sync is importing, when known. */
  people: number | null;
}

export function doneModal(data: DoneData): ModalView {
  const lines = [
    `:white_check_mark: *You're all set.* The first sync is importing ${data.people === null ? 'everyone' : people(data.people)} now.`,
    data.hourlySync
      ? `• It runs again every ${escapeText(data.syncEvery)} and brings every change from Entra ID.`
      : '• Automatic sync is off: use *Sync now* on the Home tab or `/aad sync` whenever you like.',
    data.adminChannel
      ? `• Alerts and sync results go to ${channelMention(data.adminChannel)}.`
      : '• Choose an admin channel in Mappings & settings to receive alerts.',
    '• The app’s *Home* tab shows status and every control.',
    '• Everyone can now look people up with `/whois`.',
  ];
  return modal({ callbackId: callbackIds.setupDone, title: TITLE, blocks: [section(lines.join('\n'))], close: 'Done' });
}
