import { randomBytes, randomUUID } from 'node:crypto';
import type { EmulatorReply, EmulatorRequest } from '../http.ts';
import type { EmulatorState } from '../state.ts';
import type { EmulatedUser } from '../tenant.ts';
import {
  entraErrorPage,
  errorRedirect,
  isRegisteredRedirect,
  type RedirectError,
  resolveTenant,
  respondTo,
} from './entra.ts';
import {
  GRAPH_RESOURCE,
  needsAdminConsent,
  parseScopes,
  REGISTERED_APPLICATION,
  REGISTERED_DELEGATED,
} from './permissions.ts';

/**
 * The browser side of Entra: the authorize endpoint and the v1/v2 admin-consent endpoints. There is no
 * sign-in UI; who "signs in" and what they click is set with POST /_emulator/signin (see control.ts):
 * by default the tenant's Global Administrator signs in and consents.
 */

const CODE_LIFETIME_MS = 10 * 60 * 1000;

interface Checked {
  redirectUri: string;
}

/** The checks Entra makes before it trusts `redirect_uri`; failures are shown as a page, not redirected. */
function checkClient(state: EmulatorState, request: EmulatorRequest, segment: string): Checked | EmulatorReply {
  const { query } = request;
  if (!resolveTenant(state, segment)) {
    return entraErrorPage(state, request, 90002, `Tenant '${segment}' not found.`);
  }
  const clientId = query.get('client_id');
  if (!clientId) {
    return entraErrorPage(
      state,
      request,
      900144,
      "The request body must contain the following parameter: 'client_id'.",
    );
  }
  if (clientId !== state.settings.clientId) {
    return entraErrorPage(
      state,
      request,
      700016,
      `Application with identifier '${clientId}' was not found in the directory '${state.store.tenant.displayName}'.`,
    );
  }
  const redirectUri = query.get('redirect_uri');
  if (!redirectUri || !isRegisteredRedirect(state, redirectUri)) {
    return entraErrorPage(
      state,
      request,
      50011,
      `The redirect URI '${redirectUri ?? ''}' specified in the request does not match the redirect URIs configured for the application '${clientId}'.`,
    );
  }
  return { redirectUri };
}

/** The user the emulated browser session belongs to. */
function signedInUser(state: EmulatorState, loginHint: string | null): EmulatedUser {
  const { store } = state;
  const { upn, outcome } = state.signIn;
  if (upn) return store.findUser(upn) ?? store.findUser(state.adminId)!;
  if (outcome === 'non_admin') return store.findUser(state.memberId)!;
  return (loginHint ? store.findUser(loginHint) : undefined) ?? store.findUser(state.adminId)!;
}

function signInProblem(state: EmulatorState, user: EmulatedUser): RedirectError | null {
  if (state.signIn.outcome === 'deny') {
    return {
      error: 'access_denied',
      subcode: 'cancel',
      code: 65004,
      message: 'User declined to consent to access the app.',
    };
  }
  if (!user.accountEnabled) {
    return { error: 'access_denied', code: 50057, message: 'The user account is disabled.' };
  }
  return null;
}

const NEEDS_ADMIN: RedirectError = {
  error: 'access_denied',
  code: 90094,
  message: 'The grant requires admin permission.',
};

export function authorize(state: EmulatorState, request: EmulatorRequest, segment: string): EmulatorReply {
  const checked = checkClient(state, request, segment);
  if (!('redirectUri' in checked)) return checked;
  const { redirectUri } = checked;
  const { query } = request;
  const fail = (failure: RedirectError) => errorRedirect(state, request, redirectUri, failure);

  if (query.get('response_type') !== 'code') {
    return fail({
      error: 'unsupported_response_type',
      code: 700054,
      message: "response_type 'id_token' is not enabled for the application.",
    });
  }
  const scopes = parseScopes(query.get('scope') ?? '');
  if (scopes.invalid.length > 0) {
    return fail({
      error: 'invalid_scope',
      code: 70011,
      message: `The provided value for the input parameter 'scope' is not valid. The scope '${scopes.invalid.join(' ')}' does not exist.`,
    });
  }
  if (scopes.graph.length === 0 && !scopes.graphDefault && scopes.oidc.length === 0) {
    return fail({
      error: 'invalid_request',
      code: 900144,
      message: "The request body must contain the following parameter: 'scope'.",
    });
  }
  const challenge = query.get('code_challenge');
  const method = query.get('code_challenge_method') ?? 'plain';
  if (challenge !== null && method !== 'S256' && method !== 'plain') {
    return fail({ error: 'invalid_request', code: 5000541, message: `Invalid code_challenge_method '${method}'.` });
  }

  const user = signedInUser(state, query.get('login_hint'));
  const problem = signInProblem(state, user);
  if (problem) return fail(problem);

  const wanted = scopes.graphDefault ? REGISTERED_DELEGATED : scopes.graph;
  const missing = wanted.filter((p) => needsAdminConsent(p) && !state.delegatedGrant.has(p));
  if (missing.length > 0) {
    if (!state.store.tenant.adminIds.has(user.id)) return fail(NEEDS_ADMIN);
    for (const permission of missing) state.delegatedGrant.add(permission);
  }

  const code = `1.emu.${randomBytes(48).toString('base64url')}`;
  state.codes.set(code, {
    clientId: state.settings.clientId,
    redirectUri,
    graphScopes: wanted,
    oidcScopes: scopes.oidc,
    codeChallenge: challenge,
    codeChallengeMethod: method,
    nonce: query.get('nonce'),
    userId: user.id,
    expiresAt: state.now() + CODE_LIFETIME_MS,
  });
  const params: Record<string, string> = { code };
  const appState = query.get('state');
  if (appState !== null) params.state = appState;
  params.session_state = randomUUID();
  return respondTo(redirectUri, query.get('response_mode') ?? 'query', params);
}

/** `/{tenant}/adminconsent` (v1) and `/{tenant}/v2.0/adminconsent` (v2, needs `scope`). */
export function adminConsent(
  state: EmulatorState,
  request: EmulatorRequest,
  segment: string,
  version: 'v1' | 'v2',
): EmulatorReply {
  const checked = checkClient(state, request, segment);
  if (!('redirectUri' in checked)) return checked;
  const { redirectUri } = checked;
  const fail = (failure: RedirectError) => errorRedirect(state, request, redirectUri, failure);

  if (version === 'v2') {
    const scopes = parseScopes(request.query.get('scope') ?? '');
    if (!scopes.graphDefault) {
      return fail({
        error: 'invalid_request',
        code: 70011,
        message:
          "The provided value for the input parameter 'scope' is not valid. Admin consent needs the resource's /.default scope.",
      });
    }
  }
  const user = signedInUser(state, null);
  if (state.signIn.outcome === 'deny') {
    return version === 'v1'
      ? fail({ error: 'permission_denied', code: 65004, message: 'The admin canceled the request.' })
      : fail({
          error: 'access_denied',
          subcode: 'cancel',
          code: 65004,
          message: 'User declined to consent to access the app.',
          extra: { admin_consent: 'True' },
        });
  }
  const problem = signInProblem(state, user);
  if (problem) return fail(problem);
  if (!state.store.tenant.adminIds.has(user.id)) return fail(NEEDS_ADMIN);

  // Consent adds the registration's permissions; app roles an admin granted before (say Group.Read.All, from
  // the portal) stay, as in Entra, where removing a grant is a separate action ("Grant tenant-wide admin
  // consent to an application"; "Review permissions granted to enterprise applications").
  state.consent([...new Set([...(state.appRoles ?? []), ...REGISTERED_APPLICATION])]);
  for (const permission of REGISTERED_DELEGATED) state.delegatedGrant.add(permission);
  const params: Record<string, string> = { admin_consent: 'True', tenant: state.tenantId };
  if (version === 'v2') params.scope = REGISTERED_APPLICATION.map((p) => `${GRAPH_RESOURCE}/${p}`).join(' ');
  const appState = request.query.get('state');
  if (appState !== null) params.state = appState;
  return respondTo(redirectUri, 'query', params);
}
