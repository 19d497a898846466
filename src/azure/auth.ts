import type { ConfidentialClientApplication } from '@azure/msal-node';
import {
  acquireApplicationToken,
  checkAdminConsent,
  confirmAdminConsent,
  createAdminConsentUrl,
  createConsentSignInRequest,
} from './application.ts';
import type { AuthContext, AzureSource, GraphToken } from './auth-context.ts';
import type { CallbackQuery } from './callback-errors.ts';
import {
  type AuthorizeRequest,
  acquireDelegatedToken,
  createAuthorizeRequest,
  type RedeemInput,
  redeemAuthorizationCode,
  type SignedInAdmin,
} from './delegated.ts';
import { type AppRegistration, createMsalClient } from './msal-client.ts';
import { sourceCachePlugin } from './token-cache-plugin.ts';
import type { TokenCacheStore } from './token-cache-store.ts';

/** MSAL itself renews 5 minutes before expiry; a held token is dropped earlier so both never disagree. */
const TOKEN_REUSE_MARGIN_MS = 10 * 60_000;

export type GetToken = (options?: { forceRefresh?: boolean }) => Promise<string>;

/** Everything the rest of the product asks of Microsoft's identity platform. Errors are AzureErrors. */
export interface AzureAuth {
  createAuthorizeRequest(input: { redirectUri: string; loginHint?: string }): Promise<AuthorizeRequest>;
  redeemAuthorizationCode(input: RedeemInput): Promise<SignedInAdmin>;
  createAdminConsentUrl(input: { tenant?: string; redirectUri: string; state: string }): string;
  /** The consent redirect's claims, checked but not yet proven. */
  checkAdminConsent(input: { query: CallbackQuery; expectedState: string; boundTenant?: string | null }): {
    tenantId: string;
  };
  /** The sign-in that proves who consented, at the tenant the consent redirect named. */
  createConsentSignInRequest(input: { tenantId: string; redirectUri: string }): Promise<AuthorizeRequest>;
  /** Redeems that sign-in: its tenant must be the consent's, and the consent must give a token. */
  confirmAdminConsent(input: RedeemInput & { tenantId: string }): Promise<{ tenantId: string; upn: string }>;
  /** A Graph access token for the source, from cache when still valid; `forceRefresh` gets a new one. */
  acquireGraphToken(source: AzureSource, options?: { forceRefresh?: boolean }): Promise<string>;
  /** `acquireGraphToken` bound to a source, in the shape the Graph reader takes. */
  tokenProvider(source: AzureSource): GetToken;
}

export function createAzureAuth(app: AppRegistration, store: TokenCacheStore): AzureAuth {
  // One client per source keeps MSAL's discovery result and its throttling memory between calls;
  // the cache itself is reloaded from the database on every access.
  const clients = new Map<string, ConfidentialClientApplication>();
  const appClients = new Map<string, ConfidentialClientApplication>();
  let urlClient: ConfidentialClientApplication | undefined;
  const ctx: AuthContext = {
    app,
    store,
    clientFor(sourceId) {
      let client = clients.get(sourceId);
      if (!client) {
        client = createMsalClient(app, sourceCachePlugin(store, sourceId));
        clients.set(sourceId, client);
      }
      return client;
    },
    appClientFor(sourceId) {
      let client = appClients.get(sourceId);
      if (!client) {
        client = createMsalClient(app);
        appClients.set(sourceId, client);
      }
      return client;
    },
    memoryClient: () => createMsalClient(app),
    urlClient() {
      urlClient ??= createMsalClient(app);
      return urlClient;
    },
  };

  const acquire = (source: AzureSource, forceRefresh: boolean) =>
    source.authMode === 'application'
      ? acquireApplicationToken(ctx, source, forceRefresh)
      : acquireDelegatedToken(ctx, source, forceRefresh);

  const acquireGraphToken = async (source: AzureSource, options: { forceRefresh?: boolean } = {}) =>
    (await acquire(source, options.forceRefresh ?? false)).accessToken;

  /**
   * Holds the token between Graph requests of a run: MSAL would give the same one, but only after reading
   * and decrypting the saved cache each time. Dropped well before expiry, and on a forced refresh.
   */
  const tokenProvider = (source: AzureSource): GetToken => {
    let held: GraphToken | undefined;
    return async ({ forceRefresh = false } = {}) => {
      const usable = held?.expiresOn && held.expiresOn.getTime() - Date.now() > TOKEN_REUSE_MARGIN_MS;
      if (!held || !usable || forceRefresh) held = await acquire(source, forceRefresh);
      return held.accessToken;
    };
  };

  return {
    createAuthorizeRequest: (input) => createAuthorizeRequest(ctx, input),
    redeemAuthorizationCode: (input) => redeemAuthorizationCode(ctx, input),
    createAdminConsentUrl: (input) => createAdminConsentUrl(ctx, input),
    checkAdminConsent: (input) => checkAdminConsent(ctx, input),
    createConsentSignInRequest: (input) => createConsentSignInRequest(ctx, input),
    confirmAdminConsent: (input) => confirmAdminConsent(ctx, input),
    acquireGraphToken,
    tokenProvider,
  };
}
