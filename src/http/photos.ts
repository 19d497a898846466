import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sign, verifySignature } from '../crypto.ts';
import type { Queryable } from '../directory/people.ts';
import { readProfilePhoto } from '../directory/profile-photo.ts';

/**
 * `GET /photos/:signed`: profile photos for /whois cards. Slack fetches card images from the open internet,
 * so the URL itself is the permission: `<profile id>.<expiry>.<etag>.<HMAC>`, signed with a key derived from
 * ENCRYPTION_KEY. A link names one version of one photo and dies at its expiry.
 */

export const PHOTO_URL_TTL_SECONDS = 7 * 24 * 3600;
const TOKEN = /^(\d{1,15})\.(\d{1,12})\.([A-Za-z0-9_-]{0,400})\.([A-Za-z0-9_-]{43})$/;
const IMAGE_TYPES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp', 'image/bmp']);

/** A key of its own for photo links, so that a leaked link says nothing about the encryption key. */
export function photoSigningKey(encryptionKey: Buffer): Buffer {
  return Buffer.from(sign(encryptionKey, 'aad-sync photo links v1'), 'base64url');
}

const payloadOf = (profileId: string, expires: string, etag: string) => `photo:${profileId}:${expires}:${etag}`;

export function signPhotoUrl(
  publicUrl: string,
  key: Buffer,
  profileId: number,
  etag: string,
  ttlSeconds = PHOTO_URL_TTL_SECONDS,
  now = Date.now(),
): string {
  const expires = String(Math.floor(now / 1000) + ttlSeconds);
  const etagPart = Buffer.from(etag).toString('base64url');
  const signature = sign(key, payloadOf(String(profileId), expires, etagPart));
  return `${publicUrl.replace(/\/+$/, '')}/photos/${profileId}.${expires}.${etagPart}.${signature}`;
}

export type PhotoToken = { profileId: number; etag: string; expiresAt: number };

/** The link's contents when its signature holds and it has not expired; undefined otherwise. */
export function verifyPhotoToken(key: Buffer, token: string, now = Date.now()): PhotoToken | undefined {
  const m = TOKEN.exec(token);
  if (!m) return undefined;
  const [, id, expires, etagPart, signature] = m;
  if (!verifySignature(key, payloadOf(id, expires, etagPart), signature)) return undefined;
  const expiresAt = Number(expires) * 1000;
  if (expiresAt <= now) return undefined;
  return { profileId: Number(id), etag: Buffer.from(etagPart, 'base64url').toString(), expiresAt };
}

/**
 * Slack cannot load images from addresses only this machine or network can reach; a card then goes without
 * a photo instead of showing a broken one.
 */
export function isPubliclyReachable(publicUrl: string): boolean {
  let host: string;
  try {
    const url = new URL(publicUrl);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return false;
    host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  } catch {
    return false;
  }
  if (host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.local') || host.endsWith('.internal')) {
    return false;
  }
  if (host === '::1' || host === '::' || /^(fc|fd|fe80)/.test(host)) return false;
  const v4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(host)?.slice(1).map(Number);
  if (!v4) return host.includes('.') || host.includes(':');
  const [a, b] = v4;
  return !(
    a === 0 ||
    a === 10 ||
    a === 127 ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b < 32) ||
    (a === 192 && b === 168)
  );
}

function httpEtag(profileId: number, etag: string): string {
  return `"${profileId}-${createHash('sha256').update(etag).digest('base64url').slice(0, 22)}"`;
}

function matchesIfNoneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((candidate) => {
    const value = candidate.trim();
    return value === '*' || value.replace(/^W\//, '') === etag;
  });
}

function plain(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(`${message}\n`);
}

export interface PhotoRouteOptions {
  sql: Queryable;
  signingKey: Buffer;
  now?: () => number;
}

/** A Node request handler for `/photos/:signed` (mount it on that path prefix). */
export function createPhotoHandler(options: PhotoRouteOptions) {
  const now = options.now ?? Date.now;
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return plain(res, 405, 'Method not allowed', { allow: 'GET, HEAD' });
    const path = (req.url ?? '').split('?')[0];
    const token = path.startsWith('/photos/') ? path.slice('/photos/'.length) : '';
    const at = now();
    const link = verifyPhotoToken(options.signingKey, token, at);
    if (!link) return plain(res, 403, 'This photo link is invalid or has expired.');
    let photo: Awaited<ReturnType<typeof readProfilePhoto>>;
    try {
      photo = await readProfilePhoto(options.sql, link.profileId);
    } catch {
      return plain(res, 503, 'The directory is unavailable; try again shortly.');
    }
    // A photo replaced since the link was made is another photo: the card that holds the link is stale.
    if (!photo || photo.etag !== link.etag) return plain(res, 404, 'No such photo.');
    const etag = httpEtag(link.profileId, photo.etag);
    const headers = {
      etag,
      'cache-control': `private, max-age=${Math.max(0, Math.floor((link.expiresAt - at) / 1000))}`,
      'x-content-type-options': 'nosniff',
    };
    if (matchesIfNoneMatch(req.headers['if-none-match'], etag)) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    const mediaType = photo.contentType.split(';')[0].trim().toLowerCase();
    const contentType = IMAGE_TYPES.has(mediaType) ? mediaType : 'application/octet-stream';
    res.writeHead(200, { ...headers, 'content-type': contentType, 'content-length': String(photo.bytes.length) });
    res.end(req.method === 'HEAD' ? undefined : photo.bytes);
  };
}
