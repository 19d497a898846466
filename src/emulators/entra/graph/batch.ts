import type { IncomingHttpHeaders } from 'node:http';
import { type EmulatorReply, type EmulatorRequest, jsonBody, parseTarget } from '../http.ts';
import type { EmulatorState } from '../state.ts';
import type { GraphContext } from './context.ts';

/**
 * POST /v1.0/$batch: up to 20 requests with relative URLs, answered together with a status, headers
 * and body each. Items go through the same faults, token check and routes as direct requests, so an item
 * can be throttled on its own (429 with its own Retry-After) while its neighbours succeed. An item whose
 * `dependsOn` failed gets 424. Binary bodies (photos) come back base64-encoded. Answers come in any order.
 */

const MAX_REQUESTS = 20;

interface BatchItem {
  id: string;
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
  dependsOn?: string[];
}

export type Serve = (
  state: EmulatorState,
  request: EmulatorRequest,
) => Promise<{ template: string; reply: EmulatorReply }>;

export async function batch(context: GraphContext, serve: Serve): Promise<EmulatorReply> {
  let payload: unknown;
  try {
    payload = jsonBody(context.request);
  } catch {
    return context.error(400, 'BadRequest', 'Invalid batch payload format.');
  }
  const requests = (payload as { requests?: unknown } | undefined)?.requests;
  if (!Array.isArray(requests) || requests.length === 0) {
    return context.error(400, 'BadRequest', 'Invalid batch payload format: "requests" must be a non-empty array.');
  }
  if (requests.length > MAX_REQUESTS) {
    return context.error(
      400,
      'BadRequest',
      `Batch request size limit exceeded. Maximum allowed limit is ${MAX_REQUESTS}.`,
    );
  }
  const problem = validate(requests);
  if (problem) return context.error(400, 'BadRequest', problem);
  const items = requests as BatchItem[];
  const order = executionOrder(items);
  if (!order) return context.error(400, 'BadRequest', 'The dependsOn graph of the batch contains a cycle.');

  const statuses = new Map<string, number>();
  const responses: Record<string, unknown>[] = [];
  for (const item of order) {
    const failedDependency = item.dependsOn?.find((id) => (statuses.get(id) ?? 0) >= 400);
    let reply: EmulatorReply;
    if (failedDependency) {
      reply = context.error(
        424,
        'FailedDependency',
        `Request ${item.id} depends on request ${failedDependency}, which failed.`,
      );
    } else {
      reply = await runItem(context, item, serve);
    }
    statuses.set(item.id, reply.status);
    responses.push({ id: item.id, status: reply.status, headers: itemHeaders(reply), body: itemBody(reply.body) });
  }
  return context.ok({ responses: shuffled(responses) });
}

/**
 * Graph answers batch items in no particular order ("Combine multiple HTTP requests using JSON batching",
 * learn.microsoft.com/graph/json-batching: responses may come back in a different order than the requests),
 * so clients must match them by `id`; shuffling makes a client that relies on the order fail here too.
 */
function shuffled<T>(items: T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function validate(requests: unknown[]): string | null {
  const ids = new Set<string>();
  for (const [index, entry] of requests.entries()) {
    const item = entry as Partial<BatchItem>;
    if (typeof item !== 'object' || item === null) return `Request ${index} is not an object.`;
    if (typeof item.id !== 'string' || item.id === '') return `Request ${index} has no id.`;
    if (ids.has(item.id)) return `Request id ${item.id} is used more than once.`;
    ids.add(item.id);
    if (typeof item.method !== 'string') return `Request ${item.id} has no method.`;
    if (typeof item.url !== 'string' || item.url === '') return `Request ${item.id} has no url.`;
    if (item.dependsOn !== undefined && !Array.isArray(item.dependsOn))
      return `dependsOn of request ${item.id} must be an array.`;
  }
  for (const entry of requests) {
    for (const dependency of (entry as BatchItem).dependsOn ?? []) {
      if (!ids.has(dependency)) return `Request ${(entry as BatchItem).id} depends on unknown request ${dependency}.`;
    }
  }
  return null;
}

/** Items in an order that runs every dependency first, or null when dependencies form a cycle. */
function executionOrder(items: BatchItem[]): BatchItem[] | null {
  const done = new Set<string>();
  const order: BatchItem[] = [];
  let pending = items;
  while (pending.length > 0) {
    const ready = pending.filter((item) => (item.dependsOn ?? []).every((id) => done.has(id)));
    if (ready.length === 0) return null;
    for (const item of ready) {
      order.push(item);
      done.add(item.id);
    }
    pending = pending.filter((item) => !done.has(item.id));
  }
  return order;
}

async function runItem(context: GraphContext, item: BatchItem, serve: Serve): Promise<EmulatorReply> {
  if (/^https?:/i.test(item.url)) return context.error(400, 'BadRequest', 'Batch request URLs must be relative.');
  const relative = item.url.replace(/^\/+/, '').replace(/^v1\.0\//i, '');
  if (/^\$batch\b/i.test(relative)) return context.error(400, 'BadRequest', 'Nested batch requests are not supported.');
  const headers: IncomingHttpHeaders = { authorization: context.request.headers.authorization };
  for (const [name, value] of Object.entries(item.headers ?? {})) headers[name.toLowerCase()] = value;
  const body = item.body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(item.body));
  const request = parseTarget(item.method, `/v1.0/${relative}`, headers, body);
  const { template, reply } = await serve(context.state, request);
  context.state.count(`$batch ${template}`);
  return reply;
}

function itemHeaders(reply: EmulatorReply): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(reply.headers ?? {})) {
    if (name === 'request-id' || name === 'client-request-id') continue;
    headers[name === 'retry-after' ? 'Retry-After' : name === 'content-type' ? 'Content-Type' : name] = value;
  }
  return headers;
}

function itemBody(body: unknown): unknown {
  if (Buffer.isBuffer(body)) return body.toString('base64');
  return body;
}
