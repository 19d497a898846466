import type { AlertData, AlertResolution, RecoveredData } from '../../services/model.ts';
import { actionIds, blockIds } from '../ids.ts';
import {
  actions,
  type Button,
  button,
  channelMention,
  confirmDialog,
  context,
  count,
  escapeText,
  type KnownBlock,
  list,
  type MessagePayload,
  people,
  plural,
  section,
  slackDate,
  truncate,
  userMention,
} from './kit.ts';
import { countsLine } from './runs.ts';

/**
 * Admin-channel alerts (DESIGN §6): one message per failure streak, updated in place as the streak grows
 * and when someone resolves it, plus a threaded "recovered" reply when a sync succeeds again.
 */

interface Wording {
  headline: string;
  body: string;
  buttons: Button[];
}

function wording(a: AlertData): Wording {
  const details = a.message ? `\n>${escapeText(truncate(a.message, 500))}` : '';
  const retry = button({ text: 'Retry now', actionId: actionIds.syncNow, value: a.sourceId });
  switch (a.code) {
    case 'reauth_required':
      return {
        headline: ':red_circle: *Entra ID sign-in expired: syncing has stopped*',
        body:
          `${authorizationLost(a)} This happens when the admin who authorized leaves, ` +
          'loses the admin role, or consent is withdrawn. The directory stays as it was. ' +
          `Press *Reauthorize* and sign in as an administrator.${details}`,
        buttons: [
          button({ text: 'Reauthorize', actionId: actionIds.reauthorize, value: a.sourceId, style: 'primary' }),
        ],
      };
    case 'app_misconfigured': {
      const envVar = a.envVar ?? 'AZURE_CLIENT_SECRET';
      return {
        headline: ':gear: *Microsoft refused aad-sync’s app registration*',
        body:
          'The client secret is wrong or expired, or the app was removed from the tenant. Nothing changed in the directory.\n' +
          `*For whoever runs aad-sync:* fix \`${escapeText(envVar)}\` in the app’s environment (Entra admin center → ` +
          `App registrations → Certificates & secrets), then restart it.${details}`,
        buttons: [],
      };
    }
    case 'group_missing': {
      const names = (a.missingGroups ?? []).map((g) => `*${escapeText(truncate(g.name, 80))}*`);
      const which = names.length > 0 ? `: ${list(names, 5)}` : '';
      return {
        headline: `:warning: *${names.length > 1 ? 'Selected groups no longer exist' : 'A selected group no longer exists'}*${which}`,
        body:
          'Syncing stopped so that nobody is removed by mistake; the directory is unchanged. ' +
          `Choose the groups again with *Edit groups*.${details}`,
        buttons: [button({ text: 'Edit groups', actionId: actionIds.editGroups, value: a.sourceId, style: 'primary' })],
      };
    }
    case 'no_valid_people': {
      const read = a.peopleRead !== undefined ? `read ${people(a.peopleRead)}, but ` : '';
      return {
        headline: ':warning: *Nobody has all the required fields*',
        body:
          `The sync ${read}nobody had a Unique Identifier, First name, Last name and Email with the current mappings, ` +
          `so nothing was changed. Point the fields at attributes your tenant fills in with *Edit mappings*.${details}`,
        buttons: [
          button({ text: 'Edit mappings', actionId: actionIds.editSettings, value: a.sourceId, style: 'primary' }),
        ],
      };
    }
    case 'graph_unavailable':
      return {
        headline: ':cloud: *Microsoft Graph is not answering*',
        body:
          'Graph kept answering “busy” or “unavailable” after several retries. Nothing changed; ' +
          `the next scheduled sync tries again, or retry now.${details}`,
        buttons: [retry],
      };
    case 'held':
      return heldWording(a);
    default:
      return {
        headline: ':x: *Sync failed*',
        body: `The directory is unchanged.${details || `\n>${escapeText(a.code)}`}`,
        buttons: [retry],
      };
  }
}

/**
 * When the authorization was lost, as far as aad-sync can know: Entra keeps an access token alive for up to
 * an hour after a revoke, so the first refusal can come well after the revoke, and the last good sync bounds it.
 */
function authorizationLost(a: AlertData): string {
  const refused = `Microsoft stopped accepting the saved sign-in ${slackDate(a.firstAt)}`;
  if (a.lastSuccessAt === undefined) return `${refused}.`;
  if (a.lastSuccessAt === null) return `${refused}, before any sync succeeded.`;
  return `${refused}; the last sync that worked finished ${slackDate(a.lastSuccessAt)}, and changes made in Entra ID since then are not in the directory yet.`;
}

function heldWording(a: AlertData): Wording {
  const h = a.held;
  if (!h) return { headline: ':pause_button: *Sync held: removals wait for approval*', body: '', buttons: [] };
  const share =
    h.activeProfiles > 0
      ? ` (${count(h.removals)} of ${count(h.activeProfiles)}, ${Math.round((h.removals / h.activeProfiles) * 100)}%)`
      : '';
  const sample = h.sample.map((n) => escapeText(truncate(n, 60)));
  const names = sample.length > 0 ? `\nAmong them: ${list(sample, 10)}.` : '';
  const value = String(h.runId);
  return {
    headline: `:pause_button: *Sync held: ${people(h.removals)} would be removed*`,
    body:
      `That is more than the ${Math.round(h.threshold * 100)}% one sync may remove by itself${share}, ` +
      `so nobody was removed. Approve if these people really left; reject if something looks wrong.${names}`,
    buttons: [
      button({
        text: 'Approve removals',
        actionId: actionIds.approveRemovals,
        value,
        style: 'primary',
        confirm: confirmDialog(
          `Remove ${plural(h.removals, 'person', 'people')}?`,
          'They disappear from /whois now. If they come back in Entra ID, the next sync adds them again.',
          'Remove them',
          'danger',
        ),
      }),
      button({ text: 'Reject', actionId: actionIds.rejectRemovals, value, style: 'danger' }),
    ],
  };
}

function streakLine(a: AlertData): string {
  if (a.count <= 1) return `Since ${slackDate(a.firstAt)}.`;
  return `Failed ${count(a.count)} times since ${slackDate(a.firstAt)}; last ${slackDate(a.lastAt)}.`;
}

function resolutionLine(r: AlertResolution, removed: number | undefined): string {
  const by = r.by ? ` by ${userMention(r.by)}` : '';
  const when = slackDate(r.at);
  switch (r.kind) {
    case 'approved':
      return `:white_check_mark: Approved${by} ${when}: ${removed !== undefined ? people(removed) : 'the held people were'} removed.`;
    case 'rejected':
      return `:no_entry_sign: Rejected${by} ${when}: nobody was removed. Check the groups and mappings; the next sync asks again if the removals still apply.`;
    case 'resolved':
      return `:white_check_mark: Resolved${by} ${when}.`;
  }
}

export function alertMessage(a: AlertData): MessagePayload {
  const w = wording(a);
  const blocks: KnownBlock[] = [section(w.body ? `${w.headline}\n${w.body}` : w.headline)];
  if (a.resolution) {
    blocks.push(context(resolutionLine(a.resolution, a.held?.removals)));
  } else {
    if (a.code !== 'held') blocks.push(context(streakLine(a)));
    if (w.buttons.length > 0) blocks.push(actions(blockIds.alertActions, w.buttons));
  }
  const plainHeadline = w.headline.replace(/:[a-z_]+: /, '').replace(/\*/g, '');
  const state = a.resolution ? ` (${a.resolution.kind})` : a.count > 1 ? ` (${count(a.count)} times)` : '';
  return { text: `aad-sync: ${plainHeadline}${state}`, blocks };
}

export function recoveredReply(data: RecoveredData): MessagePayload {
  const after =
    data.failures > 0 ? ` after ${plural(data.failures, 'failed sync')} since ${slackDate(data.since)}` : '';
  return {
    text: 'aad-sync recovered: the last sync succeeded',
    blocks: [section(`:white_check_mark: *Recovered.* A sync succeeded${after}: ${countsLine(data.run)}.`)],
  };
}

/** Told to admins when alerts cannot reach the chosen channel (a private channel the app was not invited to). */
export function cannotPostMessage(channelId: string): MessagePayload {
  return {
    text: 'aad-sync cannot post alerts in the admin channel',
    blocks: [
      section(
        `:warning: aad-sync cannot post alerts in ${channelMention(channelId)}: it is private and the app is not a member. ` +
          'Invite it with `/invite @aad-sync` in that channel, or choose another one in *Edit mappings*.',
      ),
    ],
  };
}

/**
 * The alert as shown, with its buttons and streak line replaced by who decided and when; for buttons
 * whose listener has the message but not the data it was rendered from.
 */
export function resolvedAlert(
  shown: { text?: string; blocks?: unknown[] },
  resolution: AlertResolution,
  removed?: number,
): MessagePayload {
  const kept = ((shown.blocks ?? []) as KnownBlock[]).filter((b) => b.type === 'section');
  const text = (shown.text ?? 'aad-sync alert').replace(/ \([^)]*\)$/, '');
  return { text: `${text} (${resolution.kind})`, blocks: [...kept, context(resolutionLine(resolution, removed))] };
}
