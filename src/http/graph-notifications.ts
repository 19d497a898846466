import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { Logger } from '../logger.ts';

/**
 * `POST /graph/notifications` and `POST /graph/lifecycle`: public URLs Microsoft Graph posts to
 * ("Receive change notifications through webhooks", learn.microsoft.com/graph/change-notifications-delivery-webhooks).
 * - A `validationToken` query parameter is Graph's handshake: echo it as text/plain with 200 (Graph waits 10 s).
 * - Otherwise the body is a collection of notifications: size-limited, parsed, answered 202 at once; the
 *   checks against our subscriptions (id and clientState) and whatever follows happen after the answer,
 *   so Graph never waits on the database. Forged or unknown notifications are counted and dropped there.
 */

export const NOTIFICATIONS_PATH = '/graph/notifications';
export const LIFECYCLE_PATH = '/graph/lifecycle';

/** A POST of 100 plain notifications is ~70 KB; anything far beyond that is not from Graph. */
export const MAX_NOTIFICATION_BODY = 512 * 1024;
const MAX_VALIDATION_TOKEN = 1024;

const notification = z.object({
  subscriptionId: z.string().min(1).max(128),
  clientState: z.string().max(256).nullish(),
  lifecycleEvent: z.string().max(64).optional(),
});
const collection = z.object({ value: z.array(notification).min(1).max(1000) });

export type ParsedNotification = z.infer<typeof notification>;

export interface NotificationSink {
  changes(items: ParsedNotification[]): Promise<void>;
  lifecycle(items: ParsedNotification[]): Promise<void>;
  /** Bodies refused before any check: too large or not a notification collection. */
  refused(reason: 'too_large' | 'malformed'): void;
}

export interface GraphNotificationRoute {
  path: string;
  method: 'POST';
  handler(req: IncomingMessage, res: ServerResponse): void;
}

export function graphNotificationRoutes(options: { sink: NotificationSink; logger: Logger }): GraphNotificationRoute[] {
  const route = (path: string, deliver: (items: ParsedNotification[]) => Promise<void>): GraphNotificationRoute => ({
    path,
    method: 'POST',
    handler: (req, res) => {
      void receive(req, res, deliver, options).catch((error: unknown) => {
        options.logger.warn({ err: error, path }, 'could not read a Graph notification');
        if (!res.headersSent) reply(res, 400, 'text/plain', 'Bad request');
      });
    },
  });
  return [
    route(NOTIFICATIONS_PATH, (items) => options.sink.changes(items)),
    route(LIFECYCLE_PATH, (items) => options.sink.lifecycle(items)),
  ];
}

async function receive(
  req: IncomingMessage,
  res: ServerResponse,
  deliver: (items: ParsedNotification[]) => Promise<void>,
  options: { sink: NotificationSink; logger: Logger },
): Promise<void> {
  const token = new URL(req.url ?? '/', 'http://localhost').searchParams.get('validationToken');
  if (token !== null) {
    req.resume();
    if (token.length === 0 || token.length > MAX_VALIDATION_TOKEN) return reply(res, 400, 'text/plain', 'Bad request');
    return reply(res, 200, 'text/plain; charset=utf-8', token);
  }
  const body = await readLimited(req, MAX_NOTIFICATION_BODY);
  if (body === null) {
    options.sink.refused('too_large');
    res.setHeader('connection', 'close');
    reply(res, 413, 'text/plain', 'Payload too large');
    req.destroy();
    return;
  }
  const parsed = collection.safeParse(parseJson(body));
  if (!parsed.success) {
    options.sink.refused('malformed');
    return reply(res, 400, 'text/plain', 'Bad request');
  }
  reply(res, 202, 'text/plain', '');
  await deliver(parsed.data.value);
}

function reply(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' });
  res.end(body);
}

/** The body, or null as soon as it grows past `limit` (the rest is never buffered). */
async function readLimited(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return null;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}
