import { setTimeout as sleep } from 'node:timers/promises';
import {
  AuthenticationHandlerOptions,
  Client,
  type GraphRequest,
  ResponseType,
  RetryHandlerOptions,
} from '@microsoft/microsoft-graph-client';
import type { GetToken } from './auth.ts';
import { graphCustomHosts, graphOrigin } from './endpoints.ts';
import { AzureError, type AzureErrorDetail } from './errors.ts';
import { DEFAULT_RETRY, decideRetry, parseRetryAfter, RETRYABLE_STATUSES, type RetryOptions } from './retry-policy.ts';

/**
 * Every Graph request goes through `send`: the token, retries (ours only — the client's RetryHandler is
 * switched off per request, so waits are never stacked), one token refresh on 401, the report of each
 * HTTP exchange, and the translation of Graph's errors into AzureErrors.
 */

export interface GraphRequestReport {
  /** Path without host, version or query, object ids replaced by `{id}` (fit for a metrics label). */
  path: string;
  method: 'GET' | 'POST';
  /** HTTP status; 0 when no answer came (network error, timeout). */
  status: number;
  durationMs: number;
}

export interface GraphTransportOptions {
  /** GRAPH_BASE_URL, e.g. https://graph.microsoft.com */
  graphBaseUrl: string;
  getToken: GetToken;
  onRequest?: (report: GraphRequestReport) => void;
  retry?: Partial<RetryOptions>;
  /** Per HTTP request; a request that takes longer counts as a network failure and is retried. */
  timeoutMs?: number;
  /** Overrides for tests of the retry policy. */
  sleep?: (ms: number) => Promise<unknown>;
  random?: () => number;
}

export interface GraphCall {
  method: 'GET' | 'POST';
  /** `/users/delta?…` (relative to /v1.0) or an absolute link Graph handed out. */
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
  /** Statuses the caller handles itself instead of getting an AzureError (e.g. 404 for a group). */
  accept?: readonly number[];
  /** What the request was for, in words: "reading group members". */
  purpose: string;
  /** Sees every HTTP answer, retries included (parallel reads adapt their concurrency to it). */
  observe?: (status: number, headers: Headers) => void;
}

export interface GraphAnswer {
  status: number;
  headers: Headers;
  /** Parsed JSON, or the raw bytes for non-JSON bodies. */
  body: unknown;
}

export interface GraphErrorBody {
  code?: string;
  message?: string;
}

const GUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

export function reportPath(url: string): string {
  const path = url.replace(/^https:\/\/[^/]+/, '').split('?')[0];
  return path.replace(/^\/(v1\.0|beta)(?=\/)/, '').replace(GUID, '{id}') || '/';
}

async function readBody(response: Response): Promise<unknown> {
  const type = response.headers.get('content-type') ?? '';
  if (type.includes('json')) {
    const text = await response.text();
    try {
      return text ? JSON.parse(text) : undefined;
    } catch {
      return text;
    }
  }
  return new Uint8Array(await response.arrayBuffer());
}

export function graphErrorOf(body: unknown): GraphErrorBody {
  const error = (body as { error?: GraphErrorBody } | undefined)?.error;
  return error && typeof error === 'object' ? { code: error.code, message: error.message } : {};
}

/** A Graph answer no retry can fix, as the AzureError the product acts on. */
function refusal(call: GraphCall, status: number, error: GraphErrorBody, detail: AzureErrorDetail): AzureError {
  const code = error.code ?? String(status);
  const withPath = { ...detail, path: reportPath(call.url) };
  if (status === 401) {
    return new AzureError(
      'reauth_required',
      `Microsoft Graph refused aad-sync's access token even after a refresh (${code}): an admin must reauthorize.`,
      withPath,
    );
  }
  if (status === 403) {
    return new AzureError(
      'app_misconfigured',
      `Microsoft Graph refused ${call.purpose} (${code}: ${error.message ?? 'forbidden'}): aad-sync lacks a ` +
        'permission; grant admin consent for User.Read.All, GroupMember.Read.All and ProfilePhoto.Read.All on the ' +
        'app registration (in delegated mode the authorizing admin also needs to be able to read the directory), ' +
        'then reauthorize.',
      withPath,
    );
  }
  return new AzureError(
    'graph_unavailable',
    `Microsoft Graph answered ${status} ${code} while ${call.purpose}: ${error.message ?? 'no details'}.`,
    withPath,
  );
}

export type GraphSend = (call: GraphCall) => Promise<GraphAnswer>;

export interface GraphTransport {
  send: GraphSend;
  /** The retry policy in force, for callers that retry parts of an answer themselves ($batch items). */
  retry: RetryOptions;
  wait: (ms: number) => Promise<unknown>;
  random: () => number;
}

export function createGraphTransport(options: GraphTransportOptions): GraphTransport {
  const origin = graphOrigin(options.graphBaseUrl);
  const retry: RetryOptions = { ...DEFAULT_RETRY, ...options.retry };
  const wait = options.sleep ?? sleep;
  const random = options.random ?? Math.random;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const client = Client.init({
    baseUrl: origin,
    defaultVersion: 'v1.0',
    customHosts: graphCustomHosts(options.graphBaseUrl),
    // The token is handed to each request below, so errors getting it stay AzureErrors.
    authProvider: (done) => done(new Error('aad-sync passes the Graph token with each request'), null),
  });

  const build = (call: GraphCall, token: string): GraphRequest =>
    client
      .api(call.url)
      .headers(call.headers ?? {})
      .option('signal', AbortSignal.timeout(timeoutMs))
      .middlewareOptions([
        new RetryHandlerOptions(0, 0),
        new AuthenticationHandlerOptions({ getAccessToken: async () => token }),
      ])
      .responseType(ResponseType.RAW);

  const unavailable = (call: GraphCall, why: string, detail: AzureErrorDetail) =>
    new AzureError(
      'graph_unavailable',
      `Microsoft Graph did not answer while ${call.purpose} (${why}); aad-sync will try again at the next run.`,
      { path: reportPath(call.url), ...detail },
    );

  async function send(call: GraphCall): Promise<GraphAnswer> {
    if (/^https?:\/\//i.test(call.url) && !call.url.startsWith(`${origin}/`)) {
      throw new Error(`refusing to send the Graph token to ${new URL(call.url).origin}`);
    }
    const path = reportPath(call.url);
    let attempts = 0;
    let waitedMs = 0;
    let refreshed = false;
    let forceRefresh = false;
    for (;;) {
      const token = await options.getToken({ forceRefresh });
      forceRefresh = false;
      attempts++;
      const started = performance.now();
      let response: Response | undefined;
      let failure: unknown;
      try {
        const request = build(call, token);
        response = (await (call.method === 'POST' ? request.post(call.body) : request.get())) as Response;
      } catch (e) {
        failure = e;
      }
      const durationMs = performance.now() - started;
      options.onRequest?.({ path, method: call.method, status: response?.status ?? 0, durationMs });
      if (response) call.observe?.(response.status, response.headers);

      let retryAfterMs: number | undefined;
      let why: string;
      let detail: AzureErrorDetail = {};
      if (response) {
        const body = await readBody(response);
        const { status } = response;
        if (response.ok || call.accept?.includes(status)) return { status, headers: response.headers, body };
        const error = graphErrorOf(body);
        const requestId = response.headers.get('request-id') ?? undefined;
        detail = { status, graphCode: error.code, requestId };
        if (status === 401 && !refreshed) {
          refreshed = true;
          forceRefresh = true;
          attempts--;
          continue;
        }
        if (status === 401 || !RETRYABLE_STATUSES.has(status)) throw refusal(call, status, error, detail);
        retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), Date.now());
        why = status === 429 ? 'throttled with 429 Too Many Requests' : `HTTP ${status}`;
      } else {
        why = failure instanceof Error ? failure.message : String(failure);
      }
      const decision = decideRetry({ attempts, waitedMs, retryAfterMs }, retry, random());
      if (!decision.retry) throw unavailable(call, `${why}; gave up after ${decision.reason}`, { ...detail, attempts });
      await wait(decision.delayMs);
      waitedMs += decision.delayMs;
    }
  }

  return { send, retry, wait, random };
}
