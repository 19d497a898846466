import type { UsersInfoClient } from './admin.ts';

/**
 * Whether the person asking is a Slack guest. Slack's user object says so (docs.slack.dev/reference/objects/
 * user-object): `is_restricted` for every guest, with `is_ultra_restricted` also set for a single-channel guest.
 * Slash commands and button payloads carry no such flag, so `users.info` is asked; the answer is kept for a
 * minute (one lookup per person per minute whatever they click; users.info is Tier 4, 100+ a minute), and a
 * failed lookup throws rather than guess.
 */
export interface GuestCheck {
  isGuest(client: UsersInfoClient, installation: string, userId: string): Promise<boolean>;
}

const GUEST_CACHE_TTL_MS = 60_000;

export function createGuestCheck(options: { ttlMs?: number; now?: () => number } = {}): GuestCheck {
  const ttl = options.ttlMs ?? GUEST_CACHE_TTL_MS;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { at: number; answer: Promise<boolean> }>();

  async function ask(client: UsersInfoClient, userId: string): Promise<boolean> {
    const { user } = await client.users.info({ user: userId });
    if (!user) throw new Error('users.info answered without a user');
    return Boolean(user.is_restricted || user.is_ultra_restricted);
  }

  return {
    isGuest(client, installation, userId) {
      const key = `${installation}:${userId}`;
      const hit = cache.get(key);
      if (hit && now() - hit.at < ttl) return hit.answer;
      for (const [k, entry] of cache) if (now() - entry.at >= ttl) cache.delete(k);
      const answer = ask(client, userId);
      cache.set(key, { at: now(), answer });
      answer.catch(() => cache.delete(key));
      return answer;
    },
  };
}
