import type { IgnoredReason, RunReport, SourceReport } from '../../services/model.ts';
import {
  channelMention,
  count,
  divider,
  duration,
  escapeText,
  fields,
  type KnownBlock,
  list,
  people,
  section,
  slackDate,
  truncate,
  userMention,
} from './kit.ts';

/** Wording about runs and sources shared by status replies, the Home tab, summaries and alerts. */

const TRIGGER_WORDS: Record<RunReport['trigger'], string> = {
  schedule: 'scheduled',
  manual: 'Sync now',
  setup: 'setup',
  cli: 'command line',
};

export function whoStarted(run: Pick<RunReport, 'trigger' | 'requestedBy'>): string {
  if (run.requestedBy) return `by ${userMention(run.requestedBy)}`;
  return run.trigger === 'schedule' ? 'by the hourly schedule' : `from ${TRIGGER_WORDS[run.trigger]}`;
}

const STATUS_EMOJI: Record<RunReport['status'], string> = {
  running: ':arrows_counterclockwise:',
  succeeded: ':white_check_mark:',
  failed: ':x:',
  held: ':pause_button:',
};

export const modeWords = (mode: RunReport['mode']) =>
  mode === 'delta' ? 'changes-only sync' : mode === 'full' ? 'full sync' : 'preview';

/** "1,204 read · 12 added · 3 updated · 0 removed · 5 skipped". */
export function countsLine(run: RunReport): string {
  const c = run.counts;
  const parts = [`${count(c.read)} read`, `${count(c.created)} added`, `${count(c.updated)} updated`];
  parts.push(`${count(c.removed)} removed`);
  if (c.ignored > 0) parts.push(`${count(c.ignored)} skipped`);
  if (c.photos > 0) parts.push(`${count(c.photos)} photos`);
  return parts.join(' · ');
}

/** One line per run for history lists. */
export function runLine(run: RunReport): string {
  const when = slackDate(run.startedAt);
  const took = run.finishedAt ? ` in ${duration(run.finishedAt.getTime() - run.startedAt.getTime())}` : '';
  const kind = modeWords(run.mode);
  const outcome =
    run.status === 'failed'
      ? `failed: ${escapeText(truncate(run.errorMessage ?? run.errorCode ?? 'unknown error', 200))}`
      : run.status === 'held'
        ? `held: removals wait for approval`
        : countsLine(run);
  return `${STATUS_EMOJI[run.status]} ${when} · ${kind}${took} · ${outcome}`;
}

/** Bullet lines for the top reasons people were skipped, with a few examples each. */
export function ignoredLines(reasons: IgnoredReason[], maxReasons = 5, maxExamples = 3): string {
  const sorted = [...reasons].sort((a, b) => b.count - a.count);
  const lines = sorted.slice(0, maxReasons).map((r) => {
    const examples = r.examples.slice(0, maxExamples).map((e) => `\`${escapeText(truncate(e, 60))}\``);
    const eg = examples.length > 0 ? `, e.g. ${list(examples)}` : '';
    return `• *${escapeText(truncate(r.reason, 120))}*: ${people(r.count)}${eg}`;
  });
  const rest = sorted.slice(maxReasons);
  if (rest.length > 0) {
    const n = rest.reduce((sum, r) => sum + r.count, 0);
    lines.push(`• ${people(n)} for ${rest.length === 1 ? 'one other reason' : `${count(rest.length)} other reasons`}`);
  }
  return lines.join('\n');
}

const SOURCE_STATUS: Record<SourceReport['status'], string> = {
  setup: ':construction: *Setup not finished*',
  active: ':large_green_circle: *Active*',
  disabled: ':white_circle: *Automatic sync is off*',
  needs_reauth: ':red_circle: *Needs reauthorization*',
  failing: ':warning: *Syncs are failing*',
  held: ':pause_button: *Waiting for approval*',
};

/** The headline of a source: its state and what it means for the directory. */
export function sourceHeadline(source: SourceReport): string {
  const base = SOURCE_STATUS[source.status];
  switch (source.status) {
    case 'active':
      return source.syncEnabled
        ? `${base}: syncing every ${escapeText(source.syncEvery)}.`
        : `${base}: automatic sync is off; use Sync now to update the directory.`;
    case 'disabled':
      return `${base}. The directory stays as the last sync left it; your settings are kept.`;
    case 'needs_reauth':
      return `${base}. Microsoft no longer accepts the sign-in, so syncing has stopped. The directory is unchanged.`;
    case 'failing': {
      const last = source.recentRuns.find((r) => r.status === 'failed');
      const why = last?.errorMessage ? `: ${escapeText(truncate(last.errorMessage, 300))}` : '.';
      return `${base}${why} The directory is unchanged until a sync succeeds.`;
    }
    case 'held':
      return `${base}. A sync would remove more people than allowed, so nothing was removed. Approve or reject it in the alert.`;
    case 'setup':
      return `${base}. Run \`/aad setup\` to connect Entra ID and choose who to import.`;
  }
}

export function groupsText(groups: SourceReport['groups']): string {
  if (groups.length === 0) return 'Everyone in the tenant';
  return list(
    groups.map((g) => escapeText(truncate(g.name, 60))),
    5,
  );
}

export function authorizationText(source: SourceReport): string {
  if (source.status === 'needs_reauth') return ':red_circle: Sign-in expired: reauthorize';
  const by = source.authorizedBy;
  if (!by.upn && !by.slackUserId) return 'Not authorized yet';
  const who = by.upn ? escapeText(by.upn) : userMention(by.slackUserId!);
  const mode = source.authMode === 'application' ? ' (application permissions)' : '';
  return `${who}${mode}${by.at ? `, ${slackDate(by.at, '{date_short}')}` : ''}`;
}

export function lastSyncText(source: SourceReport): string {
  if (source.running) return `Running now, started ${slackDate(source.running.startedAt, '{time}')}`;
  const last = source.recentRuns[0];
  if (!last) return 'Never';
  if (last.status === 'succeeded') return slackDate(last.finishedAt ?? last.startedAt);
  const success = source.lastSuccessAt ? `; last success ${slackDate(source.lastSuccessAt)}` : '';
  return `${slackDate(last.startedAt)} (${last.status})${success}`;
}

export function nextSyncText(source: SourceReport): string {
  if (!source.syncEnabled) return 'Off';
  if (source.status === 'needs_reauth') return 'Paused until reauthorized';
  return source.nextRunAt ? slackDate(source.nextRunAt) : `Within ${escapeText(source.syncEvery)}`;
}

/** The facts of a source at a glance (status replies and the dashboard); `photoSync` when no button shows it. */
export function sourceFacts(source: SourceReport, options: { photoSync: boolean }): KnownBlock {
  return fields([
    ['Last sync', lastSyncText(source)],
    ['Next sync', nextSyncText(source)],
    ['People in the directory', people(source.activeProfiles)],
    ['Groups', groupsText(source.groups)],
    ['Authorized by', authorizationText(source)],
    ['Admin channel', source.adminChannel ? channelMention(source.adminChannel) : 'Not chosen: edit mappings'],
    ...(options.photoSync ? [['Photo sync', source.photoSync ? 'On' : 'Off'] as [string, string]] : []),
  ]);
}

/** A divider and the last `max` runs, or nothing before the first run. */
export function recentRuns(source: SourceReport, max: number): KnownBlock[] {
  if (source.recentRuns.length === 0) return [];
  return [divider(), section(`*Recent syncs*\n${source.recentRuns.slice(0, max).map(runLine).join('\n')}`)];
}
