import { retryOnLostConnection, type Sql } from '../db/client.ts';
import { getPersonCard, type PersonCard } from '../directory/people.ts';
import { isPubliclyReachable, signPhotoUrl } from '../directory/photo-links.ts';
import { type SearchResult, searchPeople } from '../directory/search.ts';
import { ensureSlackUserId, type SlackIdentityLookup } from '../directory/slack-identity.ts';

/** What `/whois` needs; the composition root builds it once. */
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

/** A search's outcome as plain data; `unavailable` when the directory could not be searched. */
export type WhoisAnswer = { kind: 'unavailable' } | { kind: 'result'; result: SearchResult; photoUrl?: string };

/** One person's card as plain data; `gone` when the profile no longer exists in this workspace's directory. */
export type CardAnswer =
  | { kind: 'unavailable' }
  | { kind: 'gone' }
  | { kind: 'card'; card: PersonCard; photoUrl?: string };

function photoUrl(deps: WhoisDeps, card: PersonCard): string | undefined {
  if (!card.photo || !deps.photoSigningKey || !isPubliclyReachable(deps.publicUrl)) return undefined;
  return signPhotoUrl(deps.publicUrl, deps.photoSigningKey, card.id, card.photo.etag);
}

/** Adds the Slack mention to a card whose person has not been matched to Slack yet (asks Slack at most daily). */
async function withSlackUser(deps: WhoisDeps, context: WhoisContext, card: PersonCard): Promise<PersonCard> {
  if (card.slackUserId) return card;
  try {
    // The match it stores is the same however often it is stored.
    const slackUserId = await retryOnLostConnection(() => ensureSlackUserId(deps.sql, card.id, context.identity));
    return slackUserId ? { ...card, slackUserId } : card;
  } catch (error) {
    context.warn(`whois: could not look up the Slack user of profile ${card.id}: ${(error as Error).message}`);
    return card;
  }
}

/** Searches the workspace's directory for `text` (already decoded from Slack's escaping). */
export async function searchWhois(deps: WhoisDeps, context: WhoisContext, text: string): Promise<WhoisAnswer> {
  try {
    const scope = { teamId: context.teamId };
    const result = await retryOnLostConnection(() => searchPeople(deps.sql, { scope, text, slack: context.identity }));
    if (result.kind !== 'match') return { kind: 'result', result };
    const best = await withSlackUser(deps, context, result.best);
    return { kind: 'result', result: { ...result, best }, photoUrl: photoUrl(deps, best) };
  } catch (error) {
    context.warn(`whois: the directory could not be searched: ${(error as Error).message}`);
    return { kind: 'unavailable' };
  }
}

/** A person's card by profile id (from a button: manager, another match, a suggestion, "share"). */
export async function findCard(deps: WhoisDeps, context: WhoisContext, profileId: string): Promise<CardAnswer> {
  let card: PersonCard | undefined;
  try {
    const found = await retryOnLostConnection(() =>
      getPersonCard(deps.sql, { teamId: context.teamId }, Number(profileId)),
    );
    card = found && (await withSlackUser(deps, context, found));
  } catch (error) {
    context.warn(`whois: the directory could not be read: ${(error as Error).message}`);
    return { kind: 'unavailable' };
  }
  return card ? { kind: 'card', card, photoUrl: photoUrl(deps, card) } : { kind: 'gone' };
}
