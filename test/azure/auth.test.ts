import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AzureAuth, createAzureAuth } from '../../src/azure/auth.ts';
import type { AzureSource } from '../../src/azure/auth-context.ts';
import type { RedeemInput } from '../../src/azure/delegated.ts';
import { AzureError } from '../../src/azure/errors.ts';
import { createGraphReader } from '../../src/azure/graph-reader.ts';
import { DELEGATED_SCOPES } from '../../src/azure/permissions.ts';
import { createTokenCacheStore, type TokenCacheStore } from '../../src/azure/token-cache-store.ts';
import { decrypt } from '../../src/crypto.ts';
import { sources } from '../../src/db/schema.ts';
import { startTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.ts';
import { failureOf } from '../helpers/failure.ts';

/**
 * MSAL (unmodified) against the Entra emulator over HTTPS, with the token cache sealed in a real
 * PostgreSQL: both authorization modes, silent refresh, and every way the authorization can break.
 */

const REDIRECT = 'http://localhost:3000/azure/callback';
const key = Buffer.alloc(32, 7);

let db: TestDatabase;
let emu: TestEmulator;
let store: TokenCacheStore;

beforeAll(async () => {
  [db, emu] = await Promise.all([startTestDatabase(), startTestEmulator({ users: 30, groups: 4, seed: 'auth' })]);
  store = createTokenCacheStore(db.db, key);
});

afterAll(async () => {
  await Promise.all([emu?.close(), db?.stop()]);
});

beforeEach(async () => {
  await emu.control('POST', 'reset');
});

const ANOTHER_TENANT = '11111111-2222-4333-8444-555555555555';

function app(overrides: { clientSecret?: string; tenantId?: string } = {}) {
  return {
    clientId: emu.emulator.clientId,
    clientSecret: overrides.clientSecret ?? emu.emulator.clientSecret,
    authorityHost: emu.emulator.authorityHost,
    tenantId: overrides.tenantId ?? 'organizations',
  };
}

async function newSource(authMode: 'delegated' | 'application' = 'delegated'): Promise<AzureSource> {
  const [row] = await db.db.insert(sources).values({ slackTeamId: 'T1', authMode }).returning();
  return { id: row.id, authMode, tenantId: row.tenantId, homeAccountId: row.homeAccountId };
}

/** What the admin's browser does: open the URL, let Entra redirect back, read the callback query. */
async function follow(url: string): Promise<Record<string, string>> {
  const response = await fetch(url, { redirect: 'manual' });
  expect(response.status).toBe(302);
  const location = new URL(response.headers.get('location')!);
  expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
  return Object.fromEntries(location.searchParams);
}

/** Starts a sign-in and follows it back: the redemption input exactly as the callback route would build it. */
async function callback(auth: AzureAuth, sourceId: string): Promise<RedeemInput> {
  const request = await auth.createAuthorizeRequest({ redirectUri: REDIRECT });
  const query = await follow(request.url);
  return {
    sourceId,
    code: query.code,
    state: query.state,
    expectedState: request.state,
    nonce: request.nonce,
    pkceVerifier: request.pkceVerifier,
    redirectUri: REDIRECT,
  };
}

async function signIn(auth: AzureAuth, source: AzureSource) {
  const admin = await auth.redeemAuthorizationCode(await callback(auth, source.id));
  return { admin, source: { ...source, tenantId: admin.tenantId, homeAccountId: admin.homeAccountId } };
}

async function savedCache(sourceId: string): Promise<Record<'Account' | 'RefreshToken' | 'AccessToken', object>> {
  const [row] = await db.sql`select token_cache from sources where id = ${sourceId}`;
  return JSON.parse(decrypt(key, row.token_cache, sourceId));
}

async function emulatorState() {
  return (await emu.control('GET', 'state')).body as { tokensIssued: number; requests: Record<string, number> };
}

const readerFor = (auth: AzureAuth, source: AzureSource) =>
  createGraphReader({ graphBaseUrl: emu.emulator.graphBaseUrl, getToken: auth.tokenProvider(source) });

/** Lists the tenant's groups with the source's token: proof the token opens Graph. */
const groupsSeen = async (auth: AzureAuth, source: AzureSource) =>
  (await readerFor(auth, source).searchGroups('')).length;

describe('delegated mode', () => {
  it('builds an authorization URL with PKCE S256, state, nonce and the Graph scopes', async () => {
    const auth = createAzureAuth(app(), store);
    const request = await auth.createAuthorizeRequest({ redirectUri: REDIRECT, loginHint: 'adele@contoso.com' });
    const url = new URL(request.url);
    expect(url.origin).toBe(emu.emulator.authorityHost);
    expect(url.pathname).toBe('/organizations/oauth2/v2.0/authorize');
    const q = url.searchParams;
    expect(q.get('state')).toBe(request.state);
    expect(q.get('nonce')).toBe(request.nonce);
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get('prompt')).toBe('login');
    expect(q.get('login_hint')).toBe('adele@contoso.com');
    expect(q.get('scope')?.split(' ')).toEqual(expect.arrayContaining([...DELEGATED_SCOPES, 'offline_access']));
    expect(request.pkceVerifier.length).toBeGreaterThanOrEqual(43);

    const anyone = new URL((await auth.createAuthorizeRequest({ redirectUri: REDIRECT })).url).searchParams;
    expect(anyone.get('prompt')).toBe('select_account');
    expect(anyone.get('state')).not.toBe(request.state);
  });

  it('signs in, seals the cache in the database and gets Graph tokens silently', async () => {
    const auth = createAzureAuth(app(), store);
    const { admin, source } = await signIn(auth, await newSource());
    expect(admin.upn).toBe(emu.emulator.adminUpn);
    expect(admin.tenantId).toBe(emu.emulator.tenantId);
    expect(admin.homeAccountId.endsWith(`.${emu.emulator.tenantId}`)).toBe(true);

    const [row] = await db.sql`select token_cache, home_account_id from sources where id = ${source.id}`;
    expect(row.home_account_id).toBe(admin.homeAccountId);
    expect(row.token_cache).toMatch(/^v1\./);
    expect(row.token_cache).not.toContain('RefreshToken');
    expect(Object.keys((await savedCache(source.id)).RefreshToken)).toHaveLength(1);

    const before = (await emulatorState()).tokensIssued;
    const first = await auth.acquireGraphToken(source);
    expect(await auth.acquireGraphToken(source)).toBe(first);
    expect((await emulatorState()).tokensIssued).toBe(before);

    const refreshed = await auth.acquireGraphToken(source, { forceRefresh: true });
    expect(refreshed).not.toBe(first);
    expect((await emulatorState()).tokensIssued).toBe(before + 1);
    expect(await groupsSeen(auth, source)).toBe(emu.emulator.tenant.groups.size);
  });

  it('a second sign-in replaces the saved cache instead of adding to it', async () => {
    const auth = createAzureAuth(app(), store);
    const { source } = await signIn(auth, await newSource());
    const again = await signIn(auth, source);
    expect(Object.keys((await savedCache(source.id)).RefreshToken)).toHaveLength(1);
    expect(await groupsSeen(auth, again.source)).toBeGreaterThan(0);
  });

  it('works from the saved cache alone, as a second replica would', async () => {
    const { source } = await signIn(createAzureAuth(app(), store), await newSource());
    const replica = createAzureAuth(app(), createTokenCacheStore(db.db, key));
    expect(await groupsSeen(replica, { ...source, homeAccountId: null })).toBeGreaterThan(0);
  });

  it('refreshes once when Graph says the access token expired', async () => {
    const auth = createAzureAuth(app(), store);
    const { source } = await signIn(auth, await newSource());
    const token = await auth.acquireGraphToken(source);
    await emu.control('POST', 'clock', { advanceSeconds: 2 * 3600 });
    expect(await groupsSeen(auth, source)).toBeGreaterThan(0);
    expect(await auth.acquireGraphToken(source)).not.toBe(token);
  });

  it('after revocation: reauth_required, and the dead account is gone from the saved cache', async () => {
    const auth = createAzureAuth(app(), store);
    const { source } = await signIn(auth, await newSource());
    await auth.acquireGraphToken(source);
    await emu.control('POST', 'revoke', { immediate: true });

    const failure = await failureOf(readerFor(auth, source).searchGroups(''), AzureError);
    expect(failure.code).toBe('reauth_required');
    expect(failure.message).toBe(
      'The account that authorized aad-sync can no longer sign in (AADSTS50173: its password was changed or its ' +
        'sessions were revoked): an admin must reauthorize.',
    );
    const saved = await savedCache(source.id);
    expect(saved.Account).toEqual({});
    expect(saved.RefreshToken).toEqual({});

    const tokenRequests = async () =>
      Object.entries((await emulatorState()).requests)
        .filter(([path]) => path.includes('/token'))
        .reduce((sum, [, n]) => sum + n, 0);
    const before = await tokenRequests();
    const again = await failureOf(auth.acquireGraphToken(source), AzureError);
    expect(again.code).toBe('reauth_required');
    expect(again.message).toContain('holds no usable Microsoft sign-in');
    expect(await tokenRequests()).toBe(before);
  });

  it('a refresh token expired by inactivity (bad_token) is removed from the saved cache too', async () => {
    const auth = createAzureAuth(app(), store);
    const { source } = await signIn(auth, await newSource());
    await emu.control('POST', 'clock', { advanceSeconds: 91 * 24 * 3600 });
    const failure = await failureOf(auth.acquireGraphToken(source, { forceRefresh: true }), AzureError);
    expect(failure.code).toBe('reauth_required');
    expect(failure.detail).toMatchObject({ aadsts: '700082', oauthError: 'invalid_grant' });
    expect(failure.message).toContain('expired after 90 days without use');
    expect((await savedCache(source.id)).RefreshToken).toEqual({});
  });

  it('refuses a callback whose state does not match, before talking to Microsoft', async () => {
    const auth = createAzureAuth(app(), store);
    const source = await newSource();
    const input = await callback(auth, source.id);
    const failure = await failureOf(auth.redeemAuthorizationCode({ ...input, state: 'forged' }), AzureError);
    expect(failure.code).toBe('reauth_required');
    expect(failure.message).toMatch(/state mismatch/);
    const [row] = await db.sql`select token_cache from sources where id = ${source.id}`;
    expect(row.token_cache).toBeNull();
  });

  it('lets MSAL reject a wrong nonce, the emulator a wrong PKCE verifier and a reused code', async () => {
    const auth = createAzureAuth(app(), store);
    const source = await newSource();
    const redeem = async (change: Partial<RedeemInput>) =>
      failureOf(auth.redeemAuthorizationCode({ ...(await callback(auth, source.id)), ...change }), AzureError);

    const nonce = await redeem({ nonce: 'another-nonce' });
    expect(nonce.code).toBe('reauth_required');
    expect(nonce.message).toContain('nonce_mismatch');

    const pkce = await redeem({ pkceVerifier: 'x'.repeat(43) });
    expect(pkce.code).toBe('reauth_required');
    expect(pkce.detail.aadsts).toBe('50148');
    expect(pkce.message).toContain('PKCE');
    expect(pkce.message).not.toContain('no longer accepts the saved sign-in');

    const good = await callback(auth, source.id);
    await auth.redeemAuthorizationCode(good);
    const reused = await failureOf(auth.redeemAuthorizationCode(good), AzureError);
    expect(reused.code).toBe('reauth_required');
    expect(reused.message).toContain('AADSTS54005');
  });

  it('refuses a sign-in into another tenant than the bound one before saving anything', async () => {
    const auth = createAzureAuth(app(), store);
    const source = await newSource();
    const input = await callback(auth, source.id);
    const failure = await failureOf(
      auth.redeemAuthorizationCode({ ...input, boundTenant: ANOTHER_TENANT }),
      AzureError,
    );
    expect(failure.message).toContain(`another Microsoft tenant (${emu.emulator.tenantId})`);
    const [row] = await db.sql`select token_cache, home_account_id from sources where id = ${source.id}`;
    expect(row).toEqual({ token_cache: null, home_account_id: null });
  });

  it('a wrong client secret is app_misconfigured and names the variable to fix', async () => {
    const input = await callback(createAzureAuth(app(), store), (await newSource()).id);
    const bad = createAzureAuth(app({ clientSecret: 'not-the-secret' }), store);
    const failure = await failureOf(bad.redeemAuthorizationCode(input), AzureError);
    expect(failure.code).toBe('app_misconfigured');
    expect(failure.message).toContain('AADSTS7000215');
    expect(failure.message).toContain('AZURE_CLIENT_SECRET');
  });

  it('a cache sealed with another key asks for reauthorization instead of failing obscurely', async () => {
    const { source } = await signIn(createAzureAuth(app(), store), await newSource());
    const otherKey = createAzureAuth(app(), createTokenCacheStore(db.db, Buffer.alloc(32, 9)));
    const failure = await failureOf(otherKey.acquireGraphToken(source), AzureError);
    expect(failure.code).toBe('reauth_required');
    expect(failure.message).toContain('ENCRYPTION_KEY');
  });
});

describe('application mode', () => {
  /** The consent redirect, then the sign-in at the tenant it named: what the callback route does. */
  const consent = async (
    auth: AzureAuth,
    sourceId: string,
    state: string,
    expectedState = state,
    change: { tenantId?: string } = {},
  ) => {
    const query = await follow(auth.createAdminConsentUrl({ redirectUri: REDIRECT, state }));
    const { tenantId } = auth.checkAdminConsent({ query, expectedState });
    const request = await auth.createConsentSignInRequest({ tenantId, redirectUri: REDIRECT });
    const signedIn = await follow(request.url);
    return auth.confirmAdminConsent({
      sourceId,
      code: signedIn.code,
      state: signedIn.state,
      expectedState: request.state,
      nonce: request.nonce,
      pkceVerifier: request.pkceVerifier,
      redirectUri: REDIRECT,
      tenantId: change.tenantId ?? tenantId,
    });
  };

  it('admin consent, proven by a sign-in at that tenant and client credentials, then Graph tokens', async () => {
    const auth = createAzureAuth(app(), store);
    const source = await newSource('application');
    const url = new URL(auth.createAdminConsentUrl({ redirectUri: REDIRECT, state: 'st-1' }));
    expect(url.pathname).toBe('/organizations/v2.0/adminconsent');
    expect(url.searchParams.get('scope')).toBe('https://graph.microsoft.com/.default');

    const { tenantId, upn } = await consent(auth, source.id, 'st-1');
    expect(tenantId).toBe(emu.emulator.tenantId);
    expect(upn).toBe(emu.emulator.adminUpn);
    // Nothing is saved: application mode's credential is the consent itself.
    const [row] = await db.sql`select token_cache from sources where id = ${source.id}`;
    expect(row.token_cache).toBeNull();

    const consented = { ...source, tenantId };
    const token = await auth.acquireGraphToken(consented);
    expect(await auth.acquireGraphToken(consented)).toBe(token);
    expect(await auth.acquireGraphToken(consented, { forceRefresh: true })).not.toBe(token);
    expect(await groupsSeen(auth, consented)).toBe(emu.emulator.tenant.groups.size);
  });

  it('signs in at the tenant the consent redirect named, and refuses an id_token of another tenant', async () => {
    const auth = createAzureAuth(app(), store);
    const request = await auth.createConsentSignInRequest({ tenantId: emu.emulator.tenantId, redirectUri: REDIRECT });
    const url = new URL(request.url);
    expect(url.pathname).toBe(`/${emu.emulator.tenantId}/oauth2/v2.0/authorize`);
    expect(url.searchParams.get('scope')?.split(' ')).toContain('openid');
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');

    // The emulator's only tenant, named by its domain: the sign-in works, its id_token's tid is not "that".
    const named = emu.emulator.tenant.domain;
    const source = await newSource('application');
    const failure = await failureOf(consent(auth, source.id, 's', 's', { tenantId: named }), AzureError);
    expect(failure.message).toContain(
      `belongs to Microsoft tenant ${emu.emulator.tenantId}, not to tenant ${named} that the consent was for`,
    );
    expect((await emulatorState()).tokensIssued).toBe(1);
  });

  it('refuses a consent redirect for a tenant other than AZURE_TENANT_ID when that is a tenant id', async () => {
    const auth = createAzureAuth(app({ tenantId: ANOTHER_TENANT }), store);
    const query = { admin_consent: 'True', tenant: emu.emulator.tenantId, state: 'st' };
    const failure = await failureOf((async () => auth.checkAdminConsent({ query, expectedState: 'st' }))(), AzureError);
    expect(failure.message).toContain(`set up for tenant ${ANOTHER_TENANT} only (AZURE_TENANT_ID)`);
    expect(() => auth.checkAdminConsent({ query, expectedState: 'st', boundTenant: ANOTHER_TENANT })).toThrow();
  });

  it('keeps working after an ENCRYPTION_KEY change: it needs no saved cache', async () => {
    await emu.control('POST', 'consent', {});
    const source = { ...(await newSource('application')), tenantId: emu.emulator.tenantId };
    // A cache left from before, sealed with the old key.
    await createTokenCacheStore(db.db, Buffer.alloc(32, 3)).writeCache(source.id, '{}');
    const auth = createAzureAuth(app(), store);
    expect(await groupsSeen(auth, source)).toBe(emu.emulator.tenant.groups.size);
  });

  it('waits out the seconds a fresh consent takes to reach the token endpoint (AADSTS700016 meanwhile)', async () => {
    await emu.control('POST', 'faults', { consentDelaySeconds: 2 });
    const auth = createAzureAuth(app(), store);
    const source = await newSource('application');
    const { tenantId } = await consent(auth, source.id, 'st-delay');
    expect(tenantId).toBe(emu.emulator.tenantId);
    // Refused while replicating, then granted: more than one token request.
    expect((await emulatorState()).requests['/{tenant}/oauth2/v2.0/token']).toBeGreaterThan(1);
  });

  it('refuses a consent redirect with the wrong state, without asking Microsoft', async () => {
    const auth = createAzureAuth(app(), store);
    const source = await newSource('application');
    const failure = await failureOf(consent(auth, source.id, 'st-2', 'st-other'), AzureError);
    expect(failure.code).toBe('reauth_required');
    expect(failure.message).toMatch(/state mismatch/);
    expect((await emulatorState()).requests['/{tenant}/oauth2/v2.0/token'] ?? 0).toBe(0);
  });

  it('explains a declined consent and a non-admin', async () => {
    const auth = createAzureAuth(app(), store);
    const source = await newSource('application');
    await emu.control('POST', 'signin', { outcome: 'deny' });
    const declined = await failureOf(consent(auth, source.id, 's'), AzureError);
    expect(declined.message).toMatch(/declined.*Accept.*AADSTS65004/);

    await emu.control('POST', 'signin', { outcome: 'non_admin' });
    const notAdmin = await failureOf(consent(auth, source.id, 's'), AzureError);
    expect(notAdmin.message).toBe(
      'The account that signed in is not allowed to grant these permissions: sign in with a Global Administrator (AADSTS90094).',
    );
  });

  it('withdrawn consent is reauth_required; a wrong secret is app_misconfigured', async () => {
    const auth = createAzureAuth(app(), store);
    const source = { ...(await newSource('application')), tenantId: emu.emulator.tenantId };
    await emu.control('POST', 'consent', {});
    await auth.acquireGraphToken(source);

    await emu.control('POST', 'consent', { granted: false });
    const withdrawn = await failureOf(auth.acquireGraphToken(source, { forceRefresh: true }), AzureError);
    expect(withdrawn.code).toBe('reauth_required');
    expect(withdrawn.message).toContain('AADSTS700016');

    await emu.control('POST', 'consent', {});
    const wrong = createAzureAuth(app({ clientSecret: 'wrong' }), store);
    const misconfigured = await failureOf(wrong.acquireGraphToken(source, { forceRefresh: true }), AzureError);
    expect(misconfigured.code).toBe('app_misconfigured');
    expect(misconfigured.message).toContain('AZURE_CLIENT_SECRET');
  });

  it('a source without a tenant has not been consented yet', async () => {
    const failure = await failureOf(
      createAzureAuth(app(), store).acquireGraphToken(await newSource('application')),
      AzureError,
    );
    expect(failure.code).toBe('reauth_required');
  });
});
