import { AzureError } from './errors.ts';

/**
 * The `error` Microsoft puts on the redirect back to us (sign-in or admin consent), in words for the
 * callback page and the waiting modal. Null when the redirect carries no error.
 */

export type CallbackQuery = Record<string, string | undefined>;

const BY_AADSTS: Record<string, { code: 'reauth_required' | 'app_misconfigured'; text: string }> = {
  '65004': { code: 'reauth_required', text: 'The permissions were declined: sign in again and choose Accept' },
  '90094': {
    code: 'reauth_required',
    text: 'The account that signed in is not allowed to grant these permissions: sign in with a Global Administrator',
  },
  '90099': {
    code: 'reauth_required',
    text: 'The account that signed in is not allowed to grant these permissions: sign in with a Global Administrator',
  },
  '50105': {
    code: 'reauth_required',
    text: 'The account that signed in is not assigned to aad-sync: assign it in Enterprise applications or use another admin',
  },
  '50011': {
    code: 'app_misconfigured',
    text: "The app registration does not list this app's callback address: add PUBLIC_URL/azure/callback to its redirect URIs",
  },
  '700016': {
    code: 'app_misconfigured',
    text: 'Microsoft does not know the app AZURE_CLIENT_ID in this tenant: check AZURE_CLIENT_ID',
  },
  '90002': { code: 'app_misconfigured', text: 'Microsoft does not know this tenant: check AZURE_TENANT_ID' },
};

export function callbackError(query: CallbackQuery): AzureError | null {
  const error = query.error;
  if (!error) return null;
  const description = query.error_description ?? '';
  const aadsts = /AADSTS(\d+)/.exec(description)?.[1];
  const known = aadsts ? BY_AADSTS[aadsts] : undefined;
  const label = aadsts ? `AADSTS${aadsts}` : error;
  if (known) return new AzureError(known.code, `${known.text} (${label}).`, { aadsts, oauthError: error });
  const declined = error === 'access_denied' || error === 'permission_denied' || error === 'consent_required';
  const firstLine = description
    .split(/\r?\n/)[0]
    .replace(/^AADSTS\d+:\s*/, '')
    .slice(0, 200);
  const text = declined
    ? 'The permissions were not granted: sign in with an account allowed to grant them, and choose Accept'
    : `Microsoft did not complete the sign-in${firstLine ? ` ("${firstLine}")` : ''}: start again from Slack`;
  return new AzureError('reauth_required', `${text} (${label}).`, { aadsts, oauthError: error });
}
