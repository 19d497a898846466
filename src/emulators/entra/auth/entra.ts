import { randomUUID } from 'node:crypto';
import { type EmulatorReply, type EmulatorRequest, escapeHtml, header, html, json, redirect } from '../http.ts';
import type { EmulatorState } from '../state.ts';

/** Shapes shared by the Entra endpoints: tenant path segments, AADSTS error bodies, error redirects. */

type TenantKind = 'specific' | 'multi';

/** `common` and `organizations` sign in to any work tenant (here: the one); ids and domains name ours. */
export function resolveTenant(state: EmulatorState, segment: string): TenantKind | null {
  const value = segment.toLowerCase();
  if (value === 'common' || value === 'organizations') return 'multi';
  const { tenant } = state.store;
  return value === tenant.id || value === tenant.domain || value === tenant.initialDomain ? 'specific' : null;
}

export function correlationId(request: EmulatorRequest): string {
  return request.query.get('client-request-id') ?? header(request, 'client-request-id') ?? randomUUID();
}

function timestamp(state: EmulatorState): string {
  return new Date(state.now())
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
}

function describe(code: number, message: string, traceId: string, correlation: string, when: string): string {
  return `AADSTS${code}: ${message}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlation}\r\nTimestamp: ${when}`;
}

export interface EntraErrorOptions {
  suberror?: string;
  headers?: Record<string, string>;
}

/** A token-endpoint error in Entra's JSON format (MSAL reads `error`, `suberror` and `error_codes`). */
export function entraError(
  state: EmulatorState,
  request: EmulatorRequest,
  status: number,
  error: string,
  code: number,
  message: string,
  options: EntraErrorOptions = {},
): EmulatorReply {
  const traceId = randomUUID();
  const correlation = correlationId(request);
  const when = timestamp(state);
  return json(
    status,
    {
      error,
      error_description: describe(code, message, traceId, correlation, when),
      error_codes: [code],
      timestamp: when,
      trace_id: traceId,
      correlation_id: correlation,
      error_uri: `${state.settings.publicBase}/error?code=${code}`,
      ...(options.suberror ? { suberror: options.suberror } : {}),
    },
    { 'cache-control': 'no-store', pragma: 'no-cache', ...options.headers },
  );
}

/** The sign-in page's own error: shown in the browser, not redirected (the redirect target is not trusted). */
export function entraErrorPage(
  state: EmulatorState,
  request: EmulatorRequest,
  code: number,
  message: string,
): EmulatorReply {
  const text = describe(code, message, randomUUID(), correlationId(request), timestamp(state));
  return html(400, 'Sign in to your account', text);
}

export interface RedirectError {
  error: string;
  code: number;
  message: string;
  subcode?: string;
  extra?: Record<string, string>;
}

/** Sends the browser back to the app with Entra's error parameters and the app's `state`. */
export function errorRedirect(
  state: EmulatorState,
  request: EmulatorRequest,
  redirectUri: string,
  failure: RedirectError,
): EmulatorReply {
  const params: Record<string, string> = {
    ...failure.extra,
    error: failure.error,
    error_description: describe(failure.code, failure.message, randomUUID(), correlationId(request), timestamp(state)),
    ...(failure.subcode ? { error_subcode: failure.subcode } : {}),
    error_uri: `${state.settings.publicBase}/error?code=${failure.code}`,
  };
  const appState = request.query.get('state');
  if (appState !== null) params.state = appState;
  return respondTo(redirectUri, request.query.get('response_mode') ?? 'query', params);
}

/** Delivers parameters to the redirect URI the way `response_mode` asks: query, fragment or form_post. */
export function respondTo(redirectUri: string, responseMode: string, params: Record<string, string>): EmulatorReply {
  if (responseMode === 'form_post') {
    const inputs = Object.entries(params)
      .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
      .join('');
    return {
      status: 200,
      headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' },
      body: `<!doctype html><html><body onload="document.forms[0].submit()"><form method="POST" action="${escapeHtml(redirectUri)}">${inputs}<noscript><button>Continue</button></noscript></form></body></html>`,
    };
  }
  const target = new URL(redirectUri);
  const encoded = new URLSearchParams(params);
  if (responseMode === 'fragment') target.hash = encoded.toString();
  else for (const [name, value] of encoded) target.searchParams.set(name, value);
  return redirect(target.toString());
}

/**
 * Like the real app registration: the localhost callbacks on any port plus the URIs given at start-up.
 * Compared exactly (Entra ignores only the port for localhost), so a trailing slash is a different URI.
 */
export function isRegisteredRedirect(state: EmulatorState, redirectUri: string): boolean {
  if (state.settings.redirectUris.includes(redirectUri)) return true;
  let url: URL;
  try {
    url = new URL(redirectUri);
  } catch {
    return false;
  }
  const local = url.hostname === 'localhost' || url.hostname === '127.0.0.1';
  return (
    url.protocol === 'http:' &&
    local &&
    url.pathname === '/azure/callback' &&
    url.search === '' &&
    url.hash === '' &&
    `${url.protocol}//${url.host}/azure/callback` === redirectUri
  );
}
