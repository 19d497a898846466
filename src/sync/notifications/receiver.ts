import { timingSafeEqual } from 'node:crypto';
import type { Sql } from '../../db/client.ts';
import { findSubscriptions, type KnownSubscription, markNotified } from './subscriptions.ts';

/**
 * What the public notification routes hand over once a POST is parsed: each notification is checked
 * against a subscription we made (its id) and its secret (`clientState`, compared in constant time);
 * anything else is counted and dropped. Known subscriptions are cached per replica for a minute, so a
 * burst costs no database work beyond one "last notified" write per POST; that write also tells which of them
 * are still in the table, so a subscription stopped on any replica (uninstall) is refused at once, cached or not.
 */

export interface ReceivedNotification {
  subscriptionId: string;
  clientState?: string | null;
  lifecycleEvent?: string;
}

export type NotificationOutcome = 'accepted' | 'wrong_client_state' | 'unknown_subscription';

export interface ReceiverDeps {
  sql: Sql;
  encryptionKey: Buffer;
  /** A verified change notification for this source. */
  changed(subscription: KnownSubscription): void;
  /** A verified lifecycle notification. */
  lifecycle(subscription: KnownSubscription, event: string): Promise<void>;
  count(outcome: NotificationOutcome, n: number): void;
  cacheMs?: number;
}

export interface NotificationReceiver {
  changes(items: readonly ReceivedNotification[]): Promise<void>;
  lifecycle(items: readonly ReceivedNotification[]): Promise<void>;
}

const CACHE_MS = 60_000;

export function createNotificationReceiver(deps: ReceiverDeps): NotificationReceiver {
  const cache = new Map<string, { known: KnownSubscription; until: number }>();
  const cacheMs = deps.cacheMs ?? CACHE_MS;

  async function verify(
    items: readonly ReceivedNotification[],
    { fresh = false } = {},
  ): Promise<[ReceivedNotification, KnownSubscription][]> {
    const now = Date.now();
    const missing = [...new Set(items.map((i) => i.subscriptionId))].filter((id) => {
      const hit = cache.get(id);
      if (fresh) cache.delete(id);
      return fresh || !hit || hit.until < now;
    });
    for (const known of await findSubscriptions(deps.sql, deps.encryptionKey, missing)) {
      cache.set(known.subscriptionId, { known, until: now + cacheMs });
    }
    const verified: [ReceivedNotification, KnownSubscription][] = [];
    let unknown = 0;
    let forged = 0;
    for (const item of items) {
      const known = cache.get(item.subscriptionId)?.known;
      if (!known) unknown++;
      else if (!sameSecret(item.clientState, known.clientState)) forged++;
      else verified.push([item, known]);
    }
    if (unknown > 0) deps.count('unknown_subscription', unknown);
    if (forged > 0) deps.count('wrong_client_state', forged);
    return verified;
  }

  return {
    async changes(items) {
      const verified = await verify(items);
      const live = await markNotified(deps.sql, [...new Set(verified.map(([, known]) => known.subscriptionId))]);
      const seen = new Map<string, KnownSubscription>();
      let gone = 0;
      for (const [, known] of verified) {
        if (live.has(known.subscriptionId)) seen.set(known.subscriptionId, known);
        else {
          cache.delete(known.subscriptionId);
          gone++;
        }
      }
      if (gone > 0) deps.count('unknown_subscription', gone);
      if (verified.length > gone) deps.count('accepted', verified.length - gone);
      for (const known of seen.values()) deps.changed(known);
    },
    async lifecycle(items) {
      // Rare, and they act on the subscription: always checked against the table.
      const verified = await verify(items, { fresh: true });
      if (verified.length > 0) deps.count('accepted', verified.length);
      for (const [item, known] of verified) await deps.lifecycle(known, String(item.lifecycleEvent ?? ''));
    },
  };
}

function sameSecret(given: string | null | undefined, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
