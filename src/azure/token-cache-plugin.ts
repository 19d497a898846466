import type { ICachePlugin } from '@azure/msal-node';
import type { TokenCacheStore } from './token-cache-store.ts';

/**
 * MSAL cache persistence for one source (delegated mode): reload the blob before every cache access
 * (another replica may have refreshed the tokens), save it after MSAL changed it.
 */
export function sourceCachePlugin(store: TokenCacheStore, sourceId: string): ICachePlugin {
  return {
    async beforeCacheAccess(context) {
      // '{}' replaces whatever this client held in memory, so a cleared row means an empty cache.
      const serialized = await store.readCache(sourceId);
      context.tokenCache.deserialize(serialized ?? '{}');
    },
    async afterCacheAccess(context) {
      if (context.cacheHasChanged) await store.writeCache(sourceId, context.tokenCache.serialize());
    },
  };
}
