import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CallbackQuery } from '../azure/index.ts';
import type { Logger } from '../logger.ts';
import {
  type AuthorizationPurpose,
  type AuthorizationRefused,
  type AuthorizationService,
  type CompletedAuthorization,
  type PendingAuthorization,
  type RefusalReason,
  SIGN_IN_WINDOW_MS,
} from '../services/authorization.ts';
import type { Route } from './health.ts';
import { type PageContent, SIGN_IN_HEADERS, sendPage } from './html-page.ts';

/**
 * `GET /azure/authorize/:requestId` shows a page with one button and uses nothing up: mail-security
 * scanners open links they see (the README suggests forwarding the link to the Entra admin), and a
 * scanner's GET must not burn it or collect the browser cookie. The button POSTs to the same address,
 * which claims the link once, sends the browser to Microsoft and binds the sign-in to that browser with
 * a cookie; `GET /azure/callback` finishes it, moves the waiting Slack modal on through
 * `onAuthorized`, and tells the admin in plain words what happened and what to do next. In application
 * mode the first callback is Microsoft's consent redirect, which only claims a tenant: it leads on to a
 * sign-in at that tenant, and the second callback completes.
 */

export const AUTHORIZE_PATH = '/azure/authorize/:requestId';
export const CALLBACK_PATH = '/azure/callback';
/** Path-scoped to /azure so it travels only with the callback. */
export const BROWSER_COOKIE = 'aad_sync_authorize';

export interface AzureRoutesOptions {
  authorization: Pick<AuthorizationService, 'inspectAuthorization' | 'startAuthorization' | 'completeAuthorization'>;
  /** PUBLIC_URL: the cookie is `Secure` when it is https. */
  publicUrl: string;
  /** AZURE_AUTHORITY_HOST: where the button's POST may redirect the browser (CSP form-action). */
  authorityHost: string;
  /**
   * Called once for every sign-in that reached an end (success, declined or failed), never for refused
   * callbacks (replays, other browsers). Resolves true when the waiting Slack modal was moved on.
   */
  onAuthorized(result: CompletedAuthorization): Promise<boolean>;
  logger: Logger;
}

const STATUS: Record<RefusalReason, number> = {
  unknown: 404,
  expired: 410,
  reused: 409,
  wrong_browser: 403,
  denied: 403,
  failed: 502,
};

const TITLE: Record<RefusalReason, string> = {
  unknown: 'This sign-in link cannot be used',
  expired: 'This sign-in link has expired',
  reused: 'This sign-in link was already used',
  wrong_browser: 'Sign-in not accepted',
  denied: 'Permissions not granted',
  failed: 'Sign-in not completed',
};

const NEW_LINK: Record<AuthorizationPurpose, string> = {
  setup: 'Ask for a new link with /aad setup in Slack.',
  reauthorize: 'Click Reauthorize in Slack again for a new link.',
};
const ANY_NEW_LINK = 'Ask for a new link with /aad setup (or Reauthorize) in Slack.';

function newLink(refusal: AuthorizationRefused): string {
  return refusal.request ? NEW_LINK[refusal.request.purpose] : ANY_NEW_LINK;
}

function refusalPage(refusal: AuthorizationRefused, slackShowsIt: boolean): PageContent {
  const next = slackShowsIt
    ? `The Slack window shows this too, with a button for a new link. ${newLink(refusal)}`
    : newLink(refusal);
  return { tone: 'problem', title: TITLE[refusal.reason], message: refusal.message, next };
}

function buttonPage(request: PendingAuthorization, url: string, authorityHost: string): PageContent {
  const consent = request.authMode === 'application';
  return {
    tone: 'action',
    title: consent ? 'Grant admin consent' : 'Sign in with Microsoft',
    message: consent
      ? 'aad-sync asks a Global Administrator of your Microsoft Entra tenant to grant it read access to the directory, then to sign in so it knows which tenant granted it.'
      : 'aad-sync asks an administrator of your Microsoft Entra tenant to sign in, so it can read the directory for Slack.',
    next: 'This link works once, in this browser only: press the button to continue at Microsoft.',
    button: { label: 'Continue to Microsoft', url, formAction: [new URL(authorityHost).origin] },
  };
}

function successPage(result: Extract<CompletedAuthorization, { ok: true }>, slackMovedOn: boolean): PageContent {
  const { purpose, authMode } = result.request;
  const message =
    authMode === 'application'
      ? `Admin consent is granted: aad-sync can read the directory of tenant ${result.tenantId}. ` +
        `Confirmed by the sign-in of ${result.upn}.`
      : `Signed in as ${result.upn}: aad-sync can read the directory of tenant ${result.tenantId}.`;
  const next =
    purpose === 'reauthorize'
      ? 'Return to Slack: the connection is restored and aad-sync syncs again. You can close this tab.'
      : slackMovedOn
        ? 'Return to Slack — the setup window has moved on to step 2 (Groups).'
        : 'Return to Slack and run /aad setup to continue with step 2 (Groups); the window that asked for this sign-in was closed.';
  return { tone: 'success', title: purpose === 'reauthorize' ? 'Connection restored' : 'Signed in', message, next };
}

/** The first value of every query parameter. */
function queryOf(req: IncomingMessage): CallbackQuery {
  const query: CallbackQuery = {};
  for (const [name, value] of new URL(req.url ?? '/', 'http://local').searchParams) query[name] ??= value;
  return query;
}

function cookieOf(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}

/** Bolt's customRoutes put path parameters on `req.params`; a plain server leaves them in the path. */
function requestIdOf(req: IncomingMessage): string {
  const params = (req as IncomingMessage & { params?: Record<string, string> }).params;
  if (params?.requestId) return params.requestId;
  const path = new URL(req.url ?? '/', 'http://local').pathname;
  return path.slice(path.lastIndexOf('/') + 1);
}

const RETRY_FAILED = 'If it keeps failing, ask whoever runs aad-sync to look at its logs.';

const INTERNAL_ERROR: PageContent = {
  tone: 'problem',
  title: 'Something went wrong',
  message: 'aad-sync could not handle this sign-in because of an internal error; its logs say more.',
  next: `Try again in a moment. ${RETRY_FAILED}`,
};

export function azureRoutes(options: AzureRoutesOptions): Route[] {
  const { authorization, logger } = options;
  const secure = new URL(options.publicUrl).protocol === 'https:' ? '; Secure' : '';
  const cookie = (value: string, maxAgeSeconds: number) =>
    `${BROWSER_COOKIE}=${value}; Path=/azure; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Lax${secure}`;

  const guarded =
    (what: string, handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>) =>
    (req: IncomingMessage, res: ServerResponse) => {
      handle(req, res).catch((error: unknown) => {
        logger.error({ err: error }, `${what} failed`);
        if (!res.headersSent) sendPage(res, 500, INTERNAL_ERROR);
        else res.end();
      });
    };

  const describe = (result: CompletedAuthorization) => {
    const request = result.request;
    return {
      sourceId: request?.sourceId,
      teamId: request?.teamId,
      slackUserId: request?.slackUserId,
      purpose: request?.purpose,
      authMode: request?.authMode,
      ...(result.ok ? { tenantId: result.tenantId } : { reason: result.reason }),
    };
  };

  /** Moves the waiting modal on; a Slack failure must not cost the admin their result page. */
  const notifySlack = async (result: CompletedAuthorization): Promise<boolean> => {
    try {
      return await options.onAuthorized(result);
    } catch (error) {
      logger.error({ err: error, ...describe(result) }, 'could not show the sign-in result in Slack');
      return false;
    }
  };

  const linkPage = async (req: IncomingMessage, res: ServerResponse) => {
    const inspected = await authorization.inspectAuthorization(requestIdOf(req));
    if (!inspected.ok) {
      sendPage(res, STATUS[inspected.reason], refusalPage(inspected, false));
      return;
    }
    const path = new URL(req.url ?? '/', 'http://local').pathname;
    sendPage(res, 200, buttonPage(inspected.request, path, options.authorityHost));
  };

  const authorize = async (req: IncomingMessage, res: ServerResponse) => {
    const started = await authorization.startAuthorization(requestIdOf(req));
    if (!started.ok) {
      const level = started.reason === 'failed' ? 'error' : 'info';
      logger[level](
        { err: started.cause, reason: started.reason, sourceId: started.request?.sourceId },
        'authorize link refused',
      );
      // A link that failed before reaching Microsoft was released again and may be reloaded.
      const page =
        started.reason === 'failed'
          ? { ...refusalPage(started, false), next: `Reload this page in a moment to try again. ${RETRY_FAILED}` }
          : refusalPage(started, false);
      sendPage(res, STATUS[started.reason], page);
      return;
    }
    logger.info(
      {
        sourceId: started.request.sourceId,
        slackUserId: started.request.slackUserId,
        authMode: started.request.authMode,
      },
      'authorize link opened; browser sent to Microsoft',
    );
    // 303: the browser follows with a GET, whatever method brought it here.
    res.writeHead(303, {
      ...SIGN_IN_HEADERS,
      Location: started.location,
      'Set-Cookie': cookie(started.browserBinding, SIGN_IN_WINDOW_MS / 1000),
    });
    res.end();
  };

  const callback = async (req: IncomingMessage, res: ServerResponse) => {
    const result = await authorization.completeAuthorization(queryOf(req), cookieOf(req, BROWSER_COOKIE));
    if ('next' in result) {
      logger.info(
        { sourceId: result.request.sourceId, slackUserId: result.request.slackUserId },
        'admin consent came back; browser sent to the sign-in that proves it',
      );
      res.writeHead(303, { ...SIGN_IN_HEADERS, Location: result.location });
      res.end();
      return;
    }
    const ended = result.ok || result.reason === 'denied' || result.reason === 'failed';
    if (result.ok) logger.info(describe(result), 'authorization completed');
    else {
      const level = result.reason === 'failed' ? 'error' : 'warn';
      logger[level]({ ...describe(result), err: result.cause }, 'authorization callback refused');
    }
    const slackMovedOn = ended ? await notifySlack(result) : false;
    const page = result.ok ? successPage(result, slackMovedOn) : refusalPage(result, slackMovedOn);
    // The binding has served its purpose once the request is used up.
    const clear: Record<string, string> = ended ? { 'Set-Cookie': cookie('', 0) } : {};
    sendPage(res, result.ok ? 200 : STATUS[result.reason], page, clear);
  };

  return [
    { path: AUTHORIZE_PATH, method: ['GET', 'HEAD'], handler: guarded('GET /azure/authorize', linkPage) },
    { path: AUTHORIZE_PATH, method: 'POST', handler: guarded('POST /azure/authorize', authorize) },
    { path: CALLBACK_PATH, method: 'GET', handler: guarded('GET /azure/callback', callback) },
  ];
}
