import { and, asc, eq, gt, isNull, lt, sql } from 'drizzle-orm';
import type { AzureAuth, CallbackQuery } from '../azure/index.ts';
import { AzureError, callbackError } from '../azure/index.ts';
import { decrypt, encrypt, randomToken, sign, verifySignature } from '../crypto.ts';
import type { Db } from '../db/client.ts';
import { sourceOfTeamLock } from '../db/locks.ts';
import { type AuthorizationPurpose, type OAuthRequest, oauthRequests, type Source, sources } from '../db/schema.ts';
import { createSource, recordAuthorization } from '../db/sources.ts';

/**
 * The life of one "Sign in with Microsoft" link: created for one Slack admin and source (begin), opened
 * once in a browser which it then binds by a cookie (start), completed once by Microsoft's redirect back
 * (complete). Every refusal leaves the source exactly as it was.
 */

export type AuthMode = 'delegated' | 'application';
export type { AuthorizationPurpose };

/** How long a fresh link may wait to be opened. */
export const LINK_LIFETIME_MS = 10 * 60_000;
/** How long the admin has at Microsoft once the link is opened; the browser cookie lives as long. */
export const SIGN_IN_WINDOW_MS = 10 * 60_000;
/** Old requests are kept this long for support questions ("I clicked it and…"), then deleted. */
const KEEP_FINISHED_MS = 24 * 3_600_000;
const REQUEST_ID = /^[A-Za-z0-9_-]{22,128}$/;

export interface BeginAuthorizationInput {
  teamId: string;
  slackUserId: string;
  /** The Slack modal that waits for the result. */
  viewId: string;
  purpose: AuthorizationPurpose;
  /** AZURE_AUTH_MODE; also the mode of a source created here. */
  authMode: AuthMode;
}

export interface AuthorizationLink {
  requestId: string;
  sourceId: string;
  /** `${PUBLIC_URL}/azure/authorize/${requestId}` */
  url: string;
  expiresAt: Date;
  authMode: AuthMode;
}

/** Who asked for a sign-in and where the answer goes. */
export interface PendingAuthorization {
  requestId: string;
  sourceId: string;
  teamId: string;
  slackUserId: string;
  viewId: string | null;
  purpose: AuthorizationPurpose;
  authMode: AuthMode;
}

export type RefusalReason = 'unknown' | 'expired' | 'reused' | 'wrong_browser' | 'denied' | 'failed';

export interface AuthorizationRefused {
  ok: false;
  reason: RefusalReason;
  /** Plain words for the admin. */
  message: string;
  request?: PendingAuthorization;
  /** The error behind `failed`, for the log. */
  cause?: unknown;
}

export type StartedAuthorization =
  | {
      ok: true;
      /** Microsoft's sign-in or admin-consent page. */
      location: string;
      /** Cookie value that ties the callback to this browser. */
      browserBinding: string;
      request: PendingAuthorization;
    }
  | AuthorizationRefused;

export type InspectedAuthorization = { ok: true; request: PendingAuthorization } | AuthorizationRefused;

export type CompletedAuthorization =
  | {
      ok: true;
      request: PendingAuthorization;
      /** The admin who signed in (in application mode: who signed in after granting the consent). */
      upn: string | null;
      tenantId: string;
    }
  | AuthorizationRefused;

/** Application mode's consent came back: the browser goes on to Microsoft's sign-in that proves it. */
export interface SignInNext {
  next: 'sign_in';
  location: string;
  request: PendingAuthorization;
}

export interface AuthorizationService {
  /** Creates the team's source when it has none (status `setup`) and a fresh single-use link for this admin. */
  beginAuthorization(input: BeginAuthorizationInput): Promise<AuthorizationLink>;
  /** The link was opened (GET, as mail scanners do too): says whether it can still be used, claims nothing. */
  inspectAuthorization(requestId: string): Promise<InspectedAuthorization>;
  /** The admin pressed the button on the link's page: claims the link (once) and says where to send the browser. */
  startAuthorization(requestId: string): Promise<StartedAuthorization>;
  /**
   * Microsoft redirected back: checks the request and this browser, then redeems the code. In application
   * mode the consent redirect comes first and leads on to a sign-in (`SignInNext`).
   */
  completeAuthorization(
    query: CallbackQuery,
    browserBinding: string | undefined,
  ): Promise<CompletedAuthorization | SignInNext>;
}

export interface AuthorizationServiceOptions {
  db: Db;
  auth: Pick<
    AzureAuth,
    | 'createAuthorizeRequest'
    | 'redeemAuthorizationCode'
    | 'createAdminConsentUrl'
    | 'checkAdminConsent'
    | 'createConsentSignInRequest'
    | 'confirmAdminConsent'
  >;
  encryptionKey: Buffer;
  /** PUBLIC_URL; links and the redirect URI are built on it. */
  publicUrl: string;
  now?: () => Date;
}

export const callbackUrl = (publicUrl: string) => `${publicUrl.replace(/\/+$/, '')}/azure/callback`;

const bindingPayload = (requestId: string) => `aad-sync authorize browser:${requestId}`;

function pending(row: OAuthRequest): PendingAuthorization {
  return {
    requestId: row.id,
    sourceId: row.sourceId,
    teamId: row.slackTeamId,
    slackUserId: row.slackUserId,
    viewId: row.viewId,
    purpose: row.purpose,
    authMode: row.authMode,
  };
}

/**
 * A source that has synced stays with its tenant: signing in to another one would swap the whole
 * directory for strangers. During setup the admin may still pick another tenant.
 */
function boundTenant(source: Pick<Source, 'status' | 'tenantId'>): string | null {
  return source.status === 'setup' ? null : source.tenantId;
}

export function createAuthorizationService(options: AuthorizationServiceOptions): AuthorizationService {
  const { db, auth, encryptionKey: key } = options;
  const now = options.now ?? (() => new Date());
  const base = options.publicUrl.replace(/\/+$/, '');
  const redirectUri = callbackUrl(base);

  const refuse = (
    reason: RefusalReason,
    message: string,
    row?: OAuthRequest,
    cause?: unknown,
  ): AuthorizationRefused => ({ ok: false, reason, message, request: row ? pending(row) : undefined, cause });

  const sourceOf = async (sourceId: string) => {
    const [source] = await db.select().from(sources).where(eq(sources.id, sourceId));
    if (!source) throw new Error(`source ${sourceId} no longer exists`);
    return source;
  };

  async function beginAuthorization(input: BeginAuthorizationInput): Promise<AuthorizationLink> {
    const at = now();
    const requestId = randomToken(24);
    const expiresAt = new Date(at.getTime() + LINK_LIFETIME_MS);
    const sourceId = await db.transaction(async (tx) => {
      // Two admins running /aad setup at once must end up with one source.
      await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${sourceOfTeamLock(input.teamId)}))`);
      const [existing] = await tx
        .select({ id: sources.id })
        .from(sources)
        .where(eq(sources.slackTeamId, input.teamId))
        .orderBy(asc(sources.createdAt))
        .limit(1);
      const source =
        existing ?? (await createSource(tx, { slackTeamId: input.teamId, authMode: input.authMode, status: 'setup' }));
      await tx
        .update(oauthRequests)
        .set({ expiresAt: at })
        .where(
          and(
            eq(oauthRequests.sourceId, source.id),
            eq(oauthRequests.slackUserId, input.slackUserId),
            isNull(oauthRequests.consumedAt),
            gt(oauthRequests.expiresAt, at),
          ),
        );
      await tx.delete(oauthRequests).where(lt(oauthRequests.expiresAt, new Date(at.getTime() - KEEP_FINISHED_MS)));
      await tx.insert(oauthRequests).values({
        id: requestId,
        sourceId: source.id,
        slackUserId: input.slackUserId,
        slackTeamId: input.teamId,
        viewId: input.viewId,
        authMode: input.authMode,
        purpose: input.purpose,
        state: randomToken(24),
        createdAt: at,
        expiresAt,
      });
      return source.id;
    });
    return { requestId, sourceId, url: `${base}/azure/authorize/${requestId}`, expiresAt, authMode: input.authMode };
  }

  /** Microsoft's URL for this request; delegated mode keeps MSAL's state, nonce and PKCE verifier (sealed). */
  async function microsoftUrl(row: OAuthRequest): Promise<string> {
    const source = await sourceOf(row.sourceId);
    if (row.authMode === 'application') {
      return auth.createAdminConsentUrl({ tenant: boundTenant(source) ?? undefined, redirectUri, state: row.state });
    }
    const loginHint = row.purpose === 'reauthorize' ? (source.authorizedByUpn ?? undefined) : undefined;
    const request = await auth.createAuthorizeRequest({ redirectUri, loginHint });
    await db
      .update(oauthRequests)
      .set({
        state: request.state,
        nonce: encrypt(key, request.nonce, row.id),
        pkceVerifier: encrypt(key, request.pkceVerifier, row.id),
      })
      .where(eq(oauthRequests.id, row.id));
    return request.url;
  }

  /** The link's row while it can still be opened; reads only, so a mail scanner's GET uses nothing up. */
  async function openable(requestId: string, at: Date): Promise<OAuthRequest | AuthorizationRefused> {
    if (!REQUEST_ID.test(requestId)) return refuse('unknown', 'This sign-in link is not valid.');
    const [row] = await db.select().from(oauthRequests).where(eq(oauthRequests.id, requestId));
    if (!row) return refuse('unknown', 'This sign-in link is not valid (it may have been deleted).');
    if (row.consumedAt || row.openedAt) {
      return refuse('reused', 'This sign-in link has already been used; each link works once.', row);
    }
    if (row.expiresAt <= at) {
      return refuse('expired', 'This sign-in link has expired, or a newer link replaced it.', row);
    }
    return row;
  }

  async function inspectAuthorization(requestId: string): Promise<InspectedAuthorization> {
    const row = await openable(requestId, now());
    return 'ok' in row ? row : { ok: true, request: pending(row) };
  }

  async function startAuthorization(requestId: string): Promise<StartedAuthorization> {
    const at = now();
    const row = await openable(requestId, at);
    if ('ok' in row) return row;
    const [claimed] = await db
      .update(oauthRequests)
      .set({ openedAt: at, expiresAt: new Date(at.getTime() + SIGN_IN_WINDOW_MS) })
      .where(
        and(
          eq(oauthRequests.id, requestId),
          isNull(oauthRequests.openedAt),
          isNull(oauthRequests.consumedAt),
          gt(oauthRequests.expiresAt, at),
        ),
      )
      .returning();
    if (!claimed) return refuse('reused', 'This sign-in link has already been used; each link works once.', row);
    try {
      const location = await microsoftUrl(claimed);
      return { ok: true, location, browserBinding: sign(key, bindingPayload(requestId)), request: pending(claimed) };
    } catch (e) {
      // Nothing reached the browser yet, so the admin may simply try the same link again.
      await db
        .update(oauthRequests)
        .set({ openedAt: null, expiresAt: row.expiresAt })
        .where(eq(oauthRequests.id, requestId));
      const message =
        e instanceof AzureError ? e.message : 'aad-sync could not prepare the Microsoft sign-in (see its logs).';
      return refuse('failed', message, row, e);
    }
  }

  /** Signs in (delegated: saves the new token cache) or proves the consent (application: saves nothing). */
  async function redeem(
    row: OAuthRequest,
    query: CallbackQuery,
    boundTenant: string | null,
  ): Promise<{ upn: string | null; tenantId: string }> {
    if (!query.code || !row.nonce || !row.pkceVerifier) {
      throw new AzureError('reauth_required', "Microsoft's answer carried no authorization code.");
    }
    const input = {
      sourceId: row.sourceId,
      code: query.code,
      state: query.state,
      expectedState: row.state,
      nonce: decrypt(key, row.nonce, row.id),
      pkceVerifier: decrypt(key, row.pkceVerifier, row.id),
      redirectUri,
      boundTenant,
    };
    if (row.authMode === 'application') {
      if (!row.consentTenantId) throw new AzureError('reauth_required', 'No admin consent preceded this sign-in.');
      return auth.confirmAdminConsent({ ...input, tenantId: row.consentTenantId });
    }
    const admin = await auth.redeemAuthorizationCode(input);
    return { upn: admin.upn, tenantId: admin.tenantId };
  }

  async function finish(row: OAuthRequest, query: CallbackQuery): Promise<CompletedAuthorization> {
    const before = await sourceOf(row.sourceId);
    const { upn, tenantId } = await redeem(row, query, boundTenant(before));
    await recordAuthorization(db, before, {
      tenantId,
      authMode: row.authMode,
      authorizedByUpn: upn,
      authorizedBySlackUser: row.slackUserId,
      authorizedAt: now(),
    });
    return { ok: true, request: pending(row), upn, tenantId };
  }

  /**
   * Application mode, first callback: the consent's claims are checked and the same request moves on to
   * a sign-in at the tenant they name (new state, nonce and verifier), still bound to this browser.
   */
  async function consentToSignIn(row: OAuthRequest, query: CallbackQuery): Promise<SignInNext | AuthorizationRefused> {
    const fail = async (reason: 'denied' | 'failed', e: unknown) => {
      await db.update(oauthRequests).set({ consumedAt: now() }).where(eq(oauthRequests.id, row.id));
      const message =
        e instanceof AzureError ? e.message : 'aad-sync could not finish the sign-in because of an internal error.';
      return refuse(reason, message, row, e);
    };
    const declined = callbackError(query);
    if (declined) return fail('denied', declined);
    try {
      const source = await sourceOf(row.sourceId);
      const { tenantId } = auth.checkAdminConsent({
        query,
        expectedState: row.state,
        boundTenant: boundTenant(source),
      });
      const request = await auth.createConsentSignInRequest({ tenantId, redirectUri });
      const [moved] = await db
        .update(oauthRequests)
        .set({
          state: request.state,
          nonce: encrypt(key, request.nonce, row.id),
          pkceVerifier: encrypt(key, request.pkceVerifier, row.id),
          consentTenantId: tenantId,
        })
        .where(and(eq(oauthRequests.id, row.id), eq(oauthRequests.state, row.state), isNull(oauthRequests.consumedAt)))
        .returning();
      if (!moved) return refuse('reused', 'This consent was already answered; each link works once.', row);
      return { next: 'sign_in', location: request.url, request: pending(moved) };
    } catch (e) {
      return fail('failed', e);
    }
  }

  async function completeAuthorization(
    query: CallbackQuery,
    browserBinding: string | undefined,
  ): Promise<CompletedAuthorization | SignInNext> {
    const at = now();
    if (!query.state) return refuse('unknown', 'This page was opened without a sign-in request from aad-sync.');
    const [row] = await db.select().from(oauthRequests).where(eq(oauthRequests.state, query.state));
    if (!row) return refuse('unknown', 'This sign-in does not match any request from aad-sync.');
    if (row.consumedAt) {
      return refuse('reused', 'This sign-in was already completed or abandoned; each link works once.', row);
    }
    if (!row.openedAt || !browserBinding || !verifySignature(key, bindingPayload(row.id), browserBinding)) {
      return refuse(
        'wrong_browser',
        'This sign-in was finished in a different browser from the one that opened the link, so aad-sync did not accept it.',
        row,
      );
    }
    if (row.expiresAt <= at) {
      return refuse('expired', 'The sign-in took longer than 10 minutes, so aad-sync did not accept it.', row);
    }
    if (row.authMode === 'application' && !row.consentTenantId) return consentToSignIn(row, query);
    const [claimed] = await db
      .update(oauthRequests)
      .set({ consumedAt: at })
      .where(and(eq(oauthRequests.id, row.id), isNull(oauthRequests.consumedAt)))
      .returning();
    if (!claimed) return refuse('reused', 'This sign-in was already completed; each link works once.', row);

    const declined = callbackError(query);
    if (declined) return refuse('denied', declined.message, claimed, declined);
    try {
      return await finish(claimed, query);
    } catch (e) {
      const message =
        e instanceof AzureError ? e.message : 'aad-sync could not finish the sign-in because of an internal error.';
      return refuse('failed', message, claimed, e);
    }
  }

  return { beginAuthorization, inspectAuthorization, startAuthorization, completeAuthorization };
}
