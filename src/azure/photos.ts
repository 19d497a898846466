import { AzureError } from './errors.ts';
import type { GraphTransport } from './graph-transport.ts';
import type { PhotoRequest, PhotoResult } from './graph-types.ts';
import { imageSize } from './image-size.ts';
import { pathSegment } from './odata-query.ts';
import { decideRetry, parseRetryAfter, RETRYABLE_STATUSES } from './retry-policy.ts';

/**
 * Profile photos through `$batch`, 20 requests per batch, each user costing one batch slot when nothing
 * changed: a photo we hold is checked by its metadata (`@odata.mediaEtag`) and downloaded only when the
 * etag moved; a photo we do not hold is downloaded directly. Items Graph throttles inside a batch are
 * retried in a later batch after their own Retry-After.
 *
 * Someone without a photo is a 404 ImageNotFound — or, from some tenants, a 1×1 image whose
 * `@odata.mediaEtag` is empty. That placeholder is "no photo" too: it is never stored or shown.
 */

const BATCH_LIMIT = 20;

interface Pending {
  userId: string;
  step: 'metadata' | 'content';
  knownEtag: string | null;
  etag?: string | null;
  contentType?: string;
  attempts: number;
  waitedMs: number;
  notBefore: number;
}

interface BatchItemResponse {
  id: string;
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

function header(headers: Record<string, string> | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : headers[key];
}

function decodeContent(body: unknown): Uint8Array | null {
  // JSON batching carries binary bodies as base64 strings.
  if (typeof body !== 'string') return null;
  return new Uint8Array(Buffer.from(body, 'base64'));
}

/** Graph's stand-in for a missing photo: an empty etag or a 1×1 picture. */
function isPlaceholder(meta: Record<string, unknown>): boolean {
  return meta['@odata.mediaEtag'] === '' || (meta.width === 1 && meta.height === 1);
}

function isPlaceholderImage(bytes: Uint8Array): boolean {
  const size = imageSize(bytes);
  return size !== null && size.width <= 1 && size.height <= 1;
}

function reasonOf(item: BatchItemResponse): string {
  const error = (item.body as { error?: { code?: string; message?: string } } | undefined)?.error;
  return error?.code ? `${error.code}: ${error.message ?? ''}`.trim() : `HTTP ${item.status}`;
}

export async function* photos(
  transport: GraphTransport,
  requests: readonly PhotoRequest[],
): AsyncGenerator<PhotoResult> {
  const queue: Pending[] = requests.map((r) => ({
    userId: r.userId,
    step: r.knownEtag ? 'metadata' : 'content',
    knownEtag: r.knownEtag ?? null,
    attempts: 0,
    waitedMs: 0,
    notBefore: 0,
  }));

  while (queue.length > 0) {
    const now = Date.now();
    const batch: Pending[] = [];
    for (let i = 0; i < queue.length && batch.length < BATCH_LIMIT; ) {
      if (queue[i].notBefore <= now) batch.push(...queue.splice(i, 1));
      else i++;
    }
    if (batch.length === 0) {
      await transport.wait(Math.min(...queue.map((p) => p.notBefore)) - now);
      continue;
    }
    const answer = await transport.send({
      method: 'POST',
      url: '/$batch',
      body: {
        requests: batch.map((p, i) => ({
          id: String(i + 1),
          method: 'GET',
          url: `/users/${pathSegment(p.userId)}/photo${p.step === 'content' ? '/$value' : ''}`,
        })),
      },
      purpose: 'reading profile photos',
    });
    const responses = new Map(
      ((answer.body as { responses?: BatchItemResponse[] })?.responses ?? []).map((r) => [String(r.id), r]),
    );

    for (const [i, pending] of batch.entries()) {
      const item = responses.get(String(i + 1)) ?? { id: String(i + 1), status: 503 };
      const { userId } = pending;
      if (item.status === 200 && pending.step === 'metadata') {
        const meta = (item.body ?? {}) as Record<string, unknown>;
        const etag = typeof meta['@odata.mediaEtag'] === 'string' ? meta['@odata.mediaEtag'] : null;
        if (isPlaceholder(meta)) {
          yield { kind: 'none', userId };
        } else if (etag !== null && etag === pending.knownEtag) {
          yield { kind: 'unchanged', userId, etag };
        } else {
          const contentType =
            typeof meta['@odata.mediaContentType'] === 'string' ? meta['@odata.mediaContentType'] : undefined;
          queue.push({ ...pending, step: 'content', etag, contentType, attempts: 0, waitedMs: 0, notBefore: 0 });
        }
      } else if (item.status === 200) {
        const bytes = decodeContent(item.body);
        if (!bytes) {
          yield { kind: 'failed', userId, status: 200, reason: 'the photo came back in a form aad-sync cannot read' };
          continue;
        }
        if (isPlaceholderImage(bytes)) {
          yield { kind: 'none', userId };
          continue;
        }
        const contentType = header(item.headers, 'content-type') ?? pending.contentType ?? 'image/jpeg';
        const etag = pending.etag ?? header(item.headers, 'etag') ?? null;
        yield { kind: 'photo', userId, etag, contentType, bytes };
      } else if (item.status === 404) {
        yield { kind: 'none', userId };
      } else if (item.status === 403) {
        throw new AzureError(
          'app_misconfigured',
          `Microsoft Graph refused to show profile photos (${reasonOf(item)}): grant admin consent for ProfilePhoto.Read.All, then reauthorize.`,
          { status: 403, path: '/users/{id}/photo' },
        );
      } else if (RETRYABLE_STATUSES.has(item.status)) {
        const attempts = pending.attempts + 1;
        const retryAfterMs = parseRetryAfter(header(item.headers, 'retry-after'), now);
        const decision = decideRetry(
          { attempts, waitedMs: pending.waitedMs, retryAfterMs },
          transport.retry,
          transport.random(),
        );
        if (!decision.retry) {
          throw new AzureError(
            'graph_unavailable',
            `Microsoft Graph kept refusing profile photos (HTTP ${item.status}; gave up after ${decision.reason}); aad-sync will try again at the next run.`,
            { status: item.status, attempts, path: '/$batch' },
          );
        }
        queue.push({
          ...pending,
          attempts,
          waitedMs: pending.waitedMs + decision.delayMs,
          notBefore: Date.now() + decision.delayMs,
        });
      } else {
        yield { kind: 'failed', userId, status: item.status, reason: reasonOf(item) };
      }
    }
  }
}
