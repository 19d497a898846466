import { type AuthenticationResult, type ConfidentialClientApplication, CryptoProvider } from '@azure/msal-node';
import type { AuthContext, AzureSource, GraphToken } from './auth-context.ts';
import { authFailure } from './auth-errors.ts';
import { authorityUrl } from './endpoints.ts';
import { AzureError } from './errors.ts';
import { DELEGATED_SCOPES } from './permissions.ts';
import { checkTenant } from './tenant-check.ts';

/**
 * Delegated mode: an Entra admin signs in (authorization code + PKCE, state, nonce); their refresh token,
 * kept in the source's encrypted MSAL cache, gets Graph tokens afterwards.
 */

export interface AuthorizeRequest {
  /** Microsoft's sign-in page; send the admin's browser here. */
  url: string;
  /** Keep these three with the pending request (encrypted) until the callback. */
  state: string;
  nonce: string;
  pkceVerifier: string;
}

export interface SignedInAdmin {
  homeAccountId: string;
  tenantId: string;
  upn: string;
  name: string | undefined;
}

export interface RedeemInput {
  sourceId: string;
  code: string;
  /** `state` as it came back on the callback URL. */
  state: string | undefined;
  /** `state` stored with the pending request. */
  expectedState: string;
  nonce: string;
  pkceVerifier: string;
  redirectUri: string;
  /** The tenant a connection that has synced stays with; a sign-in elsewhere is refused before saving. */
  boundTenant?: string | null;
}

const scopes = [...DELEGATED_SCOPES];
const cryptoProvider = new CryptoProvider();

export async function createAuthorizeRequest(
  ctx: AuthContext,
  input: { redirectUri: string; loginHint?: string; tenant?: string; scopes?: readonly string[] },
): Promise<AuthorizeRequest> {
  const { verifier, challenge } = await cryptoProvider.generatePkceCodes();
  const state = cryptoProvider.createNewGuid();
  const nonce = cryptoProvider.createNewGuid();
  try {
    const url = await ctx.urlClient().getAuthCodeUrl({
      scopes: [...(input.scopes ?? scopes)],
      authority: input.tenant ? authorityUrl(ctx.app.authorityHost, input.tenant) : undefined,
      redirectUri: input.redirectUri,
      codeChallenge: challenge,
      codeChallengeMethod: 'S256',
      state,
      nonce,
      // MSAL drops login_hint under select_account; with a hint (reauthorizing a known admin) Entra asks
      // that account for its password instead of offering the accounts the browser knows.
      prompt: input.loginHint ? 'login' : 'select_account',
      loginHint: input.loginHint,
    });
    return { url, state, nonce, pkceVerifier: verifier };
  } catch (e) {
    throw authFailure(e);
  }
}

/**
 * Redeems a code with a client that saves nothing: MSAL checks state and nonce (it is strict about the
 * nonce since v6, so it is always passed); the caller decides whether the result may be kept.
 */
export async function redeemCode(
  ctx: AuthContext,
  input: RedeemInput,
  options: { scopes: readonly string[]; tenant?: string },
): Promise<{ result: AuthenticationResult; client: ConfidentialClientApplication }> {
  if (!input.expectedState || input.state !== input.expectedState) {
    throw new AzureError(
      'reauth_required',
      'The sign-in response does not belong to this authorization request (state mismatch): start again from Slack.',
    );
  }
  const client = ctx.memoryClient();
  try {
    const result = await client.acquireTokenByCode(
      {
        code: input.code,
        scopes: [...options.scopes],
        authority: options.tenant ? authorityUrl(ctx.app.authorityHost, options.tenant) : undefined,
        redirectUri: input.redirectUri,
        codeVerifier: input.pkceVerifier,
        state: input.expectedState,
        nonce: input.nonce,
      },
      { code: input.code, state: input.state },
    );
    return { result, client };
  } catch (e) {
    throw authFailure(e, 'Microsoft did not complete the sign-in');
  }
}

/**
 * Completes the sign-in. The tenant is checked before anything is saved: a sign-in into the wrong tenant
 * never touches the source's saved cache. Then the new cache replaces the previous one (it holds only
 * the admin who just signed in) and the admin's account id is saved.
 */
export async function redeemAuthorizationCode(ctx: AuthContext, input: RedeemInput): Promise<SignedInAdmin> {
  const { result, client } = await redeemCode(ctx, input, { scopes });
  const account = result.account;
  if (!account) {
    throw new AzureError(
      'reauth_required',
      'Microsoft answered the sign-in without an account: start again from Slack.',
    );
  }
  checkTenant(account.tenantId, { configured: ctx.app.tenantId, bound: input.boundTenant });
  await ctx.store.writeCache(input.sourceId, client.getTokenCache().serialize());
  await ctx.store.writeAccount(input.sourceId, account.homeAccountId);
  return {
    homeAccountId: account.homeAccountId,
    tenantId: account.tenantId,
    upn: account.username,
    name: account.name,
  };
}

/** A Graph token from the saved sign-in; a dead sign-in is removed from the saved cache, then reported. */
export async function acquireDelegatedToken(
  ctx: AuthContext,
  source: AzureSource,
  forceRefresh: boolean,
): Promise<GraphToken> {
  const client = ctx.clientFor(source.id);
  const cache = client.getTokenCache();
  const homeAccountId = source.homeAccountId ?? (await ctx.store.readAccount(source.id));
  const account = homeAccountId ? await cache.getAccountByHomeId(homeAccountId) : null;
  if (!account) {
    throw new AzureError(
      'reauth_required',
      'aad-sync holds no usable Microsoft sign-in for this connection: an admin must reauthorize.',
    );
  }
  try {
    const result = await client.acquireTokenSilent({
      account,
      scopes,
      authority: authorityUrl(ctx.app.authorityHost, account.tenantId),
      forceRefresh,
    });
    return { accessToken: result.accessToken, expiresOn: result.expiresOn };
  } catch (e) {
    const failure = authFailure(e);
    // MSAL drops a dead refresh token only in memory; the saved cache would offer it again next time.
    if (failure.code === 'reauth_required') await cache.removeAccount(account);
    throw failure;
  }
}
