import type { RunProgress, RunReport } from '../../services/model.ts';
import {
  context,
  count,
  duration,
  escapeText,
  fields,
  type KnownBlock,
  type MessagePayload,
  people,
  progressBar,
  section,
  slackDate,
  truncate,
} from './kit.ts';
import { countsLine, ignoredLines, modeWords, whoStarted } from './runs.ts';

/** The live progress message of a sync and the summary that replaces it at the end. */

const PHASES: Record<RunProgress['phase'], string> = {
  starting: 'Connecting to Entra ID',
  reading: 'Reading people',
  photos: 'Fetching photos',
  applying: 'Saving to the directory',
};

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

export function progressMessage(p: RunProgress): MessagePayload {
  const bar = p.total !== null && p.total > 0 ? `${progressBar(p.read, p.total)}  ` : '';
  const read = p.total !== null ? `${count(p.read)} of ${people(p.total)} read` : `${people(p.read)} read`;
  const extra = p.photos > 0 ? ` · ${count(p.photos)} photos` : '';
  return {
    text: `Syncing from Entra ID: ${read}, ${count(p.written)} written`,
    blocks: [
      section(`:arrows_counterclockwise: *Syncing from Entra ID* (${modeWords(p.mode)})\n${PHASES[p.phase]}…`),
      context(`${bar}${read} · ${count(p.written)} written${extra}`),
      context(`Started ${whoStarted(p)} ${slackDate(p.startedAt, '{time}')}`),
    ],
  };
}

export function summaryMessage(run: RunReport): MessagePayload {
  const took = run.finishedAt ? duration(run.finishedAt.getTime() - run.startedAt.getTime()) : null;
  const tookText = took ? ` in ${took}` : '';
  const footer = context(`${capitalize(modeWords(run.mode))} · started ${whoStarted(run)} ${slackDate(run.startedAt)}`);
  if (run.status === 'failed') {
    const reason = truncate(run.errorMessage ?? run.errorCode ?? 'unknown error', 1000);
    return {
      text: `Sync failed: ${escapeText(reason)}`,
      blocks: [section(`:x: *Sync failed*${tookText}. The directory is unchanged.\n${escapeText(reason)}`), footer],
    };
  }
  if (run.status === 'held') {
    return {
      text: 'Sync held: removals wait for an admin’s approval',
      blocks: [
        section(
          `:pause_button: *Sync held*${tookText}. It would remove more people than allowed, so nobody was removed. ` +
            'Approve or reject the removals in the admin channel alert.',
        ),
        footer,
      ],
    };
  }
  const c = run.counts;
  const blocks: KnownBlock[] = [
    section(`:white_check_mark: *Sync finished*${tookText}.`),
    fields([
      ['Read', count(c.read)],
      ['Added', count(c.created)],
      ['Updated', count(c.updated)],
      ['Unchanged', count(c.unchanged)],
      ['Removed', count(c.removed)],
      ['Skipped', count(c.ignored)],
    ]),
  ];
  if (run.ignored.length > 0) blocks.push(section(`*Why people were skipped*\n${ignoredLines(run.ignored)}`));
  blocks.push(footer);
  return { text: `Sync finished: ${countsLine(run).replace(/\*/g, '')}`, blocks };
}
