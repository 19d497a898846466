import type { RunReport, SourceReport } from '../../services/model.ts';
import {
  channelMention,
  context,
  escapeText,
  type KnownBlock,
  type MessagePayload,
  section,
  slackDate,
  truncate,
} from './kit.ts';
import { recentRuns, sourceFacts, sourceHeadline, whoStarted } from './runs.ts';

/** The ephemeral replies to `/aad …`. */

const COMMANDS = [
  '`/aad setup`: connect Entra ID, choose groups and fields, preview, enable',
  '`/aad sync`: sync now, with live progress',
  '`/aad status`: last runs, next run, counts and sign-in state',
  '`/aad enable` · `/aad disable`: turn the automatic sync on or off',
  '`/aad help`: this list',
];

export function helpMessage(unknown?: string): MessagePayload {
  const opening = unknown
    ? `I don't know \`/aad ${escapeText(truncate(unknown, 60))}\`. Here is what I can do:`
    : '*aad-sync* keeps the people directory in step with Microsoft Entra ID.';
  return {
    text: unknown ? `Unknown command /aad ${truncate(unknown, 60)}: try /aad help` : 'aad-sync commands',
    blocks: [
      section(`${opening}\n\n${COMMANDS.map((c) => `• ${c}`).join('\n')}`),
      context('Everyone can look people up with `/whois name`, `/whois email` or `/whois @person`.'),
    ],
  };
}

export function notAdminMessage(): MessagePayload {
  const text =
    'Only Slack workspace admins and owners, and people your administrators allowed, can use `/aad`. Nothing was changed.';
  return {
    text: 'Only workspace admins can use /aad. Nothing was changed.',
    blocks: [section(`:lock: ${text}`), context('You can still look people up with `/whois`.')],
  };
}

export function notSetUpMessage(): MessagePayload {
  return {
    text: 'aad-sync is not set up yet: run /aad setup',
    blocks: [section(':construction: aad-sync is not connected to Entra ID yet. Run `/aad setup` to start.')],
  };
}

export function statusMessage(source: SourceReport | null): MessagePayload {
  if (!source) return notSetUpMessage();
  const blocks: KnownBlock[] = [section(sourceHeadline(source)), sourceFacts(source, { photoSync: true })];
  blocks.push(...recentRuns(source, 5));
  return { text: `aad-sync status: ${source.status}`, blocks };
}

export function alreadyRunningMessage(run: Pick<RunReport, 'trigger' | 'requestedBy' | 'startedAt'>): MessagePayload {
  const text = `A sync is already running: started ${whoStarted(run)} ${slackDate(run.startedAt, '{date_short_pretty} at {time}')}.`;
  return {
    text: 'A sync is already running; no second one was started.',
    blocks: [
      section(`:hourglass_flowing_sand: ${text}\nI did not start another one; its results show up when it finishes.`),
    ],
  };
}

/** The immediate answer to `/aad sync`; `progressChannel` is where the live progress message is. */
export function syncStartedMessage(progressChannel: string | null): MessagePayload {
  const where = progressChannel ? ` Follow its progress in ${channelMention(progressChannel)}.` : '';
  return { text: 'Sync started', blocks: [section(`:arrows_counterclockwise: *Sync started.*${where}`)] };
}

export function enabledMessage(source: SourceReport): MessagePayload {
  const next = source.nextRunAt ? ` Next sync ${slackDate(source.nextRunAt)}.` : '';
  return {
    text: `Automatic sync is on: every ${source.syncEvery}`,
    blocks: [
      section(
        `:large_green_circle: *Automatic sync is on*: every ${escapeText(source.syncEvery)}, bringing every change made in Entra ID since the last sync.${next}`,
      ),
    ],
  };
}

export function disabledMessage(): MessagePayload {
  return {
    text: 'Automatic sync is off',
    blocks: [
      section(
        ':white_circle: *Automatic sync is off.* The directory stays exactly as the last sync left it and your settings are kept. `/aad enable` turns it back on.',
      ),
    ],
  };
}

/** A refusal with a reason in plain words (e.g. "Reauthorize first"). */
export function problemMessage(text: string): MessagePayload {
  const short = escapeText(truncate(text, 1000));
  return { text: short, blocks: [section(`:warning: ${short}`)] };
}
