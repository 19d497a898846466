import { AuthError, ClientConfigurationError, InteractionRequiredAuthError, type ServerError } from '@azure/msal-node';
import { AzureError } from './errors.ts';

/**
 * What an MSAL failure means for a source, following graph-msal.md §1.9. MSAL's own
 * InteractionRequiredAuthError misses cases (invalid_grant without a suberror, e.g. AADSTS50173 after a
 * password reset, is a plain ServerError), so the AADSTS number decides as well.
 */
export type AuthErrorKind = 'reauth_required' | 'app_misconfigured' | 'transient';

/** AADSTS numbers after which only a person signing in (or consenting) again helps. */
const REAUTH_AADSTS: Record<string, string> = {
  '50173': 'its password was changed or its sessions were revoked',
  '700082': 'the saved sign-in expired after 90 days without use',
  '70008': 'the saved sign-in expired',
  '700081': 'the saved sign-in reached its maximum lifetime',
  '700084': 'the saved sign-in expired',
  '70043': 'a sign-in frequency policy requires a fresh sign-in',
  '65001': 'consent for aad-sync was withdrawn',
  '65004': 'consent for aad-sync was declined',
  '50076': 'the account now needs multi-factor authentication',
  '50079': 'the account must register for multi-factor authentication',
  '53003': 'a Conditional Access policy blocks it',
  '53000': 'a Conditional Access policy requires a compliant device',
  '530002': 'a Conditional Access policy requires a compliant device',
  '530003': 'a Conditional Access policy requires a managed device',
  '50105': 'the account is not assigned to aad-sync in Enterprise applications',
  '90094': 'an administrator must grant consent',
  '54005': 'the authorization code was already used',
  '50148': 'the PKCE code verifier does not match the sign-in that started it; start the sign-in again',
  '70000': 'the authorization code is invalid or has expired; start the sign-in again',
};

/** AADSTS numbers that mean the app registration or our settings are wrong; retrying cannot help. */
const MISCONFIGURED_AADSTS: Record<string, string> = {
  '7000215': "AZURE_CLIENT_SECRET is not a valid secret of the app: use the secret's Value, not its ID",
  '7000222': 'AZURE_CLIENT_SECRET has expired: create a new client secret in the app registration',
  '700027': "the app's client assertion was rejected: check its certificate",
  '700016':
    'the app AZURE_CLIENT_ID does not exist in the tenant: check AZURE_CLIENT_ID, or have an admin consent to it',
  '7000229': 'the app has no service principal in the tenant yet: an admin must consent to it',
  '90002': 'the tenant does not exist: check AZURE_TENANT_ID',
  '50011': 'the redirect URI is not registered on the app: add PUBLIC_URL/azure/callback to its redirect URIs',
};

const TRANSIENT_AADSTS = new Set(['90033', '90024', '50196']);

const REAUTH_OAUTH_ERRORS = new Set(['invalid_grant', 'interaction_required', 'login_required', 'consent_required']);
const MISCONFIGURED_OAUTH_ERRORS = new Set(['invalid_client', 'unauthorized_client']);
/** MSAL's local checks of the callback; the admin has to start the sign-in again. */
const REAUTH_CLIENT_CODES = new Set(['state_mismatch', 'state_not_found', 'nonce_mismatch', 'no_account_found']);

function aadstsOf(e: AuthError): string | undefined {
  const errorNo = (e as ServerError).errorNo;
  if (errorNo !== undefined && errorNo !== null && `${errorNo}` !== '') return `${errorNo}`;
  // MSAL's local throttle re-throws with the AADSTS numbers joined as errorCode.
  if (/^\d+( \d+)*$/.test(e.errorCode)) return e.errorCode.split(' ')[0];
  const match = /AADSTS(\d+)/.exec(e.errorMessage ?? '');
  return match?.[1];
}

export function classifyAuthError(e: unknown): AuthErrorKind {
  if (e instanceof AzureError) {
    return e.code === 'reauth_required' || e.code === 'app_misconfigured' ? e.code : 'transient';
  }
  if (!(e instanceof AuthError)) return 'transient';
  if (e instanceof InteractionRequiredAuthError) return 'reauth_required';
  if (e instanceof ClientConfigurationError) return 'app_misconfigured';
  const aadsts = aadstsOf(e);
  const status = (e as ServerError).status;
  if (aadsts && TRANSIENT_AADSTS.has(aadsts)) return 'transient';
  if (status !== undefined && (status === 429 || status >= 500)) return 'transient';
  if (REAUTH_OAUTH_ERRORS.has(e.errorCode) || REAUTH_CLIENT_CODES.has(e.errorCode)) return 'reauth_required';
  if (aadsts && aadsts in REAUTH_AADSTS) return 'reauth_required';
  if (MISCONFIGURED_OAUTH_ERRORS.has(e.errorCode)) return 'app_misconfigured';
  if (aadsts && aadsts in MISCONFIGURED_AADSTS) return 'app_misconfigured';
  return 'transient';
}

function codeLabel(e: AuthError, aadsts: string | undefined): string {
  return aadsts ? `AADSTS${aadsts}` : e.errorCode || e.name;
}

/** The AzureError a failed token call becomes, with a message an admin can act on. */
export function authFailure(
  e: unknown,
  reauthLead = 'The account that authorized aad-sync can no longer sign in',
): AzureError {
  if (e instanceof AzureError) return e;
  const kind = classifyAuthError(e);
  if (!(e instanceof AuthError)) {
    const reason = e instanceof Error ? e.message : String(e);
    return new AzureError(
      'transient',
      `Could not reach Microsoft's sign-in service (${reason}); aad-sync will try again at the next run.`,
      {},
      { cause: e },
    );
  }
  const aadsts = aadstsOf(e);
  const label = codeLabel(e, aadsts);
  const detail = { aadsts, oauthError: e.errorCode || undefined, status: (e as ServerError).status };
  if (kind === 'reauth_required') {
    const why =
      (aadsts && REAUTH_AADSTS[aadsts]) ??
      (e.errorCode === 'no_tokens_found' || e.errorCode === 'no_account_found'
        ? 'aad-sync holds no usable sign-in for this connection'
        : REAUTH_CLIENT_CODES.has(e.errorCode)
          ? 'the sign-in response did not match the request that started it'
          : 'Microsoft no longer accepts the saved sign-in');
    return new AzureError('reauth_required', `${reauthLead} (${label}: ${why}): an admin must reauthorize.`, detail, {
      cause: e,
    });
  }
  if (kind === 'app_misconfigured') {
    const why =
      (aadsts && MISCONFIGURED_AADSTS[aadsts]) ??
      (e instanceof ClientConfigurationError
        ? 'check AZURE_AUTHORITY_HOST, AZURE_TENANT_ID and AZURE_CLIENT_ID'
        : 'check AZURE_CLIENT_ID and AZURE_CLIENT_SECRET');
    return new AzureError(
      'app_misconfigured',
      `Microsoft rejected aad-sync's app registration (${label}): ${why}.`,
      detail,
      {
        cause: e,
      },
    );
  }
  const why =
    e.errorCode === 'endpoints_resolution_error'
      ? `could not read the sign-in service's configuration; check the network and AZURE_AUTHORITY_HOST`
      : (e as ServerError).status === 429 || aadsts === '50196'
        ? 'Microsoft asked aad-sync to slow down'
        : "Microsoft's sign-in service is unavailable right now";
  return new AzureError('transient', `${why} (${label}); aad-sync will try again at the next run.`, detail, {
    cause: e,
  });
}
