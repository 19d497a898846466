import type { EmulatedMessage, EmulatedView } from './workspace.ts';

/**
 * Request bodies Slack sends to an app, shaped like the real ones (field names and nesting from Slack's
 * interaction and event payload references), plus `formValues` to fill a modal the way a person would.
 */

export interface Who {
  userId: string;
  teamId: string;
  /** Set in an Enterprise Grid org, where the app is installed org-wide. */
  enterpriseId?: string;
}

const userOf = (who: Who) => ({
  id: who.userId,
  username: who.userId.toLowerCase(),
  name: who.userId.toLowerCase(),
  team_id: who.teamId,
});
const teamOf = (who: Who) => ({
  id: who.teamId,
  domain: 'emulated',
  ...(who.enterpriseId ? { enterprise_id: who.enterpriseId } : {}),
});
/** Interaction payloads name the org and say whether the app is installed org-wide ("Organization-ready apps"). */
const gridOf = (who: Who) => ({
  enterprise: who.enterpriseId ? { id: who.enterpriseId, name: `Org ${who.enterpriseId}` } : null,
  is_enterprise_install: Boolean(who.enterpriseId),
});
const actionTs = () => (Date.now() / 1000).toFixed(6);

export function commandForm(fields: {
  command: string;
  text: string;
  who: Who;
  channelId: string;
  appId: string;
  responseUrl: string;
  triggerId: string;
}): Record<string, string> {
  return {
    token: 'legacy-verification-token',
    team_id: fields.who.teamId,
    team_domain: 'emulated',
    channel_id: fields.channelId,
    channel_name: fields.channelId.startsWith('D') ? 'directmessage' : fields.channelId.toLowerCase(),
    user_id: fields.who.userId,
    user_name: fields.who.userId.toLowerCase(),
    command: fields.command,
    text: fields.text,
    api_app_id: fields.appId,
    ...(fields.who.enterpriseId
      ? { enterprise_id: fields.who.enterpriseId, enterprise_name: `Org ${fields.who.enterpriseId}` }
      : {}),
    is_enterprise_install: String(Boolean(fields.who.enterpriseId)),
    response_url: fields.responseUrl,
    trigger_id: fields.triggerId,
  };
}

type Element = Record<string, unknown>;

/** The block and element an action id lives in, searched through `blocks`. */
export function findElement(
  blocks: Record<string, unknown>[],
  actionId: string,
): { blockId: string; element: Element } | undefined {
  for (const block of blocks) {
    const candidates = [block.element, block.accessory, ...((block.elements as unknown[]) ?? [])];
    for (const candidate of candidates) {
      const el = candidate as Element | undefined;
      if (el && el.action_id === actionId) return { blockId: String(block.block_id ?? ''), element: el };
    }
  }
  return undefined;
}

export interface BlockActionInput {
  who: Who;
  actionId: string;
  /** Required when the action id is not on the surface (or to override the button's own value). */
  value?: string;
  /** The modal or Home tab the button is on. */
  view?: EmulatedView;
  /** The message the button is on. */
  message?: EmulatedMessage;
  /** For selects: the chosen option value. */
  selectedValue?: string;
  appId: string;
  triggerId: string;
  responseUrl?: string;
}

export function blockActionPayload(input: BlockActionInput): Record<string, unknown> {
  const blocks = (input.view?.blocks ?? input.message?.blocks ?? []) as Record<string, unknown>[];
  const found = findElement(blocks, input.actionId);
  const el = found?.element ?? { type: 'button', action_id: input.actionId };
  const action: Record<string, unknown> = {
    type: el.type,
    action_id: input.actionId,
    block_id: found?.blockId ?? 'unknown',
    action_ts: actionTs(),
  };
  if (el.type === 'button') {
    action.text = el.text;
    const value = input.value ?? el.value;
    if (value !== undefined) action.value = value;
    if (el.url !== undefined) action.url = el.url;
    if (el.style !== undefined) action.style = el.style;
  } else if (input.selectedValue !== undefined) {
    const options = (el.options as { value: string }[] | undefined) ?? [];
    action.selected_option = options.find((o) => o.value === input.selectedValue) ?? {
      text: { type: 'plain_text', text: input.selectedValue },
      value: input.selectedValue,
    };
  }
  const payload: Record<string, unknown> = {
    type: 'block_actions',
    user: userOf(input.who),
    api_app_id: input.appId,
    token: 'legacy-verification-token',
    trigger_id: input.triggerId,
    team: teamOf(input.who),
    ...gridOf(input.who),
    actions: [action],
  };
  if (input.view) {
    payload.container = { type: 'view', view_id: input.view.id };
    payload.view = input.view;
  } else if (input.message) {
    const m = input.message;
    payload.container = {
      type: 'message',
      message_ts: m.ts,
      channel_id: m.channel,
      is_ephemeral: Boolean(m.ephemeralTo),
    };
    payload.channel = { id: m.channel, name: m.channel.toLowerCase() };
    payload.message = { type: 'message', ts: m.ts, text: m.text, blocks: m.blocks, user: m.user };
    payload.response_url = input.responseUrl;
  }
  return payload;
}

export type StateValues = Record<string, Record<string, Record<string, unknown>>>;

/**
 * What a person can put into an input block: a value for static selects, radio buttons, checkboxes and text; option
 * values (or `{ text, value }` for external selects); a conversation id; null to clear it.
 */
export type FormInput = string | string[] | { text: string; value: string }[] | null;

const asOption = (o: string | { text: string; value: string }, known: { value: string }[] = []) =>
  typeof o === 'string'
    ? (known.find((k) => k.value === o) ?? { text: { type: 'plain_text', text: o, emoji: true }, value: o })
    : { text: { type: 'plain_text', text: o.text, emoji: true }, value: o.value };

function elementState(el: Element, input: FormInput | undefined): Record<string, unknown> {
  const options = (el.options as { value: string }[] | undefined) ?? [];
  const list = input === undefined ? undefined : input === null ? [] : Array.isArray(input) ? input : [input];
  switch (el.type) {
    // Radio buttons report their choice like a select: `selected_option` (view_submission `state.values`).
    case 'static_select':
    case 'radio_buttons':
    case 'external_select': {
      const chosen = list === undefined ? el.initial_option : list[0] === undefined ? null : asOption(list[0], options);
      if (list !== undefined && list[0] !== undefined && typeof list[0] === 'string' && el.type !== 'external_select') {
        if (!options.some((o) => o.value === list[0]))
          throw new Error(`"${list[0]}" is not an option of ${String(el.action_id)}`);
      }
      return { type: el.type, selected_option: chosen ?? null };
    }
    case 'multi_static_select':
    case 'multi_external_select':
    case 'checkboxes':
      return {
        type: el.type,
        selected_options: list === undefined ? (el.initial_options ?? []) : list.map((o) => asOption(o, options)),
      };
    case 'conversations_select':
      return {
        type: el.type,
        selected_conversation: list === undefined ? (el.initial_conversation ?? null) : (list[0] ?? null),
      };
    case 'users_select':
      return { type: el.type, selected_user: list === undefined ? (el.initial_user ?? null) : (list[0] ?? null) };
    default:
      return { type: el.type, value: list === undefined ? (el.initial_value ?? null) : (list[0] ?? null) };
  }
}

/**
 * The `view.state.values` Slack would send on submit: every input block with its initial value, then
 * `inputs` (by block id) applied on top, as if a person had changed those fields.
 */
export function formValues(view: { blocks: readonly object[] }, inputs: Record<string, FormInput> = {}): StateValues {
  const values: StateValues = {};
  const known = new Set<string>();
  for (const block of view.blocks as Record<string, unknown>[]) {
    if (block.type !== 'input') continue;
    const blockId = String(block.block_id);
    const el = block.element as Element;
    known.add(blockId);
    values[blockId] = { [String(el.action_id)]: elementState(el, inputs[blockId]) };
  }
  for (const blockId of Object.keys(inputs)) {
    if (!known.has(blockId)) throw new Error(`the view has no input block "${blockId}"`);
  }
  return values;
}

export function viewSubmissionPayload(
  view: EmulatedView,
  values: StateValues,
  who: Who,
  appId: string,
  triggerId: string,
) {
  return {
    type: 'view_submission',
    team: teamOf(who),
    user: userOf(who),
    api_app_id: appId,
    token: 'legacy-verification-token',
    trigger_id: triggerId,
    view: { ...view, state: { values } },
    response_urls: [],
    ...gridOf(who),
  };
}

export function viewClosedPayload(view: EmulatedView, who: Who, appId: string) {
  return {
    type: 'view_closed',
    team: teamOf(who),
    user: userOf(who),
    api_app_id: appId,
    token: 'legacy-verification-token',
    view,
    is_cleared: false,
    ...gridOf(who),
  };
}

export function optionsLoadPayload(actionId: string, value: string, view: EmulatedView, who: Who, appId: string) {
  const found = findElement(view.blocks, actionId);
  return {
    type: 'block_suggestion',
    user: userOf(who),
    container: { type: 'view', view_id: view.id },
    api_app_id: appId,
    token: 'legacy-verification-token',
    action_id: actionId,
    block_id: found?.blockId ?? 'unknown',
    value,
    team: teamOf(who),
    ...gridOf(who),
    view,
  };
}

let eventCounter = 0;

/**
 * An Events API envelope. For an org-wide install `authorizations` names the org with `team_id: null` and
 * `is_enterprise_install: true` ("Organization-ready apps"; Events API "authorizations").
 */
export function eventEnvelope(
  event: Record<string, unknown>,
  teamId: string,
  appId: string,
  botUserId: string,
  enterpriseId?: string,
) {
  eventCounter += 1;
  const now = Math.floor(Date.now() / 1000);
  return {
    token: 'legacy-verification-token',
    team_id: teamId,
    ...(enterpriseId ? { enterprise_id: enterpriseId } : {}),
    api_app_id: appId,
    event: { event_ts: `${now}.000${eventCounter}`, ...event },
    type: 'event_callback',
    event_id: `Ev0EMULATED${String(eventCounter).padStart(4, '0')}`,
    event_time: now,
    authorizations: [
      {
        enterprise_id: enterpriseId ?? null,
        team_id: enterpriseId ? null : teamId,
        user_id: botUserId,
        is_bot: true,
        is_enterprise_install: Boolean(enterpriseId),
      },
    ],
    is_ext_shared_channel: false,
  };
}

export function appHomeOpened(userId: string, homeView?: EmulatedView) {
  return {
    type: 'app_home_opened',
    user: userId,
    channel: `D${userId.slice(1)}`,
    tab: 'home',
    ...(homeView ? { view: homeView } : {}),
  };
}
