import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

/**
 * Handlers take a parsed request and return a reply value instead of writing to a socket, so a `$batch`
 * item runs through exactly the same code as a direct call.
 */

export interface EmulatorRequest {
  method: string;
  /** Path without the query, percent-decoded. */
  path: string;
  /** Raw query string without the leading `?` (Graph tokens and nextLinks are rebuilt from it). */
  rawQuery: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface EmulatorReply {
  status: number;
  headers?: Record<string, string>;
  /** Objects are sent as JSON; strings and buffers as they are. */
  body?: unknown;
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): EmulatorReply {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body };
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function html(status: number, title: string, message: string): EmulatorReply {
  return {
    status,
    headers: { 'content-type': 'text/html; charset=utf-8' },
    body: `<!doctype html><html><head><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p></body></html>`,
  };
}

export function redirect(location: string): EmulatorReply {
  return { status: 302, headers: { location, 'cache-control': 'no-store' } };
}

/** Graph's timestamp format: ISO 8601 to the second, UTC (`2019-01-07T09:54:30Z`). */
export function graphTimestamp(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

const MAX_BODY = 10 * 1024 * 1024;

export async function readRequest(message: IncomingMessage): Promise<EmulatorRequest> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of message) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  return parseTarget(message.method ?? 'GET', message.url ?? '/', message.headers, Buffer.concat(chunks));
}

export function parseTarget(
  method: string,
  target: string,
  headers: IncomingHttpHeaders,
  body: Buffer,
): EmulatorRequest {
  const queryAt = target.indexOf('?');
  const rawPath = queryAt < 0 ? target : target.slice(0, queryAt);
  const rawQuery = queryAt < 0 ? '' : target.slice(queryAt + 1);
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    path = rawPath;
  }
  return { method: method.toUpperCase(), path, rawQuery, query: new URLSearchParams(rawQuery), headers, body };
}

export function header(request: EmulatorRequest, name: string): string | undefined {
  const value = request.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** Form fields of an `application/x-www-form-urlencoded` body (the token endpoint's only format). */
export function formBody(request: EmulatorRequest): URLSearchParams {
  return new URLSearchParams(request.body.toString('utf8'));
}

export function jsonBody(request: EmulatorRequest): unknown {
  const text = request.body.toString('utf8').trim();
  if (text === '') return undefined;
  return JSON.parse(text);
}
