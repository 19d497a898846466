import {
  type AuthenticationResult,
  type ConfidentialClientApplication,
  CryptoProvider,
  InteractionRequiredAuthError,
  ServerError,
} from '@azure/msal-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { graphError, startTestEmulator, type TestEmulator } from '../../helpers/emulator.ts';

/**
 * Entra conformance: the unmodified @azure/msal-node against the emulator, through every flow the app
 * uses and the failures it must classify (reference/graph-msal.md §1).
 */

const SCOPES = [
  'https://graph.microsoft.com/User.Read.All',
  'https://graph.microsoft.com/GroupMember.Read.All',
  'https://graph.microsoft.com/ProfilePhoto.Read.All',
];
const REDIRECT_URI = 'http://localhost:3000/azure/callback';

let t: TestEmulator;

beforeAll(async () => {
  t = await startTestEmulator({ users: 60, groups: 12, seed: 'msal-tests' });
});
afterAll(async () => {
  await t?.close();
});
beforeEach(async () => {
  await t.control('POST', 'reset');
});

interface Started {
  url: string;
  verifier: string;
  state: string;
  nonce: string;
}

async function startSignIn(
  cca: ConfidentialClientApplication,
  extra: { loginHint?: string; scopes?: string[] } = {},
): Promise<Started> {
  const crypto = new CryptoProvider();
  const { verifier, challenge } = await crypto.generatePkceCodes();
  const state = crypto.createNewGuid();
  const nonce = crypto.createNewGuid();
  const url = await cca.getAuthCodeUrl({
    scopes: extra.scopes ?? SCOPES,
    redirectUri: REDIRECT_URI,
    codeChallenge: challenge,
    codeChallengeMethod: 'S256',
    state,
    nonce,
    // MSAL leaves login_hint out when prompt=select_account, as a browser would show the account picker.
    ...(extra.loginHint ? { loginHint: extra.loginHint } : { prompt: 'select_account' }),
  });
  return { url, verifier, state, nonce };
}

/** What the browser would do: follow the authorize URL and land on the app's callback. */
async function browse(url: string): Promise<{ status: number; location: URL | null; body: string }> {
  const response = await fetch(url, { redirect: 'manual' });
  const location = response.headers.get('location');
  return { status: response.status, location: location ? new URL(location) : null, body: await response.text() };
}

async function signIn(
  cca: ConfidentialClientApplication,
  extra: { loginHint?: string; scopes?: string[] } = {},
): Promise<AuthenticationResult> {
  const started = await startSignIn(cca, extra);
  const landed = await browse(started.url);
  expect(landed.status).toBe(302);
  const code = landed.location!.searchParams.get('code');
  expect(code, landed.location!.toString()).toBeTruthy();
  return cca.acquireTokenByCode(
    {
      code: code!,
      scopes: extra.scopes ?? SCOPES,
      redirectUri: REDIRECT_URI,
      codeVerifier: started.verifier,
      state: started.state,
      nonce: started.nonce,
    },
    { code: code!, state: landed.location!.searchParams.get('state') ?? undefined },
  );
}

/** A client-credentials token request without MSAL, to see the status and headers as sent. */
function clientCredentials(tenant: string, scope: string): Promise<Response> {
  return fetch(`${t.emulator.authorityHost}/${tenant}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      client_id: t.emulator.clientId,
      client_secret: t.emulator.clientSecret,
      grant_type: 'client_credentials',
      scope,
    }),
  });
}

async function expectError(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error('expected a rejection');
}

describe('discovery', () => {
  it('publishes an issuer on the public https URL and refuses unknown tenants with AADSTS90002', async () => {
    const good = await fetch(`${t.authority}/v2.0/.well-known/openid-configuration`);
    const doc = (await good.json()) as Record<string, string>;
    expect(doc.issuer).toBe(`${t.emulator.authorityHost}/${t.emulator.tenantId}/v2.0`);
    expect(doc.token_endpoint).toBe(`${t.authority}/oauth2/v2.0/token`);
    const common = (await (
      await fetch(`${t.emulator.authorityHost}/organizations/v2.0/.well-known/openid-configuration`)
    ).json()) as Record<string, string>;
    expect(common.issuer).toBe(`${t.emulator.authorityHost}/{tenantid}/v2.0`);
    const bad = await fetch(`${t.emulator.authorityHost}/not-a-tenant/v2.0/.well-known/openid-configuration`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error_codes: number[] }).error_codes).toEqual([90002]);
  });
});

describe('authorization code with PKCE, state and nonce', () => {
  it('signs the admin in, returns an account with the nonce, and refreshes silently', async () => {
    const cca = t.msal({ authority: `${t.emulator.authorityHost}/organizations` });
    const result = await signIn(cca);
    expect(result.account?.username).toBe(t.emulator.adminUpn);
    expect(result.account?.tenantId).toBe(t.emulator.tenantId);
    expect(result.account?.homeAccountId).toMatch(new RegExp(`\\.${t.emulator.tenantId}$`));
    expect(result.idTokenClaims).toMatchObject({ tid: t.emulator.tenantId, preferred_username: t.emulator.adminUpn });
    expect(result.scopes.map((s) => s.toLowerCase())).toEqual(
      expect.arrayContaining(SCOPES.map((s) => s.toLowerCase())),
    );

    const cached = await cca.acquireTokenSilent({ account: result.account!, scopes: SCOPES });
    expect(cached.fromCache).toBe(true);
    const refreshed = await cca.acquireTokenSilent({ account: result.account!, scopes: SCOPES, forceRefresh: true });
    expect(refreshed.fromCache).toBe(false);
    expect(refreshed.accessToken).not.toBe(result.accessToken);
    expect(t.emulator.requests()['/{tenant}/oauth2/v2.0/token']).toBe(2);
  });

  it('puts the nonce of the request into the id_token (MSAL rejects a mismatch)', async () => {
    const cca = t.msal();
    const started = await startSignIn(cca);
    const landed = await browse(started.url);
    const code = landed.location!.searchParams.get('code')!;
    const error = await expectError(
      cca.acquireTokenByCode({
        code,
        scopes: SCOPES,
        redirectUri: REDIRECT_URI,
        codeVerifier: started.verifier,
        nonce: 'another-nonce',
      }),
    );
    expect(error.errorCode).toBe('nonce_mismatch');
  });

  it('returns the state it was given, so MSAL can detect a forged callback', async () => {
    const cca = t.msal();
    const started = await startSignIn(cca);
    const landed = await browse(started.url);
    expect(landed.location!.searchParams.get('state')).toBe(started.state);
    const code = landed.location!.searchParams.get('code')!;
    const error = await expectError(
      cca.acquireTokenByCode(
        {
          code,
          scopes: SCOPES,
          redirectUri: REDIRECT_URI,
          codeVerifier: started.verifier,
          state: started.state,
          nonce: started.nonce,
        },
        { code, state: 'forged' },
      ),
    );
    expect(error.errorCode).toBe('state_mismatch');
  });

  it('verifies PKCE and refuses a code twice', async () => {
    const cca = t.msal();
    const started = await startSignIn(cca);
    const code = (await browse(started.url)).location!.searchParams.get('code')!;
    const wrong = await expectError(
      cca.acquireTokenByCode({
        code,
        scopes: SCOPES,
        redirectUri: REDIRECT_URI,
        codeVerifier: 'x'.repeat(43),
        nonce: started.nonce,
      }),
    );
    expect(wrong).toBeInstanceOf(ServerError);
    expect(wrong).toMatchObject({ errorCode: 'invalid_grant', errorNo: 50148 });
    const reused = await expectError(
      t.msal().acquireTokenByCode({
        code,
        scopes: SCOPES,
        redirectUri: REDIRECT_URI,
        codeVerifier: started.verifier,
        nonce: started.nonce,
      }),
    );
    expect(reused).toMatchObject({ errorCode: 'invalid_grant', errorNo: 54005 });
  });

  it('honours login_hint: a non-admin cannot consent and gets Entra error redirect with the state', async () => {
    const member = [...t.emulator.tenant.users.values()].find(
      (u) => !t.emulator.tenant.adminIds.has(u.id) && u.accountEnabled && u.userType === 'Member',
    )!;
    const cca = t.msal();
    const started = await startSignIn(cca, { loginHint: member.userPrincipalName });
    const landed = await browse(started.url);
    expect(landed.location!.origin + landed.location!.pathname).toBe(REDIRECT_URI);
    expect(landed.location!.searchParams.get('error')).toBe('access_denied');
    expect(landed.location!.searchParams.get('error_description')).toMatch(/^AADSTS90094:/);
    expect(landed.location!.searchParams.get('state')).toBe(started.state);
    expect(landed.location!.searchParams.get('code')).toBeNull();

    // Once an admin has consented for the organisation, the same person signs in fine.
    await signIn(t.msal());
    const result = await signIn(t.msal(), { loginHint: member.userPrincipalName });
    expect(result.account?.username).toBe(member.userPrincipalName);
  });

  it('follows /_emulator/signin: deny and non_admin produce Entra error redirects', async () => {
    await t.control('POST', 'signin', { outcome: 'deny' });
    const denied = await browse((await startSignIn(t.msal())).url);
    expect(denied.location!.searchParams.get('error')).toBe('access_denied');
    expect(denied.location!.searchParams.get('error_subcode')).toBe('cancel');
    expect(denied.location!.searchParams.get('error_description')).toMatch(/^AADSTS65004:/);

    await t.control('POST', 'signin', { outcome: 'non_admin' });
    const refused = await browse((await startSignIn(t.msal())).url);
    expect(refused.location!.searchParams.get('error_description')).toMatch(/^AADSTS90094:/);

    const unknown = await t.control('POST', 'signin', { outcome: 'consent', upn: 'nobody@contoso.com' });
    expect(unknown.status).toBe(400);
  });

  it('refuses an unregistered redirect URI on its own page (AADSTS50011), never redirecting there', async () => {
    const cca = t.msal();
    const url = await cca.getAuthCodeUrl({ scopes: SCOPES, redirectUri: 'https://evil.example/azure/callback' });
    const landed = await browse(url);
    expect(landed.status).toBe(400);
    expect(landed.location).toBeNull();
    expect(landed.body).toContain('AADSTS50011');
    const registered = await browse(
      await cca.getAuthCodeUrl({ scopes: SCOPES, redirectUri: 'http://127.0.0.1:41234/azure/callback' }),
    );
    expect(registered.status).toBe(302);
  });

  it('refuses a scope Graph does not have (AADSTS70011)', async () => {
    const landed = await browse(
      (await startSignIn(t.msal(), { scopes: ['https://graph.microsoft.com/User.Raed.All'] })).url,
    );
    expect(landed.location!.searchParams.get('error')).toBe('invalid_scope');
    expect(landed.location!.searchParams.get('error_description')).toMatch(/^AADSTS70011:/);
  });
});

describe('refresh token failures', () => {
  it('revoked refresh token: invalid_grant AADSTS50173 (a ServerError, not InteractionRequired)', async () => {
    const cca = t.msal();
    const result = await signIn(cca);
    await t.control('POST', 'revoke');
    const error = await expectError(
      cca.acquireTokenSilent({ account: result.account!, scopes: SCOPES, forceRefresh: true }),
    );
    expect(error).toBeInstanceOf(ServerError);
    expect(error).not.toBeInstanceOf(InteractionRequiredAuthError);
    expect(error).toMatchObject({ errorCode: 'invalid_grant', errorNo: 50173 });
  });

  it('refresh token unused for 90 days: InteractionRequiredAuthError bad_token AADSTS700082', async () => {
    const cca = t.msal();
    const result = await signIn(cca);
    await t.control('POST', 'clock', { advanceSeconds: 91 * 24 * 3600 });
    const error = await expectError(
      cca.acquireTokenSilent({ account: result.account!, scopes: SCOPES, forceRefresh: true }),
    );
    expect(error).toBeInstanceOf(InteractionRequiredAuthError);
    expect(error).toMatchObject({ errorCode: 'invalid_grant', subError: 'bad_token', errorNo: 700082 });
  });

  it('the authorizing admin deleted: invalid_grant AADSTS50034', async () => {
    const cca = t.msal();
    const result = await signIn(cca);
    expect((await t.control('DELETE', `users/${result.account!.localAccountId}`)).status).toBe(204);
    const error = await expectError(
      cca.acquireTokenSilent({ account: result.account!, scopes: SCOPES, forceRefresh: true }),
    );
    expect(error).toMatchObject({ errorCode: 'invalid_grant', errorNo: 50034 });
  });

  it('the authorizing admin disabled: invalid_grant AADSTS50057', async () => {
    const cca = t.msal();
    const result = await signIn(cca);
    await t.control('POST', 'users', [{ id: result.account!.localAccountId, accountEnabled: false }]);
    const error = await expectError(
      cca.acquireTokenSilent({ account: result.account!, scopes: SCOPES, forceRefresh: true }),
    );
    expect(error).toMatchObject({ errorCode: 'invalid_grant', errorNo: 50057 });
  });
});

describe('client credentials (application mode)', () => {
  const appScopes = ['https://graph.microsoft.com/.default'];

  it('fails before admin consent, works after the v2 admin-consent redirect, fails again after revoke', async () => {
    const before = await expectError(t.msal().acquireTokenByClientCredential({ scopes: appScopes }));
    expect(before).toBeInstanceOf(ServerError);
    expect(before).toMatchObject({ errorCode: 'unauthorized_client', errorNo: 700016 });

    const state = 'consent-state';
    const consent = await browse(
      `${t.emulator.authorityHost}/organizations/v2.0/adminconsent?client_id=${t.emulator.clientId}` +
        `&scope=${encodeURIComponent('https://graph.microsoft.com/.default')}&redirect_uri=${encodeURIComponent(REDIRECT_URI)}&state=${state}`,
    );
    expect(consent.location!.searchParams.get('admin_consent')).toBe('True');
    expect(consent.location!.searchParams.get('tenant')).toBe(t.emulator.tenantId);
    expect(consent.location!.searchParams.get('state')).toBe(state);

    const cca = t.msal();
    const token = await cca.acquireTokenByClientCredential({ scopes: appScopes });
    expect(token?.accessToken).toBeTruthy();
    const claims = JSON.parse(Buffer.from(token!.accessToken.split('.')[1], 'base64url').toString());
    expect(claims.roles).toEqual(
      expect.arrayContaining(['User.Read.All', 'GroupMember.Read.All', 'ProfilePhoto.Read.All']),
    );
    expect(claims.scp).toBeUndefined();
    expect((await cca.acquireTokenByClientCredential({ scopes: appScopes }))?.fromCache).toBe(true);

    await t.control('POST', 'revoke');
    const after = await expectError(t.msal().acquireTokenByClientCredential({ scopes: appScopes }));
    expect(after).toMatchObject({ errorCode: 'unauthorized_client', errorNo: 700016 });
  });

  it('v1 admin consent: success, and a non-admin is refused with the state echoed', async () => {
    const url = `${t.emulator.authorityHost}/${t.emulator.tenantId}/adminconsent?client_id=${t.emulator.clientId}&redirect_uri=${encodeURIComponent(REDIRECT_URI)}&state=s1`;
    await t.control('POST', 'signin', { outcome: 'non_admin' });
    const refused = await browse(url);
    expect(refused.location!.searchParams.get('error')).toBe('access_denied');
    expect(refused.location!.searchParams.get('state')).toBe('s1');
    await t.control('POST', 'signin', {});
    const granted = await browse(url);
    expect(granted.location!.searchParams.get('admin_consent')).toBe('True');
    expect(await t.msal().acquireTokenByClientCredential({ scopes: appScopes })).toBeTruthy();
  });

  it('a wrong secret is invalid_client AADSTS7000215 with status 401', async () => {
    await t.control('POST', 'consent', {});
    const error = await expectError(
      t.msal({ clientSecret: 'wrong' }).acquireTokenByClientCredential({ scopes: appScopes }),
    );
    expect(error).toBeInstanceOf(ServerError);
    expect(error).toMatchObject({ errorCode: 'invalid_client', errorNo: 7000215, status: 401 });
  });

  it('an unknown client id is unauthorized_client AADSTS700016', async () => {
    const error = await expectError(
      t
        .msal({ clientId: '11111111-2222-4333-8444-555555555555' })
        .acquireTokenByClientCredential({ scopes: appScopes }),
    );
    expect(error).toMatchObject({ errorCode: 'unauthorized_client', errorNo: 700016 });
  });

  it('refuses common/organizations for client credentials (AADSTS50059) and non-.default scopes', async () => {
    await t.control('POST', 'consent', {});
    const post = (tenant: string, scope: string) =>
      clientCredentials(tenant, scope).then(async (r) => ({
        status: r.status,
        body: (await r.json()) as { error: string; error_codes: number[] },
      }));
    expect(await post('organizations', 'https://graph.microsoft.com/.default')).toMatchObject({
      status: 400,
      body: { error: 'invalid_request', error_codes: [50059] },
    });
    expect(await post(t.emulator.tenantId, 'https://graph.microsoft.com/User.Read.All')).toMatchObject({
      status: 400,
      body: { error: 'invalid_scope', error_codes: [1002012] },
    });
    expect((await post(t.emulator.tenantId, 'https://graph.microsoft.com/.default')).status).toBe(200);
  });

  it("throttles the token endpoint in Entra's two shapes: 429 Retry-After 60 for apps, invalid_grant 50196 for users", async () => {
    await t.control('POST', 'consent', {});
    const cca = t.msal();
    const user = await signIn(cca);
    await t.control('POST', 'faults', { tokenThrottleEvery: 1 });
    const app = await expectError(t.msal().acquireTokenByClientCredential({ scopes: appScopes, skipCache: true }));
    expect(app).toBeInstanceOf(ServerError);
    expect(app).toMatchObject({ errorCode: 'temporarily_unavailable', status: 429 });
    const raw = await clientCredentials(t.emulator.tenantId, appScopes[0]);
    expect(raw.status).toBe(429);
    expect(raw.headers.get('retry-after')).toBe('60');

    const refresh = await expectError(
      cca.acquireTokenSilent({ account: user.account!, scopes: SCOPES, forceRefresh: true }),
    );
    expect(refresh).toBeInstanceOf(ServerError);
    expect(refresh).toMatchObject({ errorCode: 'invalid_grant', errorNo: 50196 });
  });
});

describe('delegated tokens at Graph', () => {
  it('carry the consented scopes: what they name is served, the rest is 403, /me is the signed-in admin', async () => {
    const scopes = ['https://graph.microsoft.com/User.Read.All'];
    const result = await signIn(t.msal(), { scopes });
    const claims = JSON.parse(Buffer.from(result.accessToken.split('.')[1], 'base64url').toString());
    expect(claims.scp).toBe('User.Read.All');
    expect(claims.roles).toBeUndefined();
    const graph = t.graph(async () => result.accessToken);
    expect((await graph.api('/me').select(['userPrincipalName']).get()).userPrincipalName).toBe(t.emulator.adminUpn);
    expect((await graph.api('/users').top(2).get()).value).toHaveLength(2);
    const denied = await graphError(graph.api('/groups').get());
    expect(denied.statusCode).toBe(403);
    expect(denied.code).toBe('Authorization_RequestDenied');
  });

  it('/me is refused for application tokens', async () => {
    const graph = await t.appGraph();
    const error = await graphError(graph.api('/me').get());
    expect(error.statusCode).toBe(400);
  });
});
