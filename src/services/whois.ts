import { retryOnLostConnection, type Sql } from '../db/client.ts';
import { GUEST_WHOIS, type GuestWhois } from '../db/schema.ts';
import { getPersonCard, type PersonCard } from '../directory/people.ts';
import { isPubliclyReachable, signPhotoUrl } from '../directory/photo-links.ts';
import { type SearchResult, searchPeople } from '../directory/search.ts';
import { ensureSlackUserId, type SlackIdentityLookup } from '../directory/slack-identity.ts';
import { changeFeedState } from '../sync/notifications/subscriptions.ts';

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
  /** `reduced`: the asker is a Slack guest whom the admins allow only the reduced card. */
  card?: 'full' | 'reduced';
}

/**
 * What this workspace lets Slack guests see: the strictest choice among its sources, `none` when it has no
 * source or the directory cannot say (a guest is then refused, never shown more than allowed).
 */
export async function guestAccess(deps: WhoisDeps, teamId: string): Promise<GuestWhois> {
  const rows = await deps.sql<{ guest_whois: GuestWhois }[]>`
    select guest_whois from sources where slack_team_id = ${teamId}`;
  const rank = (g: GuestWhois) => GUEST_WHOIS.indexOf(g);
  return (
    rows
      .map((r) => r.guest_whois)
      .reduce<GuestWhois | undefined>(
        (strictest, g) => (strictest === undefined || rank(g) < rank(strictest) ? g : strictest),
        undefined,
      ) ?? 'none'
  );
}

/**
 * The reduced card a guest may be allowed: who someone is (name, title, department, photo) and how to reach
 * them in Slack; no email, phones, office, manager or team size. Stripped here, so no view can show them.
 */
function reduced(card: PersonCard): PersonCard {
  return {
    id: card.id,
    displayName: card.displayName,
    firstName: card.firstName,
    lastName: card.lastName,
    jobTitle: card.jobTitle,
    department: card.department,
    email: '',
    directReports: 0,
    sourceId: card.sourceId,
    slackUserId: card.slackUserId,
    photo: card.photo,
  };
}

const shown = (context: WhoisContext, card: PersonCard) => (context.card === 'reduced' ? reduced(card) : card);

/**
 * How fresh a card's data is: `live` when its source receives Graph change notifications (changes arrive
 * within seconds), and when its source last finished a sync (a notification-driven one included).
 */
export interface Freshness {
  live: boolean;
  asOf: Date;
}

/** A search's outcome as plain data; `unavailable` when the directory could not be searched. */
export type WhoisAnswer =
  | { kind: 'unavailable' }
  | { kind: 'result'; result: SearchResult; photoUrl?: string; freshness?: Freshness };

/** One person's card as plain data; `gone` when the profile no longer exists in this workspace's directory. */
export type CardAnswer =
  | { kind: 'unavailable' }
  | { kind: 'gone' }
  | { kind: 'card'; card: PersonCard; photoUrl?: string; freshness?: Freshness };

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

/** The freshness of the source a card came from; left out (not failing the card) when it cannot be read. */
async function freshnessOf(deps: WhoisDeps, context: WhoisContext, card: PersonCard): Promise<Freshness | undefined> {
  try {
    const [row] = await deps.sql<{ last_success_at: Date | null }[]>`
      select last_success_at from sources where id = ${card.sourceId}`;
    if (!row?.last_success_at) return undefined;
    const feed = await changeFeedState(deps.sql, card.sourceId);
    return { live: feed.state === 'live', asOf: row.last_success_at };
  } catch (error) {
    context.warn(`whois: could not read how fresh profile ${card.id} is: ${(error as Error).message}`);
    return undefined;
  }
}

/** Searches the workspace's directory for `text` (already decoded from Slack's escaping). */
export async function searchWhois(deps: WhoisDeps, context: WhoisContext, text: string): Promise<WhoisAnswer> {
  try {
    const scope = { teamId: context.teamId };
    const result = await retryOnLostConnection(() => searchPeople(deps.sql, { scope, text, slack: context.identity }));
    if (result.kind !== 'match') return { kind: 'result', result };
    const [matched, freshness] = await Promise.all([
      withSlackUser(deps, context, result.best),
      freshnessOf(deps, context, result.best),
    ]);
    const best = shown(context, matched);
    const others = context.card === 'reduced' ? result.others.map((o) => ({ ...o, email: '' })) : result.others;
    return { kind: 'result', result: { ...result, best, others }, photoUrl: photoUrl(deps, best), freshness };
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
    card = found && shown(context, await withSlackUser(deps, context, found));
  } catch (error) {
    context.warn(`whois: the directory could not be read: ${(error as Error).message}`);
    return { kind: 'unavailable' };
  }
  if (!card) return { kind: 'gone' };
  return { kind: 'card', card, photoUrl: photoUrl(deps, card), freshness: await freshnessOf(deps, context, card) };
}
