import { type CardAnswer, findCard, searchWhois, type WhoisContext, type WhoisDeps } from '../services/whois.ts';
import {
  type SlackMessage,
  whoisCardMessage,
  whoisGoneMessage,
  whoisResultMessage,
  whoisSharedCardMessage,
  whoisUnavailableMessage,
} from './views/whois.ts';

/** Slack sends `&`, `<` and `>` typed by people as entities; mentions arrive as `<@U…|name>`. */
export function unescapeSlackText(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** The answer to `/whois <text>`. */
export async function answerWhois(deps: WhoisDeps, context: WhoisContext, text: string): Promise<SlackMessage> {
  const answer = await searchWhois(deps, context, unescapeSlackText(text));
  if (answer.kind === 'unavailable') return whoisUnavailableMessage();
  return whoisResultMessage(answer.result, { photoUrl: answer.photoUrl, freshness: answer.freshness });
}

function notShown(answer: Exclude<CardAnswer, { kind: 'card' }>): SlackMessage {
  return answer.kind === 'gone' ? whoisGoneMessage() : whoisUnavailableMessage();
}

/** A person's card opened from a button (manager, another match, a suggestion). */
export async function personCardReply(
  deps: WhoisDeps,
  context: WhoisContext,
  profileId: string,
): Promise<SlackMessage> {
  const answer = await findCard(deps, context, profileId);
  if (answer.kind !== 'card') return notShown(answer);
  return whoisCardMessage(answer.card, { photoUrl: answer.photoUrl, freshness: answer.freshness });
}

/**
 * "Share in channel": the card for everyone, or, when the person is gone or the directory is unreachable,
 * a note only the clicker sees.
 */
export async function sharedCardReply(
  deps: WhoisDeps,
  context: WhoisContext,
  profileId: string,
  sharedBy: string,
): Promise<{ visibleTo: 'channel' | 'clicker'; message: SlackMessage }> {
  const answer = await findCard(deps, context, profileId);
  if (answer.kind !== 'card') return { visibleTo: 'clicker', message: notShown(answer) };
  return {
    visibleTo: 'channel',
    message: whoisSharedCardMessage(answer.card, { sharedBy, photoUrl: answer.photoUrl, freshness: answer.freshness }),
  };
}
