import { setTimeout as sleep } from 'node:timers/promises';
import type { ConfidentialClientApplication } from '@azure/msal-node';
import type { AuthContext, AzureSource, GraphToken } from './auth-context.ts';
import { authFailure } from './auth-errors.ts';
import { type CallbackQuery, callbackError } from './callback-errors.ts';
import { type AuthorizeRequest, createAuthorizeRequest, type RedeemInput, redeemCode } from './delegated.ts';
import { authorityUrl } from './endpoints.ts';
import { AzureError } from './errors.ts';
import { APPLICATION_SCOPE } from './permissions.ts';
import { checkTenant, TENANT_ID } from './tenant-check.ts';

/**
 * Application mode: an admin grants the app's application permissions once (admin-consent redirect),
 * then signs in so the tenant is proven; afterwards the app gets client-credentials tokens for that
 * tenant without anyone's sign-in.
 */

/** Right after consent the service principal may not have replicated yet (AADSTS700016 / 7000229). */
const REPLICATION_DELAYS_MS = [1_000, 2_000, 4_000];

/** The v2 admin-consent URL: `.default` asks for every application permission of the registration. */
export function createAdminConsentUrl(
  ctx: AuthContext,
  input: { tenant?: string; redirectUri: string; state: string },
): string {
  // Microsoft's v2 consent endpoint does not take "common".
  const wanted = input.tenant ?? ctx.app.tenantId;
  const tenant = wanted === 'common' ? 'organizations' : wanted;
  const query = new URLSearchParams({
    client_id: ctx.app.clientId,
    scope: APPLICATION_SCOPE,
    redirect_uri: input.redirectUri,
    state: input.state,
  });
  return `${authorityUrl(ctx.app.authorityHost, tenant)}/v2.0/adminconsent?${query}`;
}

async function clientCredentialToken(
  client: ConfidentialClientApplication,
  ctx: AuthContext,
  tenantId: string,
  skipCache: boolean,
): Promise<GraphToken> {
  const result = await client.acquireTokenByClientCredential({
    scopes: [APPLICATION_SCOPE],
    authority: authorityUrl(ctx.app.authorityHost, tenantId),
    skipCache,
  });
  if (!result?.accessToken) {
    throw new AzureError('transient', "Microsoft's sign-in service returned no token; aad-sync will try again.");
  }
  return { accessToken: result.accessToken, expiresOn: result.expiresOn };
}

/**
 * Checks the consent redirect (error, state, tenant) without trusting it: Microsoft's `tenant` parameter
 * is only a claim ("Never use the tenant ID value of the tenant parameter to authenticate or authorize
 * users", "Admin consent on the Microsoft identity platform", learn.microsoft.com/entra/identity-platform/
 * v2-admin-consent). Anyone holding the `state` can write that URL; `confirmAdminConsent` proves it.
 */
export function checkAdminConsent(
  ctx: AuthContext,
  input: { query: CallbackQuery; expectedState: string; boundTenant?: string | null },
): { tenantId: string } {
  const { query } = input;
  if (!input.expectedState || query.state !== input.expectedState) {
    throw new AzureError(
      'reauth_required',
      'The consent response does not belong to this authorization request (state mismatch): start again from Slack.',
    );
  }
  const refused = callbackError(query);
  if (refused) throw refused;
  const tenantId = query.tenant ?? '';
  if ((query.admin_consent ?? '').toLowerCase() !== 'true' || !TENANT_ID.test(tenantId)) {
    throw new AzureError('reauth_required', 'Microsoft did not confirm the admin consent: start again from Slack.');
  }
  checkTenant(tenantId, { configured: ctx.app.tenantId, bound: input.boundTenant });
  return { tenantId };
}

/**
 * After the consent redirect, the admin signs in (OpenID Connect, code + PKCE + nonce) at the tenant the
 * redirect named: only someone who can sign in to that tenant gets past this step.
 */
export function createConsentSignInRequest(
  ctx: AuthContext,
  input: { tenantId: string; redirectUri: string },
): Promise<AuthorizeRequest> {
  return createAuthorizeRequest(ctx, { redirectUri: input.redirectUri, tenant: input.tenantId, scopes: [] });
}

/**
 * Proves the consent: the id_token of the sign-in names the consenting tenant (`tid`), and a
 * client-credentials token for that tenant works. The id_token comes straight from the token endpoint
 * over TLS in exchange for our code, PKCE verifier and client secret, which OpenID Connect Core 1.0
 * §3.1.3.7 accepts in place of a signature check; MSAL has already checked its nonce. Nothing is saved.
 */
export async function confirmAdminConsent(
  ctx: AuthContext,
  input: RedeemInput & { tenantId: string },
): Promise<{ tenantId: string; upn: string }> {
  const { result } = await redeemCode(ctx, input, { scopes: [], tenant: input.tenantId });
  const claims = (result.idTokenClaims ?? {}) as { tid?: string; aud?: string };
  if (claims.aud !== ctx.app.clientId || !claims.tid) {
    throw new AzureError(
      'reauth_required',
      'Microsoft answered the sign-in without a usable ID token: start again from Slack.',
    );
  }
  if (claims.tid.toLowerCase() !== input.tenantId.toLowerCase()) {
    throw new AzureError(
      'reauth_required',
      `The account that signed in belongs to Microsoft tenant ${claims.tid}, not to tenant ${input.tenantId} that ` +
        `the consent was for: sign in with an admin of tenant ${input.tenantId}.`,
    );
  }
  checkTenant(claims.tid, { configured: ctx.app.tenantId, bound: input.boundTenant });
  const client = ctx.appClientFor(input.sourceId);
  for (let attempt = 0; ; attempt++) {
    try {
      await clientCredentialToken(client, ctx, input.tenantId, true);
      return { tenantId: input.tenantId, upn: result.account?.username ?? '' };
    } catch (e) {
      const failure = authFailure(e, 'aad-sync could not use the consent just granted');
      const replicating = failure.detail.aadsts === '700016' || failure.detail.aadsts === '7000229';
      if (!replicating || attempt >= REPLICATION_DELAYS_MS.length) throw failure;
      await sleep(REPLICATION_DELAYS_MS[attempt]);
    }
  }
}

export async function acquireApplicationToken(
  ctx: AuthContext,
  source: AzureSource,
  forceRefresh: boolean,
): Promise<GraphToken> {
  if (!source.tenantId) {
    throw new AzureError(
      'reauth_required',
      'No admin has granted consent for this connection yet: an admin must authorize it.',
    );
  }
  try {
    return await clientCredentialToken(ctx.appClientFor(source.id), ctx, source.tenantId, forceRefresh);
  } catch (e) {
    const failure = authFailure(e, `aad-sync's consent in tenant ${source.tenantId} no longer works`);
    // After a consent that worked, "app not found in the directory" means the tenant removed the app or
    // withdrew its consent: granting consent again (Reauthorize) is the fix, not a configuration change.
    if (failure.detail.aadsts === '700016' || failure.detail.aadsts === '7000229') {
      throw new AzureError(
        'reauth_required',
        `aad-sync is no longer consented in tenant ${source.tenantId} (AADSTS${failure.detail.aadsts}: the app was ` +
          'removed from the tenant or its consent withdrawn): an admin must reauthorize and grant consent again.',
        failure.detail,
        { cause: e },
      );
    }
    throw failure;
  }
}
