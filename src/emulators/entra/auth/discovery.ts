import { type EmulatorReply, type EmulatorRequest, json } from '../http.ts';
import type { EmulatorState } from '../state.ts';
import { entraError, resolveTenant } from './entra.ts';

/**
 * OpenID Connect discovery. MSAL accepts the document only when `issuer` is on the authority's own host
 * and port, so every URL here comes from the emulator's public base URL, never from the Host header.
 */
export function discoveryDocument(
  state: EmulatorState,
  request: EmulatorRequest,
  segment: string,
  version: 'v1' | 'v2',
): EmulatorReply {
  const kind = resolveTenant(state, segment);
  if (!kind) return unknownTenant(state, request, segment);
  const base = state.settings.publicBase;
  // Entra puts the tenant id into a specific tenant's endpoints, and keeps common/organizations as given.
  const path = kind === 'specific' ? state.tenantId : segment.toLowerCase();
  const issuerTenant = kind === 'specific' ? state.tenantId : '{tenantid}';
  const v2 = version === 'v2' ? '/v2.0' : '';
  return json(
    200,
    {
      token_endpoint: `${base}/${path}/oauth2${v2}/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${base}/${path}/discovery${v2}/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: version === 'v2' ? `${base}/${issuerTenant}/v2.0` : `${base}/${issuerTenant}/`,
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${base}/oidc/userinfo`,
      authorization_endpoint: `${base}/${path}/oauth2${v2}/authorize`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${base}/${path}/oauth2${v2}/logout`,
      claims_supported: [
        'sub',
        'iss',
        'aud',
        'exp',
        'iat',
        'auth_time',
        'acr',
        'nonce',
        'preferred_username',
        'name',
        'tid',
        'ver',
        'at_hash',
        'c_hash',
        'email',
      ],
      tenant_region_scope: 'NA',
      cloud_instance_name: new URL(base).host,
      cloud_graph_host_name: new URL(base).host,
      msgraph_host: new URL(base).host,
      rbac_url: base,
    },
    { 'cache-control': 'max-age=86400, private', 'access-control-allow-origin': '*' },
  );
}

export function keys(state: EmulatorState, request: EmulatorRequest, segment: string): EmulatorReply {
  if (!resolveTenant(state, segment)) return unknownTenant(state, request, segment);
  return json(200, state.signer.jwks());
}

export function unknownTenant(state: EmulatorState, request: EmulatorRequest, segment: string): EmulatorReply {
  return entraError(
    state,
    request,
    400,
    'invalid_tenant',
    90002,
    `Tenant '${segment}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
  );
}
