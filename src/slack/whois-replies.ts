import {
  type CardAnswer,
  findCard,
  guestAccess,
  searchWhois,
  type WhoisContext,
  type WhoisDeps,
} from '../services/whois.ts';
import type { UsersInfoClient } from './admin.ts';
import type { GuestCheck } from './guests.ts';
import {
  type SlackMessage,
  whoisAskerUnknownMessage,
  whoisCardMessage,
  whoisGoneMessage,
  whoisGuestRefusedMessage,
  whoisResultMessage,
  whoisSharedCardMessage,
  whoisUnavailableMessage,
} from './views/whois.ts';

/** Slack sends `&`, `<` and `>` typed by people as entities; mentions arrive as `<@U…|name>`. */
export function unescapeSlackText(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/**
 * Who may see what: members see the full card; Slack guests what the admins chose in Mappings & settings
 * (refused by default, or the reduced card, or the full one). When Slack cannot say who is asking, nothing
 * is shown. Returns the context to answer with, or the reply that refuses.
 */
export async function whoisAccess(
  deps: WhoisDeps,
  guests: GuestCheck,
  client: UsersInfoClient,
  context: WhoisContext,
  userId: string,
): Promise<{ ok: true; context: WhoisContext } | { ok: false; message: SlackMessage }> {
  let guest: boolean;
  try {
    guest = await guests.isGuest(client, context.teamId, userId);
  } catch (error) {
    context.warn(`whois: could not ask Slack whether ${userId} is a guest: ${(error as Error).message}`);
    return { ok: false, message: whoisAskerUnknownMessage() };
  }
  if (!guest) return { ok: true, context: { ...context, card: 'full' } };
  let access: Awaited<ReturnType<typeof guestAccess>>;
  try {
    access = await guestAccess(deps, context.teamId);
  } catch (error) {
    context.warn(`whois: the guest setting could not be read: ${(error as Error).message}`);
    return { ok: false, message: whoisUnavailableMessage() };
  }
  if (access === 'none') return { ok: false, message: whoisGuestRefusedMessage() };
  return { ok: true, context: { ...context, card: access } };
}

/** The answer to `/whois <text>`. */
export async function answerWhois(deps: WhoisDeps, context: WhoisContext, text: string): Promise<SlackMessage> {
  const answer = await searchWhois(deps, context, unescapeSlackText(text));
  if (answer.kind === 'unavailable') return whoisUnavailableMessage();
  return whoisResultMessage(answer.result, {
    photoUrl: answer.photoUrl,
    freshness: answer.freshness,
    reduced: context.card === 'reduced',
  });
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
  return whoisCardMessage(answer.card, {
    photoUrl: answer.photoUrl,
    freshness: answer.freshness,
    reduced: context.card === 'reduced',
  });
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
