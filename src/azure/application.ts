import { setTimeout as sleep } from 'node:timers/promises';
import type { ConfidentialClientApplication } from '@azure/msal-node';
import type { AuthContext, AzureSource, GraphToken } from './auth-context.ts';
import { authFailure } from './auth-errors.ts';
import { type CallbackQuery, callbackError } from './callback-errors.ts';
import { authorityUrl } from './endpoints.ts';
import { AzureError } from './errors.ts';
import { APPLICATION_SCOPE } from './permissions.ts';

/**
 * Application mode: an admin grants the app's application permissions once (admin-consent redirect);
 * afterwards the app gets client-credentials tokens for that tenant without anyone's sign-in.
 */

const TENANT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
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
 * Checks the consent redirect (error, state, tenant) and then proves the consent with a real
 * client-credentials token for that tenant, as Microsoft advises: the `tenant` parameter alone proves nothing.
 */
export async function completeAdminConsent(
  ctx: AuthContext,
  input: { sourceId: string; query: CallbackQuery; expectedState: string },
): Promise<{ tenantId: string }> {
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
  const client = ctx.freshClientFor(input.sourceId);
  for (let attempt = 0; ; attempt++) {
    try {
      await clientCredentialToken(client, ctx, tenantId, true);
      return { tenantId };
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
    return await clientCredentialToken(ctx.clientFor(source.id), ctx, source.tenantId, forceRefresh);
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
