import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HTTPReceiver } from '@slack/bolt';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { appRegistration, createAzureAuth, createTokenCacheStore } from '../../src/azure/index.ts';
import type { Config } from '../../src/config.ts';
import { decrypt } from '../../src/crypto.ts';
import { oauthRequests, sources } from '../../src/db/schema.ts';
import { azureRoutes, BROWSER_COOKIE } from '../../src/http/azure-routes.ts';
import type { Route } from '../../src/http/health.ts';
import { createLogger } from '../../src/logger.ts';
import {
  type AuthorizationLink,
  type BeginAuthorizationInput,
  type CompletedAuthorization,
  createAuthorizationService,
  LINK_LIFETIME_MS,
} from '../../src/services/authorization.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { startTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.ts';
import { recordingLogger } from '../helpers/logs.ts';

/**
 * The sign-in from Slack's link to the callback page, as an admin's browser lives it: real PostgreSQL,
 * unmodified MSAL over HTTPS to the Entra emulator, the routes served through Bolt's own HTTPReceiver.
 */

const key = Buffer.alloc(32, 9);
const ANOTHER_TENANT = '11111111-2222-4333-8444-555555555555';

let db: TestDatabase;
let emu: TestEmulator;
let server: Server;
let publicUrl: string;
let listener: RequestListener = (_req, res) => res.writeHead(503).end();
let offsetMs = 0;
let slackAnswer: () => Promise<boolean> = async () => true;
const notified: CompletedAuthorization[] = [];
const log = recordingLogger();

function azureConfig(authorityHost = emu.emulator.authorityHost): Config['azure'] {
  return {
    clientId: emu.emulator.clientId,
    clientSecret: emu.emulator.clientSecret,
    tenantId: 'organizations',
    authMode: 'delegated',
    authorityHost,
    graphBaseUrl: emu.emulator.graphBaseUrl,
  };
}

function service(authorityHost?: string) {
  const auth = createAzureAuth(appRegistration(azureConfig(authorityHost)), createTokenCacheStore(db.db, key));
  return createAuthorizationService({
    db: db.db,
    auth,
    encryptionKey: key,
    publicUrl,
    now: () => new Date(Date.now() + offsetMs),
  });
}

function routesFor(authorization: ReturnType<typeof service>): Route[] {
  return azureRoutes({
    authorization,
    publicUrl,
    authorityHost: emu.emulator.authorityHost,
    logger: log.logger,
    onAuthorized: async (result) => {
      notified.push(result);
      return slackAnswer();
    },
  });
}

/** Bolt's HTTPReceiver dispatches the routes exactly as `serve` will (path params on `req.params`). */
function boltListener(routes: Route[]): RequestListener {
  return new HTTPReceiver({ signingSecret: 'test-signing-secret', customRoutes: routes }).requestListener;
}

let authorization: ReturnType<typeof service>;

/** Serves `serve` instead of the usual routes while `body` runs. */
async function servedBy(serve: RequestListener, body: () => Promise<void>): Promise<void> {
  listener = serve;
  try {
    await body();
  } finally {
    listener = boltListener(routesFor(authorization));
  }
}

beforeAll(async () => {
  [db, emu] = await Promise.all([startTestDatabase(), startTestEmulator({ users: 12, groups: 2, seed: 'authflow' })]);
  server = createServer((req, res) => listener(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  publicUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  authorization = service();
  listener = boltListener(routesFor(authorization));
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await Promise.all([emu?.close(), db?.stop()]);
});

beforeEach(async () => {
  await emu.control('POST', 'reset');
  offsetMs = 0;
  slackAnswer = async () => true;
  notified.length = 0;
});

let teams = 0;
const freshTeam = () => `T${++teams}${Date.now().toString(36).toUpperCase()}`;

function begin(overrides: Partial<BeginAuthorizationInput> = {}): Promise<AuthorizationLink> {
  return authorization.beginAuthorization({
    teamId: overrides.teamId ?? freshTeam(),
    slackUserId: 'U0ADMIN',
    viewId: 'V0WIZARD',
    purpose: 'setup',
    authMode: 'delegated',
    ...overrides,
  });
}

const sourceRow = async (id: string) => (await db.db.select().from(sources).where(eq(sources.id, id)))[0];
const requestRow = async (id: string) => (await db.db.select().from(oauthRequests).where(eq(oauthRequests.id, id)))[0];

/** Opens the link and lets Microsoft (the emulator) answer: the callback URL the browser is sent to. */
async function signInAtMicrosoft(browser: TestBrowser, link: AuthorizationLink): Promise<string> {
  const opened = await browser.open(link.url);
  expect(opened.status, opened.text).toBe(303);
  const microsoft = await browser.get(opened.location!);
  expect(microsoft.status, microsoft.text).toBe(302);
  expect(microsoft.location!.startsWith(`${publicUrl}/azure/callback?`)).toBe(true);
  return microsoft.location!;
}

function expectPageHeaders(hop: { headers: Headers }) {
  expect(hop.headers.get('content-type')).toBe('text/html; charset=utf-8');
  expect(hop.headers.get('cache-control')).toBe('no-store');
  expect(hop.headers.get('referrer-policy')).toBe('no-referrer');
  expect(hop.headers.get('content-security-policy')).toContain("default-src 'none'");
}

describe('delegated sign-in', () => {
  it('goes from the Slack link through Microsoft to a success page, and saves the sign-in sealed', async () => {
    const link = await begin({ slackUserId: 'U0ADELE', viewId: 'V0SETUP1' });
    expect(link.url).toBe(`${publicUrl}/azure/authorize/${link.requestId}`);
    expect(link.requestId).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(link.expiresAt.getTime() - Date.now()).toBeGreaterThan(LINK_LIFETIME_MS - 5_000);
    expect(link.authMode).toBe('delegated');
    const created = await sourceRow(link.sourceId);
    expect(created).toMatchObject({ status: 'setup', authMode: 'delegated', tenantId: null, tokenCache: null });

    const browser = new TestBrowser();
    const opened = await browser.open(link.url);
    expect(opened.status).toBe(303);
    expect(opened.headers.get('cache-control')).toBe('no-store');
    expect(opened.headers.get('referrer-policy')).toBe('no-referrer');
    const microsoftUrl = new URL(opened.location!);
    expect(microsoftUrl.origin).toBe(emu.emulator.authorityHost);
    expect(microsoftUrl.pathname).toBe('/organizations/oauth2/v2.0/authorize');
    expect(microsoftUrl.searchParams.get('redirect_uri')).toBe(`${publicUrl}/azure/callback`);
    expect(microsoftUrl.searchParams.get('code_challenge_method')).toBe('S256');
    const setCookie = opened.headers.get('set-cookie')!;
    expect(setCookie).toMatch(new RegExp(`^${BROWSER_COOKIE}=[A-Za-z0-9_-]{43};`));
    expect(setCookie).toContain('Path=/azure');
    expect(setCookie).toContain('Max-Age=600');
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Lax');
    expect(setCookie).not.toContain('Secure');

    // What the row keeps between the two hops: MSAL's state in clear (it is looked up), the rest sealed.
    const pendingRow = await requestRow(link.requestId);
    expect(pendingRow.state).toBe(microsoftUrl.searchParams.get('state'));
    expect(pendingRow.nonce).toMatch(/^v1\./);
    expect(decrypt(key, pendingRow.nonce!, link.requestId)).toBe(microsoftUrl.searchParams.get('nonce'));
    expect(decrypt(key, pendingRow.pkceVerifier!, link.requestId)).toMatch(/^[A-Za-z0-9_-]{43,128}$/);
    expect(() => decrypt(key, pendingRow.pkceVerifier!, 'another-request')).toThrow();

    const microsoft = await browser.get(opened.location!);
    const page = await browser.get(microsoft.location!);
    expect(page.status, page.text).toBe(200);
    expectPageHeaders(page);
    expect(page.text).toContain(`Signed in as ${emu.emulator.adminUpn}`);
    expect(page.text).toContain('Return to Slack — the setup window has moved on to step 2 (Groups).');
    expect(page.headers.get('set-cookie')).toContain(`${BROWSER_COOKIE}=;`);
    expect(browser.cookie(BROWSER_COOKIE)).toBeUndefined();

    const source = await sourceRow(link.sourceId);
    expect(source).toMatchObject({
      status: 'setup',
      tenantId: emu.emulator.tenantId,
      authorizedByUpn: emu.emulator.adminUpn,
      authorizedBySlackUser: 'U0ADELE',
    });
    expect(source.authorizedAt).toBeInstanceOf(Date);
    expect(source.tokenCache).toMatch(/^v1\./);
    expect(Object.keys(JSON.parse(decrypt(key, source.tokenCache!, link.sourceId)).RefreshToken)).toHaveLength(1);
    expect((await requestRow(link.requestId)).consumedAt).toBeInstanceOf(Date);

    expect(notified).toEqual([
      {
        ok: true,
        upn: emu.emulator.adminUpn,
        tenantId: emu.emulator.tenantId,
        request: {
          requestId: link.requestId,
          sourceId: link.sourceId,
          teamId: source.slackTeamId,
          slackUserId: 'U0ADELE',
          viewId: 'V0SETUP1',
          purpose: 'setup',
          authMode: 'delegated',
        },
      },
    ]);

    // Reloading the page afterwards neither redeems again nor touches Slack.
    const reloaded = await browser.get(microsoft.location!);
    expect(reloaded.status).toBe(409);
    expect(reloaded.text).toContain('already completed');
    expect(notified).toHaveLength(1);
    expect((await sourceRow(link.sourceId)).tokenCache).toBe(source.tokenCache);
  });

  it('keeps the secrets of the exchange out of the logs', async () => {
    log.clear();
    const link = await begin();
    const browser = new TestBrowser();
    const callback = new URL(await signInAtMicrosoft(browser, link));
    expect((await browser.get(callback.toString())).status).toBe(200);
    const row = await requestRow(link.requestId);
    expect(log.text()).toContain('authorization completed');
    for (const secret of [
      link.requestId,
      callback.searchParams.get('code')!,
      callback.searchParams.get('state')!,
      browser.cookie(BROWSER_COOKIE) ?? 'cookie already cleared',
      decrypt(key, row.pkceVerifier!, row.id),
      decrypt(key, row.nonce!, row.id),
    ]) {
      expect(log.text()).not.toContain(secret);
    }
  });

  it('reauthorizes with the previous admin as login hint and reactivates the source', async () => {
    const teamId = freshTeam();
    const first = await begin({ teamId });
    const browser = new TestBrowser();
    expect((await browser.get(await signInAtMicrosoft(browser, first))).status).toBe(200);
    await db.db.update(sources).set({ status: 'needs_reauth' }).where(eq(sources.id, first.sourceId));
    notified.length = 0;

    const link = await begin({
      teamId,
      slackUserId: 'U0OTHER',
      viewId: 'V0REAUTH',
      purpose: 'reauthorize',
    });
    expect(link.sourceId).toBe(first.sourceId);
    const again = new TestBrowser();
    const opened = await again.open(link.url);
    const hint = new URL(opened.location!).searchParams;
    expect(hint.get('login_hint')).toBe(emu.emulator.adminUpn);
    expect(hint.get('prompt')).toBe('login');
    const page = await again.get((await again.get(opened.location!)).location!);
    expect(page.status).toBe(200);
    expect(page.text).toContain('Connection restored');
    expect(await sourceRow(link.sourceId)).toMatchObject({ status: 'active', authorizedBySlackUser: 'U0OTHER' });
    expect(notified).toHaveLength(1);
    expect(notified[0]).toMatchObject({ ok: true, request: { purpose: 'reauthorize', viewId: 'V0REAUTH' } });
  });

  it('refuses a sign-in into another tenant than the one a synced source reads, and keeps its saved sign-in', async () => {
    const link = await begin({ purpose: 'reauthorize' });
    await db.db
      .update(sources)
      .set({
        status: 'needs_reauth',
        tenantId: ANOTHER_TENANT,
        tokenCache: 'v1.previous.cache.blob',
        homeAccountId: 'old',
      })
      .where(eq(sources.id, link.sourceId));
    const before = await sourceRow(link.sourceId);
    const browser = new TestBrowser();
    const page = await browser.get(await signInAtMicrosoft(browser, link));
    expect(page.status).toBe(502);
    expect(page.text).toContain(`another Microsoft tenant (${emu.emulator.tenantId})`);
    expect(page.text).toContain('Click Reauthorize in Slack again for a new link.');
    expect(await sourceRow(link.sourceId)).toEqual(before);
    expect(notified).toMatchObject([{ ok: false, reason: 'failed' }]);
  });
});

describe('application mode (admin consent)', () => {
  /** Consent, then the sign-in at the consenting tenant: the hops of an admin's browser. */
  async function consentAndSignIn(browser: TestBrowser, link: AuthorizationLink) {
    const opened = await browser.open(link.url);
    const consented = await browser.get(opened.location!);
    const next = await browser.get(consented.location!);
    expect(next.status, next.text).toBe(303);
    const signIn = new URL(next.location!);
    const signedIn = await browser.get(next.location!);
    return { opened, consented, signIn, page: await browser.get(signedIn.location!) };
  }

  it('sends the admin to the consent page, then to a sign-in at that tenant, and proves the consent', async () => {
    const link = await begin({ authMode: 'application', viewId: 'V0APP' });
    expect((await sourceRow(link.sourceId)).authMode).toBe('application');
    const browser = new TestBrowser();
    const { opened, signIn, page } = await consentAndSignIn(browser, link);
    const consentUrl = new URL(opened.location!);
    expect(consentUrl.pathname).toBe('/organizations/v2.0/adminconsent');
    expect(signIn.pathname).toBe(`/${emu.emulator.tenantId}/oauth2/v2.0/authorize`);
    expect(signIn.searchParams.get('code_challenge_method')).toBe('S256');
    expect(page.status, page.text).toBe(200);
    expect(page.text).toContain(
      `Admin consent is granted: aad-sync can read the directory of tenant ${emu.emulator.tenantId}.`,
    );
    expect(page.text).toContain(`Confirmed by the sign-in of ${emu.emulator.adminUpn}.`);
    const source = await sourceRow(link.sourceId);
    expect(source).toMatchObject({
      authMode: 'application',
      tenantId: emu.emulator.tenantId,
      authorizedByUpn: emu.emulator.adminUpn,
      authorizedBySlackUser: 'U0ADMIN',
      homeAccountId: null,
      tokenCache: null,
    });
    const row = await requestRow(link.requestId);
    expect(row.consentTenantId).toBe(emu.emulator.tenantId);
    expect(row.consumedAt).toBeInstanceOf(Date);
    expect(notified).toMatchObject([
      { ok: true, upn: emu.emulator.adminUpn, request: { viewId: 'V0APP', authMode: 'application' } },
    ]);
  });

  it('binds nothing on a hand-written consent redirect: the tenant it names must be signed in to', async () => {
    const link = await begin({ authMode: 'application' });
    const browser = new TestBrowser();
    const state = new URL((await browser.open(link.url)).location!).searchParams.get('state')!;
    const forged = (tenant: string) =>
      browser.get(`${publicUrl}/azure/callback?admin_consent=True&tenant=${tenant}&state=${state}`);

    // The attack on main: no request to Microsoft's consent page, and the source was bound.
    const answer = await forged(ANOTHER_TENANT);
    expect(answer.status).toBe(303);
    expect(new URL(answer.location!).pathname).toBe(`/${ANOTHER_TENANT}/oauth2/v2.0/authorize`);
    expect((await sourceRow(link.sourceId)).tenantId).toBeNull();
    expect(notified).toEqual([]);
    // Microsoft knows no such tenant (here: the emulator's only one is another), so nobody signs in there.
    expect((await browser.get(answer.location!)).status).toBe(400);
    // A code written by hand does not pass either.
    const signInState = new URL(answer.location!).searchParams.get('state')!;
    const page = await browser.get(`${publicUrl}/azure/callback?code=forged&state=${signInState}`);
    expect(page.status).toBe(502);
    expect((await sourceRow(link.sourceId)).tenantId).toBeNull();
    const counts = ((await emu.control('GET', 'state')).body as { requests: Record<string, number> }).requests;
    expect(counts['/{tenant}/v2.0/adminconsent'] ?? 0).toBe(0);
  });

  it('refuses a consent for another tenant than AZURE_TENANT_ID when that is a tenant id', async () => {
    const pinned = createAuthorizationService({
      db: db.db,
      auth: createAzureAuth(
        appRegistration({ ...azureConfig(), tenantId: ANOTHER_TENANT }),
        createTokenCacheStore(db.db, key),
      ),
      encryptionKey: key,
      publicUrl,
    });
    const link = await begin({ authMode: 'application' });
    const started = await pinned.startAuthorization(link.requestId);
    if (!started.ok) throw new Error(started.message);
    const state = new URL(started.location).searchParams.get('state')!;
    // A consent redirect from another tenant (the emulator's), carried by the admin's own browser.
    const result = await pinned.completeAuthorization(
      { admin_consent: 'True', tenant: emu.emulator.tenantId, state },
      started.browserBinding,
    );
    expect(result).toMatchObject({ ok: false, reason: 'failed' });
    expect((result as { message: string }).message).toContain(`set up for tenant ${ANOTHER_TENANT} only`);
    expect((await sourceRow(link.sourceId)).tenantId).toBeNull();
  });

  it("asks a synced source's own tenant for consent again when reauthorizing", async () => {
    const link = await begin({ authMode: 'application', purpose: 'reauthorize' });
    await db.db
      .update(sources)
      .set({ status: 'needs_reauth', tenantId: emu.emulator.tenantId })
      .where(eq(sources.id, link.sourceId));
    const browser = new TestBrowser();
    const { opened, page } = await consentAndSignIn(browser, link);
    expect(new URL(opened.location!).pathname).toBe(`/${emu.emulator.tenantId}/v2.0/adminconsent`);
    expect(page.status, page.text).toBe(200);
    expect(page.text).toContain('Connection restored');
    expect((await sourceRow(link.sourceId)).status).toBe('active');
  });

  it('shows a declined consent in plain words and stores nothing', async () => {
    await emu.control('POST', 'signin', { outcome: 'deny' });
    const link = await begin({ authMode: 'application' });
    const before = await sourceRow(link.sourceId);
    const browser = new TestBrowser();
    const page = await browser.get(await signInAtMicrosoft(browser, link));
    expect(page.status).toBe(403);
    expect(page.text).toContain('Permissions not granted');
    expect(page.text).toContain('The permissions were declined: sign in again and choose Accept (AADSTS65004).');
    expect(await sourceRow(link.sourceId)).toEqual(before);
    expect(notified).toMatchObject([{ ok: false, reason: 'denied' }]);
  });
});

describe('refusals: error page, nothing stored', () => {
  it('opens a link once only', async () => {
    const link = await begin();
    const browser = new TestBrowser();
    expect((await browser.open(link.url)).status).toBe(303);
    const opened = await requestRow(link.requestId);
    for (const who of [browser, new TestBrowser()]) {
      const again = await who.open(link.url);
      expect(again.status).toBe(409);
      expectPageHeaders(again);
      expect(again.text).toContain('This sign-in link has already been used; each link works once.');
      expect(again.text).toContain('Ask for a new link with /aad setup in Slack.');
      expect(again.headers.get('set-cookie')).toBeNull();
    }
    expect(await requestRow(link.requestId)).toEqual(opened);
  });

  it('refuses a link opened after 10 minutes, and a sign-in that comes back after 10 more', async () => {
    const late = await begin();
    offsetMs = LINK_LIFETIME_MS + 1_000;
    const page = await new TestBrowser().open(late.url);
    expect(page.status).toBe(410);
    expect(page.text).toContain('This sign-in link has expired');
    expect((await requestRow(late.requestId)).openedAt).toBeNull();

    offsetMs = 0;
    const slow = await begin();
    const browser = new TestBrowser();
    const callback = await signInAtMicrosoft(browser, slow);
    const before = await sourceRow(slow.sourceId);
    offsetMs = LINK_LIFETIME_MS + 1_000;
    const answer = await browser.get(callback);
    expect(answer.status).toBe(410);
    expect(answer.text).toContain('took longer than 10 minutes');
    expect(await sourceRow(slow.sourceId)).toEqual(before);
    expect((await requestRow(slow.requestId)).consumedAt).toBeNull();
    expect(notified).toEqual([]);
  });

  it('refuses a callback replayed in another browser, with no cookie or a forged one, and still lets the admin finish', async () => {
    const link = await begin();
    const browser = new TestBrowser();
    const callback = await signInAtMicrosoft(browser, link);
    const before = await sourceRow(link.sourceId);

    const forged = new TestBrowser();
    forged.setCookie(publicUrl, BROWSER_COOKIE, 'A'.repeat(43), '/azure');
    for (const other of [new TestBrowser(), forged]) {
      const page = await other.get(callback);
      expect(page.status).toBe(403);
      expect(page.text).toContain('finished in a different browser');
      expect(await sourceRow(link.sourceId)).toEqual(before);
    }
    expect((await requestRow(link.requestId)).consumedAt).toBeNull();
    expect(notified).toEqual([]);

    expect((await browser.get(callback)).status).toBe(200);
    expect((await sourceRow(link.sourceId)).tokenCache).toMatch(/^v1\./);
  });

  it("refuses another admin's sign-in carried with this admin's browser cookie", async () => {
    const teamId = freshTeam();
    const adele = await begin({ teamId, slackUserId: 'U0ADELE' });
    const bruno = await begin({ teamId, slackUserId: 'U0BRUNO' });
    expect(bruno.sourceId).toBe(adele.sourceId);
    const adeleBrowser = new TestBrowser();
    const brunoBrowser = new TestBrowser();
    const adeleCallback = await signInAtMicrosoft(adeleBrowser, adele);
    await signInAtMicrosoft(brunoBrowser, bruno);
    const before = await sourceRow(adele.sourceId);

    const mixed = await brunoBrowser.get(adeleCallback);
    expect(mixed.status).toBe(403);
    expect(await sourceRow(adele.sourceId)).toEqual(before);
    expect(notified).toEqual([]);
  });

  it('refuses unknown and malformed links and callbacks without a known state, escaping what it was sent', async () => {
    for (const path of ['/azure/authorize/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', '/azure/authorize/%3Cscript%3E']) {
      const page = await new TestBrowser().get(`${publicUrl}${path}`);
      expect(page.status).toBe(404);
      expect(page.text).toContain('This sign-in link is not valid');
    }
    const noState = await new TestBrowser().get(`${publicUrl}/azure/callback?code=abc`);
    expect(noState.status).toBe(404);
    const hostile = await new TestBrowser().get(`${publicUrl}/azure/callback?state=%3Cscript%3Ealert(1)%3C/script%3E`);
    expect(hostile.status).toBe(404);
    expect(hostile.text).not.toContain('<script>');
    expect(notified).toEqual([]);
  });

  it('escapes hostile error values Microsoft (or someone) puts on the callback', async () => {
    const link = await begin();
    const browser = new TestBrowser();
    const opened = await browser.open(link.url);
    const state = new URL(opened.location!).searchParams.get('state')!;
    const query = new URLSearchParams({
      state,
      error: '<script>alert(1)</script>',
      error_description: '<img src=x onerror=alert(2)> & "quoted"',
    });
    const page = await browser.get(`${publicUrl}/azure/callback?${query}`);
    expect(page.status).toBe(403);
    expect(page.text).not.toContain('<script>alert');
    expect(page.text).not.toContain('<img');
    expect(page.text).toContain('&lt;img src=x onerror=alert(2)&gt; &amp; &quot;quoted&quot;');
    expect(page.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect((await sourceRow(link.sourceId)).tenantId).toBeNull();
  });

  it('turns a declined sign-in into plain words, uses up the link and stores nothing', async () => {
    await emu.control('POST', 'signin', { outcome: 'deny' });
    const link = await begin({ viewId: 'V0DENY' });
    const before = await sourceRow(link.sourceId);
    const browser = new TestBrowser();
    const callback = await signInAtMicrosoft(browser, link);
    const page = await browser.get(callback);
    expect(page.status).toBe(403);
    expect(page.text).toContain('The permissions were declined: sign in again and choose Accept (AADSTS65004).');
    expect(page.text).toContain('The Slack window shows this too');
    expect(await sourceRow(link.sourceId)).toEqual(before);
    expect(notified).toEqual([
      expect.objectContaining({
        ok: false,
        reason: 'denied',
        message: 'The permissions were declined: sign in again and choose Accept (AADSTS65004).',
        request: expect.objectContaining({ viewId: 'V0DENY', purpose: 'setup' }),
      }),
    ]);
    expect((await browser.get(callback)).status).toBe(409);
  });

  it('tells a non-admin to sign in with a Global Administrator', async () => {
    await emu.control('POST', 'signin', { outcome: 'non_admin' });
    const link = await begin();
    const browser = new TestBrowser();
    const page = await browser.get(await signInAtMicrosoft(browser, link));
    expect(page.status).toBe(403);
    expect(page.text).toContain(
      'The account that signed in is not allowed to grant these permissions: sign in with a Global Administrator',
    );
    expect((await sourceRow(link.sourceId)).tokenCache).toBeNull();
  });
});

describe('link page (mail scanners)', () => {
  it('answers GET and HEAD with a button page and uses nothing up; only the button (POST) claims the link', async () => {
    const link = await begin();
    const scanner = new TestBrowser();
    for (let i = 0; i < 3; i++) {
      const page = await scanner.get(link.url);
      expect(page.status).toBe(200);
      expectPageHeaders(page);
      expect(page.headers.get('set-cookie')).toBeNull();
      expect(page.text).toContain(`<form method="post" action="/azure/authorize/${link.requestId}">`);
      expect(page.headers.get('content-security-policy')).toContain(`form-action 'self' ${emu.emulator.authorityHost}`);
    }
    const head = await fetch(link.url, { method: 'HEAD' });
    expect(head.headers.get('set-cookie')).toBeNull();
    const row = await requestRow(link.requestId);
    expect(row.openedAt).toBeNull();
    expect(row.consumedAt).toBeNull();

    // The admin's own click still works, once; afterwards the page says it was used.
    const browser = new TestBrowser();
    expect((await browser.get(await signInAtMicrosoft(browser, link))).status).toBe(200);
    const later = await scanner.get(link.url);
    expect(later.status).toBe(409);
    expect(later.text).not.toContain('<form');
  });
});

describe('link lifecycle', () => {
  it('keeps one source per team and one live link per admin', async () => {
    const teamId = freshTeam();
    const [a, b] = await Promise.all([begin({ teamId }), begin({ teamId, slackUserId: 'U0SECOND' })]);
    expect(a.sourceId).toBe(b.sourceId);
    expect(await db.db.select().from(sources).where(eq(sources.slackTeamId, teamId))).toHaveLength(1);

    const newer = await begin({ teamId });
    expect((await new TestBrowser().open(a.url)).status).toBe(410);
    expect((await new TestBrowser().open(b.url)).status).toBe(303);
    expect((await new TestBrowser().open(newer.url)).status).toBe(303);
  });

  it('redeems a sign-in once when the callback arrives twice at the same moment', async () => {
    const link = await begin();
    const browser = new TestBrowser();
    const callback = await signInAtMicrosoft(browser, link);
    const cookie = browser.cookie(BROWSER_COOKIE)!;
    const twin = new TestBrowser();
    twin.setCookie(publicUrl, BROWSER_COOKIE, cookie, '/azure');
    const statuses = (await Promise.all([browser.get(callback), twin.get(callback)])).map((p) => p.status).sort();
    expect(statuses).toEqual([200, 409]);
    expect(notified).toHaveLength(1);
  });

  it('releases a link when Microsoft cannot be reached, so reloading it works', async () => {
    const link = await begin();
    await servedBy(boltListener(routesFor(service('https://127.0.0.1:9'))), async () => {
      const page = await new TestBrowser().open(link.url);
      expect(page.status).toBe(502);
      expect(page.text).toContain('Reload this page in a moment to try again.');
      expect((await requestRow(link.requestId)).openedAt).toBeNull();
    });
    expect((await new TestBrowser().open(link.url)).status).toBe(303);
  });

  it('still shows the result when the Slack window is gone or Slack fails', async () => {
    slackAnswer = async () => false;
    const gone = await begin();
    const browser = new TestBrowser();
    const page = await browser.get(await signInAtMicrosoft(browser, gone));
    expect(page.status).toBe(200);
    expect(page.text).toContain('run /aad setup to continue with step 2 (Groups)');

    slackAnswer = async () => {
      throw new Error('views.update failed: not_found');
    };
    const failing = await begin();
    const other = new TestBrowser();
    const answer = await other.get(await signInAtMicrosoft(other, failing));
    expect(answer.status).toBe(200);
    expect(answer.text).toContain('Signed in as');
    expect(log.text()).toContain('could not show the sign-in result in Slack');
  });

  it('marks the browser cookie Secure when PUBLIC_URL is https', async () => {
    const routes = azureRoutes({
      authorization,
      publicUrl: 'https://aad-sync.example.com',
      authorityHost: emu.emulator.authorityHost,
      logger: createLogger({ level: 'silent' }),
      onAuthorized: async () => true,
    });
    await servedBy(boltListener(routes), async () => {
      const opened = await new TestBrowser().open((await begin()).url);
      expect(opened.status).toBe(303);
      expect(opened.headers.get('set-cookie')).toMatch(/; HttpOnly; SameSite=Lax; Secure$/);
    });
  });

  it('serves the same routes from a plain Node server without path parameters', async () => {
    const routes = routesFor(authorization);
    const plain: RequestListener = (req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const route = routes.find(
        (r) =>
          [r.method].flat().includes(req.method as 'GET') &&
          (r.path.includes(':') ? path.startsWith('/azure/authorize/') : r.path === path),
      );
      if (route) route.handler(req, res);
      else res.writeHead(404).end();
    };
    await servedBy(plain, async () => {
      const link = await begin();
      const browser = new TestBrowser();
      expect((await browser.get(await signInAtMicrosoft(browser, link))).status).toBe(200);
    });
  });
});
