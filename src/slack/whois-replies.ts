import type { Sql } from '../db/client.ts';
import { getPersonCard, type PersonCard } from '../directory/people.ts';
import { isPubliclyReachable, signPhotoUrl } from '../directory/photo-links.ts';
import { searchPeople } from '../directory/search.ts';
import { ensureSlackUserId, type SlackIdentityLookup } from '../directory/slack-identity.ts';
import {
  type SlackMessage,
  whoisCardMessage,
  whoisGoneMessage,
  whoisResultMessage,
  whoisSharedCardMessage,
  whoisUnavailableMessage,
} from './views/whois.ts';

/** What the /whois listeners need; the composition root builds it once. */
export interface WhoisDeps {
  sql: Sql;
  /** PUBLIC_URL: photo links are made only when Slack can reach it. */
  publicUrl: string;
  /** Signs photo links (see directory/photo-links.ts `photoSigningKey`); without it cards show no photo. */
  photoSigningKey?: Buffer;
  /** Replaces the Web API lookups made with the listener's client (tests, or a cached implementation). */
  identity?: SlackIdentityLookup;
}

export interface WhoisContext {
  teamId: string;
  identity: SlackIdentityLookup;
  warn: (message: string) => void;
}

/** Slack sends `&`, `<` and `>` typed by people as entities; mentions arrive as `<@U…|name>`. */
export function unescapeSlackText(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

function photoUrl(deps: WhoisDeps, card: PersonCard): string | undefined {
  if (!card.photo || !deps.photoSigningKey || !isPubliclyReachable(deps.publicUrl)) return undefined;
  return signPhotoUrl(deps.publicUrl, deps.photoSigningKey, card.id, card.photo.etag);
}

/** Adds the Slack mention to a card whose person has not been matched to Slack yet (asks Slack at most daily). */
async function withSlackUser(deps: WhoisDeps, context: WhoisContext, card: PersonCard): Promise<PersonCard> {
  if (card.slackUserId) return card;
  try {
    const slackUserId = await ensureSlackUserId(deps.sql, card.id, context.identity);
    return slackUserId ? { ...card, slackUserId } : card;
  } catch (error) {
    context.warn(`whois: could not look up the Slack user of profile ${card.id}: ${(error as Error).message}`);
    return card;
  }
}

async function guarded(context: WhoisContext, build: () => Promise<SlackMessage>): Promise<SlackMessage> {
  try {
    return await build();
  } catch (error) {
    context.warn(`whois: the directory could not be searched: ${(error as Error).message}`);
    return whoisUnavailableMessage();
  }
}

/** The answer to `/whois <text>`. */
export function answerWhois(deps: WhoisDeps, context: WhoisContext, text: string): Promise<SlackMessage> {
  return guarded(context, async () => {
    const scope = { teamId: context.teamId };
    const result = await searchPeople(deps.sql, { scope, text: unescapeSlackText(text), slack: context.identity });
    if (result.kind !== 'match') return whoisResultMessage(result);
    const best = await withSlackUser(deps, context, result.best);
    return whoisResultMessage({ ...result, best }, { photoUrl: photoUrl(deps, best) });
  });
}

async function cardOf(deps: WhoisDeps, context: WhoisContext, profileId: string) {
  const card = await getPersonCard(deps.sql, { teamId: context.teamId }, Number(profileId));
  return card && withSlackUser(deps, context, card);
}

/** A person's card opened from a button (manager, another match, a suggestion). */
export function personCardReply(deps: WhoisDeps, context: WhoisContext, profileId: string): Promise<SlackMessage> {
  return guarded(context, async () => {
    const card = await cardOf(deps, context, profileId);
    return card ? whoisCardMessage(card, { photoUrl: photoUrl(deps, card) }) : whoisGoneMessage();
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
  let card: PersonCard | undefined;
  try {
    card = await cardOf(deps, context, profileId);
  } catch (error) {
    context.warn(`whois: the directory could not be read: ${(error as Error).message}`);
    return { visibleTo: 'clicker', message: whoisUnavailableMessage() };
  }
  if (!card) return { visibleTo: 'clicker', message: whoisGoneMessage() };
  return { visibleTo: 'channel', message: whoisSharedCardMessage(card, { sharedBy, photoUrl: photoUrl(deps, card) }) };
}
