import type { ICachePlugin } from '@azure/msal-node';
import type { TokenCacheStore } from './token-cache-store.ts';

/**
 * MSAL cache persistence for one source: reload the blob before every cache access (another replica may
 * have refreshed the tokens), save it after MSAL changed it.
 *
 * `startEmpty` is for a new sign-in: the cache then holds only the account that just signed in, never
 * the tokens of an admin it replaces.
 */
export function sourceCachePlugin(
  store: TokenCacheStore,
  sourceId: string,
  options: { startEmpty?: boolean } = {},
): ICachePlugin {
  return {
    async beforeCacheAccess(context) {
      // '{}' replaces whatever this client held in memory, so a cleared row means an empty cache.
      const serialized = options.startEmpty ? null : await store.readCache(sourceId);
      context.tokenCache.deserialize(serialized ?? '{}');
    },
    async afterCacheAccess(context) {
      if (context.cacheHasChanged) await store.writeCache(sourceId, context.tokenCache.serialize());
    },
  };
}
