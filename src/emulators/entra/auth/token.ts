import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { type EmulatorReply, type EmulatorRequest, formBody, header, json } from '../http.ts';
import type { EmulatorState, RefreshGrant } from '../state.ts';
import type { EmulatedUser } from '../tenant.ts';
import { entraError, resolveTenant } from './entra.ts';
import { GRAPH_RESOURCE, parseScopes } from './permissions.ts';

/**
 * `POST /{tenant}/oauth2/v2.0/token` for the three grants the app uses. Errors carry the AADSTS codes
 * Entra sends in the same situation, because the app decides "reauthorize" vs "fix the configuration"
 * vs "retry" from them (reference/graph-msal.md §1.9).
 */

const ACCESS_TOKEN_SECONDS = 3599;
const ID_TOKEN_SECONDS = 3600;
const REFRESH_INACTIVITY_MS = 90 * 24 * 3600 * 1000;
const CODE_LIFETIME_MESSAGE =
  'The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.';

type Fail = (status: number, error: string, code: number, message: string, suberror?: string) => EmulatorReply;

export function token(state: EmulatorState, request: EmulatorRequest, segment: string): EmulatorReply {
  const fail: Fail = (status, error, code, message, suberror) =>
    entraError(state, request, status, error, code, message, { suberror });
  if (request.method !== 'POST')
    return fail(400, 'invalid_request', 900561, 'The endpoint only accepts POST requests.');
  const kind = resolveTenant(state, segment);
  if (!kind) return fail(400, 'invalid_request', 90002, `Tenant '${segment}' not found.`);

  const form = formBody(request);
  const client = authenticateClient(state, request, form, fail);
  if (client) return client;

  const grantType = form.get('grant_type');
  if (state.faults.nextTokenRequest()) return throttled(state, request, grantType, fail);
  if (grantType === 'authorization_code') return redeemCode(state, form, fail);
  if (grantType === 'refresh_token') return redeemRefreshToken(state, form, fail);
  if (grantType === 'client_credentials') {
    if (kind === 'multi') {
      return fail(
        400,
        'invalid_request',
        50059,
        'No tenant-identifying information found in either the request or implied by any provided credentials.',
      );
    }
    return clientCredentials(state, form, fail);
  }
  return fail(
    400,
    'unsupported_grant_type',
    70003,
    `The app requested an unsupported grant type '${grantType ?? ''}'.`,
  );
}

/**
 * Entra's two throttling answers ("Client and server throttling", MSAL.NET docs,
 * learn.microsoft.com/entra/msal/dotnet/advanced/client-and-server-throttling): the client-credentials
 * grant gets 429 with `Retry-After: 60`; user-facing grants (code, refresh) get `invalid_grant` with
 * AADSTS50196, which MSAL.NET surfaces as "UI required" although signing in again does not help.
 */
function throttled(
  state: EmulatorState,
  request: EmulatorRequest,
  grantType: string | null,
  fail: Fail,
): EmulatorReply {
  if (grantType === 'client_credentials') {
    return entraError(
      state,
      request,
      429,
      'temporarily_unavailable',
      50196,
      'The server terminated an operation because it encountered a client request loop. Please contact your app vendor.',
      { headers: { 'retry-after': '60' } },
    );
  }
  return fail(
    400,
    'invalid_grant',
    50196,
    'The server terminated an operation because it encountered a client request loop. Please contact your app vendor.',
  );
}

/**
 * Whether the token request declares continuous access evaluation: MSAL sends `clientCapabilities`
 * as `claims={"access_token":{"xms_cc":{"values":["cp1"]}}}` ("Claims challenges, claims requests and client
 * capabilities", learn.microsoft.com/entra/identity-platform/claims-challenge).
 */
function declaresCae(form: URLSearchParams): boolean {
  const claims = form.get('claims');
  if (!claims) return false;
  try {
    const values = (JSON.parse(claims) as { access_token?: { xms_cc?: { values?: unknown } } }).access_token?.xms_cc
      ?.values;
    return Array.isArray(values) && values.includes('cp1');
  } catch {
    return false;
  }
}

/** Null when the client is who it says; otherwise the error reply. */
function authenticateClient(
  state: EmulatorState,
  request: EmulatorRequest,
  form: URLSearchParams,
  fail: Fail,
): EmulatorReply | null {
  let clientId = form.get('client_id');
  let secret = form.get('client_secret');
  const basic = header(request, 'authorization');
  if (basic?.toLowerCase().startsWith('basic ')) {
    const [id, password] = Buffer.from(basic.slice(6), 'base64').toString('utf8').split(':');
    clientId ??= decodeURIComponent(id);
    secret ??= decodeURIComponent(password ?? '');
  }
  const { settings } = state;
  if (!clientId)
    return fail(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'client_id'.");
  if (clientId !== settings.clientId) {
    return fail(
      400,
      'unauthorized_client',
      700016,
      `Application with identifier '${clientId}' was not found in the directory '${state.store.tenant.displayName}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
    );
  }
  if (form.get('client_assertion')) {
    return fail(401, 'invalid_client', 700027, 'Client assertion failed signature validation.');
  }
  if (!secret) {
    return fail(
      401,
      'invalid_client',
      7000218,
      "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    );
  }
  const expected = Buffer.from(settings.clientSecret);
  const given = Buffer.from(secret);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return fail(
      401,
      'invalid_client',
      7000215,
      `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
    );
  }
  return null;
}

function redeemCode(state: EmulatorState, form: URLSearchParams, fail: Fail): EmulatorReply {
  const code = form.get('code') ?? '';
  const grant = state.codes.get(code);
  if (!grant) {
    if (state.redeemedCodes.has(code)) {
      return fail(
        400,
        'invalid_grant',
        54005,
        'OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.',
      );
    }
    return fail(400, 'invalid_grant', 9002313, 'Invalid request. Request is malformed or invalid.');
  }
  state.codes.delete(code);
  state.redeemedCodes.add(code);
  if (grant.expiresAt < state.now()) return fail(400, 'invalid_grant', 70008, CODE_LIFETIME_MESSAGE);
  if (form.get('redirect_uri') !== grant.redirectUri) {
    return fail(
      400,
      'invalid_grant',
      50011,
      `The redirect URI '${form.get('redirect_uri') ?? ''}' specified in the request does not match the redirect URI used to obtain the authorization code.`,
    );
  }
  if (grant.codeChallenge !== null) {
    const verifier = form.get('code_verifier') ?? '';
    const computed =
      grant.codeChallengeMethod === 'S256' ? createHash('sha256').update(verifier).digest('base64url') : verifier;
    if (computed !== grant.codeChallenge) {
      return fail(
        400,
        'invalid_grant',
        50148,
        'The code_verifier does not match the code_challenge supplied in the authorization request for PKCE.',
      );
    }
  }
  const { user, refused } = activeUser(state, grant.userId, fail);
  if (refused) return refused;
  const oidc = new Set(grant.oidcScopes);
  const cae = declaresCae(form);
  const refresh = oidc.has('offline_access') ? issueRefreshToken(state, user.id, grant.graphScopes, cae) : undefined;
  return delegatedTokens(state, form, user, grant.graphScopes, {
    refreshToken: refresh,
    idToken: oidc.has('openid'),
    nonce: grant.nonce,
    cae,
  });
}

function redeemRefreshToken(state: EmulatorState, form: URLSearchParams, fail: Fail): EmulatorReply {
  const presented = form.get('refresh_token') ?? '';
  const grant = state.refreshTokens.get(presented);
  if (!grant || grant.clientId !== state.settings.clientId) {
    return fail(400, 'invalid_grant', 9002313, 'Invalid request. Request is malformed or invalid.');
  }
  if (grant.generation < state.tokenGeneration || grant.revocation < state.revocations) {
    return fail(
      400,
      'invalid_grant',
      50173,
      'The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.',
    );
  }
  if (state.now() - grant.lastUsedAt > REFRESH_INACTIVITY_MS) {
    return fail(
      400,
      'invalid_grant',
      700082,
      'The refresh token has expired due to inactivity. The token was inactive for 90.00:00:00.',
      'bad_token',
    );
  }
  const { user, refused } = activeUser(state, grant.userId, fail);
  if (refused) return refused;
  const scopes = parseScopes(form.get('scope') ?? '');
  const allowed = new Set([...grant.graphScopes, ...state.delegatedGrant]);
  const wanted = scopes.graphDefault ? grant.graphScopes : scopes.graph;
  if (wanted.some((p) => !allowed.has(p))) {
    return fail(
      400,
      'invalid_grant',
      65001,
      `The user or administrator has not consented to use the application with ID '${state.settings.clientId}'. Send an interactive authorization request for this user and resource.`,
      'consent_required',
    );
  }
  grant.lastUsedAt = state.now();
  // Entra hands out a new refresh token on every use; the old one stays valid until it expires.
  const cae = declaresCae(form);
  const refresh = issueRefreshToken(state, user.id, wanted, cae);
  return delegatedTokens(state, form, user, wanted, { refreshToken: refresh, idToken: true, nonce: null, cae });
}

function clientCredentials(state: EmulatorState, form: URLSearchParams, fail: Fail): EmulatorReply {
  const scope = form.get('scope') ?? '';
  const scopes = parseScopes(scope);
  if (!scopes.graphDefault || scopes.graph.length > 0 || scopes.invalid.length > 0) {
    return fail(
      400,
      'invalid_scope',
      1002012,
      `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
    );
  }
  if (!state.appRoles || state.consentPropagating) {
    // Also right after consent while the service principal replicates ("Error AADSTS700016", Microsoft
    // troubleshooting: a just-created or just-consented app may take a while to reach every region).
    return fail(
      400,
      'unauthorized_client',
      700016,
      `Application with identifier '${state.settings.clientId}' was not found in the directory '${state.store.tenant.displayName}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
    );
  }
  const now = Math.floor(state.now() / 1000);
  const accessToken = state.signer.sign({
    ...commonAccessClaims(state, now, declaresCae(form)),
    idtyp: 'app',
    oid: servicePrincipalId(state),
    sub: servicePrincipalId(state),
    roles: state.appRoles,
  });
  state.tokensIssued++;
  return json(
    200,
    {
      token_type: 'Bearer',
      expires_in: ACCESS_TOKEN_SECONDS,
      ext_expires_in: ACCESS_TOKEN_SECONDS,
      access_token: accessToken,
    },
    noStore(),
  );
}

type Active = { user: EmulatedUser; refused?: undefined } | { user?: undefined; refused: EmulatorReply };

function activeUser(state: EmulatorState, userId: string, fail: Fail): Active {
  const user = state.store.findUser(userId);
  if (!user) {
    const refused = fail(
      400,
      'invalid_grant',
      50034,
      `The user account does not exist in the ${state.store.tenant.initialDomain} directory. To sign into this application, the account must be added to the directory.`,
    );
    return { refused };
  }
  if (!user.accountEnabled) return { refused: fail(400, 'invalid_grant', 50057, 'The user account is disabled.') };
  return { user };
}

function issueRefreshToken(state: EmulatorState, userId: string, graphScopes: string[], cae: boolean): string {
  const value = `1.emu.${randomBytes(64).toString('base64url')}`;
  const grant: RefreshGrant = {
    clientId: state.settings.clientId,
    userId,
    graphScopes,
    generation: state.tokenGeneration,
    revocation: state.revocations,
    cae,
    lastUsedAt: state.now(),
  };
  state.refreshTokens.set(value, grant);
  return value;
}

function delegatedTokens(
  state: EmulatorState,
  form: URLSearchParams,
  user: EmulatedUser,
  graphScopes: string[],
  extras: { refreshToken?: string; idToken: boolean; nonce: string | null; cae: boolean },
): EmulatorReply {
  const now = Math.floor(state.now() / 1000);
  const tid = state.tenantId;
  const accessToken = state.signer.sign({
    ...commonAccessClaims(state, now, extras.cae),
    idtyp: 'user',
    name: user.displayName,
    oid: user.id,
    sub: pairwise(user.id, state.settings.clientId),
    upn: user.userPrincipalName,
    unique_name: user.userPrincipalName,
    scp: graphScopes.join(' '),
  });
  const body: Record<string, unknown> = {
    token_type: 'Bearer',
    // The scopes the app asked for, in its spelling: MSAL keys its cache on them.
    scope: form.get('scope') ?? graphScopes.map((p) => `${GRAPH_RESOURCE}/${p}`).join(' '),
    expires_in: ACCESS_TOKEN_SECONDS,
    ext_expires_in: ACCESS_TOKEN_SECONDS,
    access_token: accessToken,
  };
  if (extras.refreshToken) body.refresh_token = extras.refreshToken;
  if (extras.idToken) {
    body.id_token = state.signer.sign({
      aud: state.settings.clientId,
      iss: `${state.settings.publicBase}/${tid}/v2.0`,
      iat: now,
      nbf: now,
      exp: now + ID_TOKEN_SECONDS,
      name: user.displayName,
      ...(extras.nonce !== null ? { nonce: extras.nonce } : {}),
      oid: user.id,
      preferred_username: user.userPrincipalName,
      sub: pairwise(user.id, state.settings.clientId),
      tid,
      uti: randomBytes(16).toString('base64url'),
      ver: '2.0',
    });
  }
  if (form.get('client_info') === '1') {
    body.client_info = Buffer.from(JSON.stringify({ uid: user.id, utid: tid })).toString('base64url');
  }
  state.tokensIssued++;
  return json(200, body, noStore());
}

function commonAccessClaims(state: EmulatorState, now: number, cae: boolean): Record<string, unknown> {
  const tid = state.tenantId;
  return {
    aud: GRAPH_RESOURCE,
    iss: `https://sts.windows.net/${tid}/`,
    iat: now,
    nbf: now,
    exp: now + ACCESS_TOKEN_SECONDS,
    app_displayname: 'aad-sync',
    appid: state.settings.clientId,
    tid,
    uti: randomUUID(),
    ver: '1.0',
    ...(cae ? { xms_cc: ['cp1'] } : {}),
    // Not Entra claims: let the emulated Graph reject tokens issued before a reset or an immediate revoke,
    // and tokens of CAE clients issued before any revoke.
    xms_emu_gen: state.tokenGeneration,
    xms_emu_rev: state.revocations,
  };
}

/** Entra's `sub` is per application: the same user has a different `sub` in every app. */
function pairwise(userId: string, clientId: string): string {
  return createHash('sha256').update(`${userId}:${clientId}`).digest('base64url').slice(0, 43);
}

function servicePrincipalId(state: EmulatorState): string {
  const hex = createHash('sha256').update(`${state.tenantId}:${state.settings.clientId}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function noStore(): Record<string, string> {
  return { 'cache-control': 'no-store, no-cache', pragma: 'no-cache' };
}
