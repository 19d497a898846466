import type { SettingsInput, SettingsOutcome } from '../services/contract.ts';
import { PROFILE_FIELDS, type ProfileFieldKey, UNMAPPED, validateMapping } from '../sync/mapping.ts';
import { actionIds, blockIds, optionValues } from './ids.ts';
import { ADMIN_CHANNEL_MISSING } from './views/refusals.ts';

/**
 * Reading what an admin submitted in the wizard's modals (`view.state.values`), and placing problems on
 * the input blocks Slack shows them under. Pure functions of the payload.
 */

interface ElementState {
  selected_option?: { value: string } | null;
  selected_options?: { value: string }[];
  selected_conversation?: string | null;
}

export type StateValues = Record<string, Record<string, ElementState>>;

const element = (values: StateValues, blockId: string, actionId: string): ElementState =>
  values[blockId]?.[actionId] ?? {};

export const PICK_FROM_RESULTS =
  'The group search did not work when you typed: type the name again and pick groups from the results.';

/** The chosen group ids (empty = everyone), or a problem for the groups block. */
export function readGroups(values: StateValues): { ok: true; groupIds: string[] } | { ok: false; error: string } {
  const chosen = (element(values, blockIds.groups, actionIds.groupsSelect).selected_options ?? []).map((o) => o.value);
  if (chosen.some((v) => v === optionValues.searchFailed || v === optionValues.notAllowed)) {
    return { ok: false, error: PICK_FROM_RESULTS };
  }
  return { ok: true, groupIds: [...new Set(chosen)] };
}

export type SettingsForm = Omit<SettingsInput, 'adminChannel'> & { adminChannel: string | null };

export function readSettings(values: StateValues): SettingsForm {
  const mapping: Record<string, string> = {};
  for (const field of PROFILE_FIELDS) {
    mapping[field.key] =
      element(values, blockIds.mapping(field.key), actionIds.attributeSelect).selected_option?.value ?? UNMAPPED;
  }
  const checked = new Set(
    (element(values, blockIds.options, actionIds.optionsSelect).selected_options ?? []).map((o) => o.value),
  );
  return {
    mapping,
    adminChannel: element(values, blockIds.adminChannel, actionIds.adminChannelSelect).selected_conversation ?? null,
    photoSync: checked.has(optionValues.photoSync),
    hourlySync: checked.has(optionValues.hourlySync),
  };
}

/** Problems keyed by block id, as `response_action: 'errors'` wants them. */
export function blockErrors(problems: Extract<SettingsOutcome, { errors: unknown }>['errors']): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const [key, message] of Object.entries(problems)) {
    if (!message) continue;
    if (key === 'adminChannel') errors[blockIds.adminChannel] = ADMIN_CHANNEL_MISSING;
    else errors[blockIds.mapping(key as ProfileFieldKey)] = message;
  }
  return errors;
}

/** What can be told before asking anyone: the mapping rules and a missing admin channel. */
export function settingsErrors(form: SettingsForm): Record<string, string> {
  return blockErrors({
    ...validateMapping(form.mapping),
    ...(form.adminChannel ? {} : { adminChannel: 'missing' as const }),
  });
}
