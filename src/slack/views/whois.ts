import type { types } from '@slack/bolt';
import type { PersonCard, PersonSummary } from '../../directory/people.ts';
import type { SearchResult } from '../../directory/search.ts';
import type { Freshness } from '../../services/whois.ts';
import { WHOIS_ACTIONS, WHOIS_BLOCKS } from '../ids.ts';
import { escapeText, slackDate, truncate } from './kit.ts';

/** The /whois messages: pure functions of directory data, each with a plain-text fallback for notifications. */

export interface SlackMessage {
  text: string;
  blocks: types.KnownBlock[];
}

const BUTTON_TEXT = 75;
const FIELD_TEXT = 2000;

/** A query is shown as typed, in quotes; a Slack mention stays a mention. */
function quoted(query: string): string {
  return /^<@[UW][A-Z0-9]+>$/.test(query) ? query : `“${escapeText(truncate(query, 100))}”`;
}

function subtitle(person: PersonSummary): string {
  return [person.jobTitle, person.department].filter(Boolean).join(' · ');
}

function personButton(person: PersonSummary, actionId: string): types.Button {
  const label = [person.displayName, person.jobTitle].filter(Boolean).join(' — ');
  return {
    type: 'button',
    action_id: actionId,
    text: { type: 'plain_text', text: truncate(label, BUTTON_TEXT), emoji: false },
    value: String(person.id),
  };
}

function personButtons(people: PersonSummary[], blockId: string): types.ActionsBlock {
  return {
    type: 'actions',
    block_id: blockId,
    elements: people.slice(0, 5).map((p, i) => personButton(p, `${WHOIS_ACTIONS.showPerson}:${i}`)),
  };
}

function field(label: string, value: string | undefined): types.MrkdwnElement[] {
  return value ? [{ type: 'mrkdwn', text: truncate(`*${label}*\n${value}`, FIELD_TEXT) }] : [];
}

function cardBlocks(card: PersonCard, photoUrl: string | undefined): types.KnownBlock[] {
  const heading = [`*${escapeText(truncate(card.displayName, 200))}*`, escapeText(truncate(subtitle(card), 400))]
    .filter(Boolean)
    .join('\n');
  const manager = card.manager
    ? escapeText([card.manager.displayName, card.manager.jobTitle].filter(Boolean).join(', '))
    : undefined;
  const fields = [
    ...field('Email', escapeText(card.email)),
    ...field('Phone', card.businessPhone && escapeText(card.businessPhone)),
    ...field('Mobile', card.mobilePhone && escapeText(card.mobilePhone)),
    ...field('Office', card.office && escapeText(card.office)),
    ...field('Manager', manager),
    ...field('Direct reports', card.directReports > 0 ? String(card.directReports) : undefined),
    ...field('Slack', card.slackUserId && `<@${card.slackUserId}>`),
  ];
  return [
    {
      type: 'section',
      block_id: WHOIS_BLOCKS.card,
      text: { type: 'mrkdwn', text: heading },
      ...(photoUrl
        ? {
            accessory: { type: 'image', image_url: photoUrl, alt_text: truncate(`Photo of ${card.displayName}`, 2000) },
          }
        : {}),
    },
    { type: 'section', block_id: WHOIS_BLOCKS.details, fields },
  ];
}

/** The notification text: the same directory values, escaped as in the blocks. */
function cardText(card: PersonCard): string {
  const what = subtitle(card);
  return escapeText(truncate(`${card.displayName}${what ? `, ${what}` : ''} (${card.email})`, 2900));
}

/**
 * How fresh the card is, as the Home tab says it: live through change notifications (when its source last
 * took in changes) or as of the last sync. Slack renders the date in the reader's time zone.
 */
export function freshnessText(freshness: Freshness): string {
  return freshness.live
    ? `:zap: Live from Microsoft Entra ID, updated ${slackDate(freshness.asOf, '{ago}')}`
    : `From Microsoft Entra ID as of the sync ${slackDate(freshness.asOf, '{date_short_pretty} at {time}')}`;
}

function freshnessElements(freshness: Freshness | undefined): types.MrkdwnElement[] {
  return freshness ? [{ type: 'mrkdwn', text: freshnessText(freshness) }] : [];
}

export interface CardOptions {
  /** The search that led here, when the card answers one. */
  query?: string;
  others?: PersonSummary[];
  photoUrl?: string;
  freshness?: Freshness;
}

/** The card only the asker sees: buttons to open the manager, another match, or to share it. */
export function whoisCardMessage(card: PersonCard, options: CardOptions = {}): SlackMessage {
  const buttons: types.Button[] = [];
  if (card.manager) {
    buttons.push({
      ...personButton(card.manager, `${WHOIS_ACTIONS.showPerson}:manager`),
      text: { type: 'plain_text', text: truncate(`Manager: ${card.manager.displayName}`, BUTTON_TEXT), emoji: false },
    });
  }
  buttons.push({
    type: 'button',
    action_id: WHOIS_ACTIONS.share,
    text: { type: 'plain_text', text: 'Share in channel' },
    style: 'primary',
    value: String(card.id),
  });
  const blocks: types.KnownBlock[] = [
    ...cardBlocks(card, options.photoUrl),
    ...(options.freshness ? [{ type: 'context' as const, elements: freshnessElements(options.freshness) }] : []),
    { type: 'actions', block_id: WHOIS_BLOCKS.cardActions, elements: buttons },
  ];
  const others = options.others ?? [];
  if (others.length > 0) {
    const lead = options.query ? `Other matches for ${quoted(options.query)}:` : 'Other matches:';
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: lead }] });
    blocks.push(personButtons(others, WHOIS_BLOCKS.others));
  }
  return { text: cardText(card), blocks };
}

/** The card as posted for the whole channel: no buttons, and who shared it. */
export function whoisSharedCardMessage(
  card: PersonCard,
  options: { sharedBy: string; photoUrl?: string; freshness?: Freshness },
): SlackMessage {
  return {
    text: cardText(card),
    blocks: [
      ...cardBlocks(card, options.photoUrl),
      {
        type: 'context',
        elements: [
          { type: 'mrkdwn', text: `Shared by <@${options.sharedBy}> with /whois` },
          ...freshnessElements(options.freshness),
        ],
      },
    ],
  };
}

export function whoisNoMatchMessage(query: string, suggestions: PersonSummary[]): SlackMessage {
  const lead = `No one in the directory matches ${quoted(query)}.`;
  if (suggestions.length === 0) {
    return {
      text: `No one in the directory matches "${escapeText(truncate(query, 100))}".`,
      blocks: [
        { type: 'section', text: { type: 'mrkdwn', text: lead } },
        {
          type: 'context',
          elements: [
            { type: 'mrkdwn', text: 'Try part of a name, an email address or a job title, e.g. `/whois adele`.' },
          ],
        },
      ],
    };
  }
  const names = suggestions.map((s) => s.displayName).join(', ');
  return {
    text: escapeText(
      truncate(`No one in the directory matches "${truncate(query, 100)}". Did you mean ${names}?`, 2900),
    ),
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `${lead} Did you mean:` } },
      personButtons(suggestions, WHOIS_BLOCKS.suggestions),
    ],
  };
}

export function whoisUsageMessage(): SlackMessage {
  return {
    text: 'Look someone up: /whois followed by a name, an email address, an @mention or a job title.',
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text:
            '*Look someone up in the company directory*\n' +
            '`/whois adele` · `/whois adele vance` · `/whois adele@contoso.com` · `/whois @adele` · ' +
            '`/whois payroll manager`\nTypos are fine: `/whois adel vance` finds Adele Vance.',
        },
      },
    ],
  };
}

export function whoisUnavailableMessage(): SlackMessage {
  const text = 'The directory could not be searched just now. Please try again in a minute.';
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
}

export function whoisGoneMessage(): SlackMessage {
  const text = 'That person is no longer in the directory.';
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
}

/** The reply to a search, whatever its outcome. */
export function whoisResultMessage(
  result: SearchResult,
  options: Pick<CardOptions, 'photoUrl' | 'freshness'> = {},
): SlackMessage {
  if (result.kind === 'usage') return whoisUsageMessage();
  if (result.kind === 'none') return whoisNoMatchMessage(result.query, result.suggestions);
  return whoisCardMessage(result.best, { ...options, query: result.query, others: result.others });
}
