import type { ProfileFieldKey } from '../sync/mapping.ts';

/**
 * Every callback, action and block id the app puts on a Slack surface. Views and listeners both import
 * from here so a rename cannot leave a button without its listener.
 */

/** `callback_id` of each modal; one per wizard step so a listener never has to guess where a submission came from. */
export const callbackIds = {
  setupAuthorize: 'setup_authorize',
  setupGroups: 'setup_groups',
  setupSettings: 'setup_settings',
  setupPreview: 'setup_preview',
  setupDone: 'setup_done',
  editGroups: 'edit_groups',
  editSettings: 'edit_settings',
  reauthorize: 'reauthorize',
  notice: 'notice',
} as const;

/** Prefix of URL buttons: Slack still sends `block_actions` for them, and one generic listener acks them. */
export const LINK_PREFIX = 'link:';

export const actionIds = {
  authorizeLink: `${LINK_PREFIX}authorize`,
  groupsSelect: 'groups_select',
  attributeSelect: 'attribute_select',
  adminChannelSelect: 'admin_channel_select',
  optionsSelect: 'options_select',
  guestWhoisSelect: 'guest_whois_select',
  setupOpen: 'setup_open',
  setupRetry: 'setup_retry',
  setupBackToSettings: 'setup_back_to_settings',
  syncNow: 'sync_now',
  enable: 'enable_sync',
  disable: 'disable_sync',
  editGroups: 'edit_groups',
  editSettings: 'edit_settings',
  reauthorize: 'reauthorize',
  photoSync: 'photo_sync',
  approveRemovals: 'approve_removals',
  rejectRemovals: 'reject_removals',
} as const;

export const blockIds = {
  groups: 'groups',
  mapping: (field: ProfileFieldKey) => `mapping_${field}`,
  adminChannel: 'admin_channel',
  options: 'options',
  guestWhois: 'guest_whois',
  authorizeActions: 'authorize_actions',
  sourceActions: 'source_actions',
  alertActions: 'alert_actions',
} as const;

/** Values of the settings checkboxes, and of the placeholder options a group search answers with. */
export const optionValues = {
  photoSync: 'photo_sync',
  hourlySync: 'hourly_sync',
  /** The single option shown when the search failed; never a group. */
  searchFailed: 'search_failed',
  /** The single option a non-admin's search gets. */
  notAllowed: 'not_allowed',
} as const;

/** Values of the Photo sync toggle button. */
export const toggleValues = { on: 'on', off: 'off' } as const;

/** Action ids of the /whois messages. */
export const WHOIS_ACTIONS = {
  /** Shows another person's card in place of this one; `value` is the profile id. Suffixed `:<n>`, unique per block. */
  showPerson: 'whois:show_person',
  /** Posts the card to the channel for everyone; `value` is the profile id. */
  share: 'whois:share',
} as const;

/** Matches every `showPerson` button, whatever its suffix. */
export const SHOW_PERSON_ACTION = /^whois:show_person(:[a-z0-9]+)?$/;

export const WHOIS_BLOCKS = {
  card: 'whois_card',
  details: 'whois_details',
  cardActions: 'whois_card_actions',
  others: 'whois_others',
  suggestions: 'whois_suggestions',
} as const;
