import {
  AuthError,
  ClientAuthError,
  ClientConfigurationError,
  InteractionRequiredAuthError,
  ServerError,
} from '@azure/msal-node';
import { describe, expect, it } from 'vitest';
import { authFailure, classifyAuthError } from '../../src/azure/auth-errors.ts';
import { callbackError } from '../../src/azure/callback-errors.ts';
import { AzureError } from '../../src/azure/errors.ts';

// Shaped like MSAL builds them from Entra's token endpoint (ResponseHandler.validateTokenResponse).
const server = (error: string, aadsts: string | number | undefined, status: number | undefined, suberror = '') =>
  new ServerError(
    error,
    'corr-1',
    `Error(s): ${aadsts} - Description: AADSTS${aadsts}: something happened.`,
    suberror,
    aadsts as string | undefined,
    status,
  );

const interaction = (error: string, suberror: string, aadsts: string) =>
  new InteractionRequiredAuthError(error, 'corr-1', `AADSTS${aadsts}: ...`, suberror, '', '', '', aadsts);

describe('classifyAuthError', () => {
  it.each([
    ['InteractionRequired invalid_grant/bad_token 700082', interaction('invalid_grant', 'bad_token', '700082')],
    ['InteractionRequired consent_required 65001', interaction('invalid_grant', 'consent_required', '65001')],
    ['InteractionRequired interaction_required 50076', interaction('interaction_required', 'basic_action', '50076')],
    ['MSAL no_tokens_found', new InteractionRequiredAuthError('no_tokens_found', 'corr-1')],
    ['invalid_grant 50173 without suberror (a plain ServerError)', server('invalid_grant', '50173', 400)],
    ['invalid_grant 54005 (code reused)', server('invalid_grant', '54005', 400)],
    ['error_codes arriving as a number', server('invalid_grant', 50173, 400)],
    ['Conditional Access 53003 under another error', server('access_denied', '53003', 400)],
    ['device compliance 530003', server('invalid_request', '530003', 400)],
    ['not assigned 50105', server('invalid_request', '50105', 400)],
    ['state mismatch on the callback', new ClientAuthError('state_mismatch', 'corr-1')],
    ['nonce mismatch on the callback', new ClientAuthError('nonce_mismatch', 'corr-1')],
  ])('%s → reauth_required', (_name, error) => {
    expect(classifyAuthError(error)).toBe('reauth_required');
  });

  it.each([
    ['invalid_client 7000215 (bad secret)', server('invalid_client', '7000215', 401)],
    ['invalid_client 7000222 (expired secret)', server('invalid_client', '7000222', 401)],
    ['unauthorized_client 700016 (app not in tenant)', server('unauthorized_client', '700016', 400)],
    ['tenant not found 90002', server('invalid_request', '90002', 400)],
    ['authority_uri_insecure', new ClientConfigurationError('authority_uri_insecure', 'corr-1')],
    ['missing_tenant_id_error', new ClientConfigurationError('missing_tenant_id_error', 'corr-1')],
  ])('%s → app_misconfigured', (_name, error) => {
    expect(classifyAuthError(error)).toBe('app_misconfigured');
  });

  it.each([
    ['temporarily_unavailable 90033 (503)', server('temporarily_unavailable', '90033', 503)],
    ['server_error 500', server('server_error', undefined, 500)],
    ['429 with Retry-After, 50196', server('temporarily_unavailable', '50196', 429)],
    ['an invalid_grant carried by a 429 is still throttling', server('invalid_grant', '50173', 429)],
    ["MSAL's local throttle (codes joined, no status)", new ServerError('50196', 'corr-1', 'throttled')],
    ["MSAL's local throttle without codes", new ServerError('', 'corr-1', 'throttled')],
    ['network_error', new ClientAuthError('network_error', 'corr-1')],
    ['endpoints_resolution_error', new ClientAuthError('endpoints_resolution_error', 'corr-1')],
    ['token_parsing_error (HTML gateway page)', new AuthError('token_parsing_error', 'corr-1')],
    ['fetch failing outright', new TypeError('fetch failed')],
    ['an unknown server error', server('weird_error', undefined, 400)],
  ])('%s → transient', (_name, error) => {
    expect(classifyAuthError(error)).toBe('transient');
  });

  it('passes AzureErrors through', () => {
    expect(classifyAuthError(new AzureError('app_misconfigured', 'x'))).toBe('app_misconfigured');
    expect(classifyAuthError(new AzureError('graph_unavailable', 'x'))).toBe('transient');
  });
});

describe('authFailure messages', () => {
  it('tells an admin what happened and what to do', () => {
    const revoked = authFailure(server('invalid_grant', '50173', 400));
    expect(revoked.code).toBe('reauth_required');
    expect(revoked.message).toMatch(
      /^The account that authorized aad-sync can no longer sign in \(AADSTS50173: .+\): an admin must reauthorize\.$/,
    );
    expect(revoked.detail).toMatchObject({ aadsts: '50173', oauthError: 'invalid_grant', status: 400 });
    expect(revoked.cause).toBeInstanceOf(ServerError);

    const secret = authFailure(server('invalid_client', '7000215', 401));
    expect(secret.code).toBe('app_misconfigured');
    expect(secret.message).toContain('AZURE_CLIENT_SECRET');
    expect(secret.message).toContain('AADSTS7000215');

    const missing = authFailure(new InteractionRequiredAuthError('no_tokens_found', 'corr-1'));
    expect(missing.message).toContain('holds no usable sign-in');

    const throttled = authFailure(server('temporarily_unavailable', '50196', 429));
    expect(throttled.code).toBe('transient');
    expect(throttled.message).toMatch(/slow down.*try again/);

    const offline = authFailure(new TypeError('fetch failed'));
    expect(offline.code).toBe('transient');
    expect(offline.message).toContain('fetch failed');
  });

  it('never copies token-endpoint text that could hold secrets into the message', () => {
    const e = server('invalid_grant', '50173', 400);
    e.errorMessage = 'AADSTS50173: refresh_token=0.AAAA-secret-looking';
    expect(authFailure(e).message).not.toContain('secret-looking');
  });
});

describe('callbackError', () => {
  it('is null when the redirect carries no error', () => {
    expect(callbackError({ code: 'abc', state: 's' })).toBeNull();
  });

  it('explains a non-admin trying to consent', () => {
    const e = callbackError({
      error: 'access_denied',
      error_description: 'AADSTS90094: The grant requires admin permission.\r\nTrace ID: x',
    });
    expect(e?.code).toBe('reauth_required');
    expect(e?.message).toBe(
      'The account that signed in is not allowed to grant these permissions: sign in with a Global Administrator (AADSTS90094).',
    );
  });

  it('explains a declined consent and an unregistered redirect URI', () => {
    expect(
      callbackError({ error: 'access_denied', error_description: 'AADSTS65004: User declined to consent' })?.message,
    ).toMatch(/declined.*Accept/);
    const redirect = callbackError({
      error: 'invalid_request',
      error_description: 'AADSTS50011: The redirect URI ...',
    });
    expect(redirect?.code).toBe('app_misconfigured');
    expect(redirect?.message).toContain('/azure/callback');
  });

  it('quotes only the first line of an unknown description, without its AADSTS prefix', () => {
    const e = callbackError({ error: 'server_error', error_description: 'AADSTS1234: Odd thing.\r\nTrace ID: 1' });
    expect(e?.message).toBe(
      'Microsoft did not complete the sign-in ("Odd thing."): start again from Slack (AADSTS1234).',
    );
  });
});
