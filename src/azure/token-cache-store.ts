import { eq } from 'drizzle-orm';
import { DecryptionError, decrypt, encrypt } from '../crypto.ts';
import type { Db } from '../db/client.ts';
import { sources } from '../db/schema.ts';
import { saveSignIn } from '../db/sources.ts';
import { AzureError } from './errors.ts';

/**
 * The only part of the database the Azure layer touches: a source's MSAL token cache (sealed with
 * ENCRYPTION_KEY, bound to the source id so a blob copied onto another row does not open) and the
 * homeAccountId of the admin who signed in.
 */
export interface TokenCacheStore {
  /** The cache as MSAL serialized it, or null when none was saved. */
  readCache(sourceId: string): Promise<string | null>;
  writeCache(sourceId: string, serialized: string): Promise<void>;
  readAccount(sourceId: string): Promise<string | null>;
  writeAccount(sourceId: string, homeAccountId: string | null): Promise<void>;
}

export function createTokenCacheStore(db: Db, encryptionKey: Buffer): TokenCacheStore {
  const update = async (sourceId: string, values: Parameters<typeof saveSignIn>[2]) => {
    if (!(await saveSignIn(db, sourceId, values))) throw new Error(`source ${sourceId} does not exist`);
  };
  const select = async (sourceId: string) => {
    const [row] = await db
      .select({ tokenCache: sources.tokenCache, homeAccountId: sources.homeAccountId })
      .from(sources)
      .where(eq(sources.id, sourceId));
    return row;
  };

  return {
    async readCache(sourceId) {
      const sealed = (await select(sourceId))?.tokenCache;
      if (!sealed) return null;
      try {
        return decrypt(encryptionKey, sealed, sourceId);
      } catch (e) {
        if (!(e instanceof DecryptionError)) throw e;
        throw new AzureError(
          'reauth_required',
          'The saved Microsoft sign-in cannot be opened with the current ENCRYPTION_KEY (was the key changed?): an admin must reauthorize.',
          {},
          { cause: e },
        );
      }
    },
    async writeCache(sourceId, serialized) {
      await update(sourceId, { tokenCache: encrypt(encryptionKey, serialized, sourceId) });
    },
    async readAccount(sourceId) {
      return (await select(sourceId))?.homeAccountId ?? null;
    },
    async writeAccount(sourceId, homeAccountId) {
      await update(sourceId, { homeAccountId });
    },
  };
}
