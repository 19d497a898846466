import type { SourceReport } from '../../services/model.ts';
import { actionIds, blockIds, toggleValues } from '../ids.ts';
import {
  actions,
  type Button,
  button,
  confirmDialog,
  context,
  type HomeView,
  header,
  type KnownBlock,
  people,
  section,
  slackDate,
} from './kit.ts';
import { recentRuns, sourceFacts, sourceHeadline, whoStarted } from './runs.ts';

/** The App Home tab: the source dashboard for admins, a short `/whois` guide for everyone else. */

export type HomeData =
  | { audience: 'admin'; source: SourceReport | null }
  | { audience: 'member'; directoryReady: boolean; people: number | null };

export function homeView(data: HomeData): HomeView {
  const blocks = data.audience === 'admin' ? adminHome(data.source) : memberHome(data.directoryReady, data.people);
  return { type: 'home', blocks };
}

function sourceButtons(source: SourceReport): Button[] {
  const buttons: Button[] = [
    button({ text: 'Sync now', actionId: actionIds.syncNow, value: source.id, style: 'primary' }),
    source.syncEnabled
      ? button({
          text: 'Disable',
          actionId: actionIds.disable,
          value: source.id,
          confirm: confirmDialog(
            'Turn automatic sync off?',
            'The directory stays as the last sync left it and your settings are kept. You can enable it again at any time.',
            'Disable',
            'danger',
          ),
        })
      : button({ text: 'Enable', actionId: actionIds.enable, value: source.id }),
    button({ text: 'Edit groups', actionId: actionIds.editGroups, value: source.id }),
    button({ text: 'Edit mappings', actionId: actionIds.editSettings, value: source.id }),
    button({
      text: 'Reauthorize',
      actionId: actionIds.reauthorize,
      value: source.id,
      ...(source.status === 'needs_reauth' ? { style: 'danger' as const } : {}),
    }),
    button({
      text: source.photoSync ? 'Photo sync: on' : 'Photo sync: off',
      actionId: actionIds.photoSync,
      value: source.photoSync ? toggleValues.off : toggleValues.on,
    }),
  ];
  return buttons;
}

function adminHome(source: SourceReport | null): KnownBlock[] {
  if (!source || (source.status === 'setup' && source.recentRuns.length === 0)) {
    return [
      header('aad-sync'),
      section(
        'Connect your Microsoft Entra ID tenant to fill the people directory. Setup takes about two minutes: ' +
          'sign in with Microsoft, choose groups, check the fields, preview, enable.',
      ),
      actions(blockIds.sourceActions, [
        button({ text: 'Set up aad-sync', actionId: actionIds.setupOpen, style: 'primary' }),
      ]),
      context('Only you and other admins see this dashboard. Everyone else sees how to use `/whois`.'),
    ];
  }
  const blocks: KnownBlock[] = [
    header('aad-sync'),
    section(sourceHeadline(source)),
    sourceFacts(source, { photoSync: false }),
  ];
  const freshness = freshnessLine(source);
  if (freshness) blocks.push(context(freshness));
  if (source.running) {
    blocks.push(
      context(
        `:arrows_counterclockwise: A sync is running, started ${whoStarted(source.running)} ${slackDate(source.running.startedAt, '{time}')}.`,
      ),
    );
  }
  blocks.push(actions(blockIds.sourceActions, sourceButtons(source)));
  blocks.push(...recentRuns(source, 10));
  blocks.push(context('Only admins see this dashboard. Everyone else sees how to use `/whois`.'));
  return blocks;
}

/** How fresh the directory is: live through change notifications, or as of the last sync, and why. */
export function freshnessLine(
  source: Pick<SourceReport, 'changeFeed' | 'lastSuccessAt' | 'syncEnabled'>,
): string | null {
  const { changeFeed, lastSuccessAt } = source;
  if (!lastSuccessAt) return null;
  if (changeFeed.state === 'live') {
    const live = `:zap: Live: changes made in Entra ID reach the directory within seconds (updated ${slackDate(lastSuccessAt, '{ago}')}).`;
    return changeFeed.membershipScheduled
      ? `${live} Joins and leaves of the chosen groups arrive with the scheduled syncs: change notifications on groups need the Group.Read.All permission, which aad-sync does not ask for (see the README).`
      : live;
  }
  const asOf = `Data as of the ${slackDate(lastSuccessAt, '{time}')} sync.`;
  if (changeFeed.state === 'problem') {
    return `:warning: ${asOf} Near-real-time updates are off: ${changeFeed.problem ?? 'Microsoft Graph refused them.'} Scheduled syncs continue meanwhile.`;
  }
  return source.syncEnabled ? `${asOf} Changes arrive with the next scheduled sync.` : asOf;
}

function memberHome(directoryReady: boolean, count: number | null): KnownBlock[] {
  const footer = directoryReady
    ? `Only you see the answers. Profiles come from Microsoft Entra ID${count !== null ? ` (${people(count)})` : ''} and are kept up to date automatically.`
    : 'The directory is still being set up by your Slack admins; `/whois` answers once the first sync has finished.';
  return [
    header('Find anyone with /whois'),
    section(
      'Type `/whois` followed by a name, an email address, a job title or an @mention, in any channel or direct message:',
    ),
    section(
      [
        '• `/whois adele`',
        '• `/whois adele.vance@contoso.com`',
        '• `/whois @adele`',
        '• `/whois payroll manager`',
      ].join('\n'),
    ),
    section('The card shows their photo, title, department, email, phones, office and manager.'),
    context(footer),
  ];
}
