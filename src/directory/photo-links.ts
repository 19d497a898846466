import { createHash } from 'node:crypto';
import { sign, verifySignature } from '../crypto.ts';

/**
 * Signed links to profile photos. Slack fetches card images from the open internet, so the link itself is
 * the permission: `<profile id>.<expiry>.<photo version>.<HMAC>`, signed with a key derived from
 * ENCRYPTION_KEY. A link names one version of one photo (a digest of its etag) and dies at its expiry. Served by src/http/photos.ts.
 */

export const PHOTO_URL_TTL_SECONDS = 7 * 24 * 3600;
const TOKEN = /^(\d{1,15})\.(\d{1,12})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

/** A key of its own for photo links, so that a leaked link says nothing about the encryption key. */
export function photoSigningKey(encryptionKey: Buffer): Buffer {
  return Buffer.from(sign(encryptionKey, 'aad-sync photo links v1'), 'base64url');
}

const payloadOf = (profileId: string, expires: string, version: string) => `photo:${profileId}:${expires}:${version}`;

/** A short, fixed-length name for one version of a photo; also its HTTP ETag. */
export function photoVersion(etag: string): string {
  return createHash('sha256').update(etag).digest('base64url').slice(0, 22);
}

export function signPhotoUrl(
  publicUrl: string,
  key: Buffer,
  profileId: number,
  etag: string,
  ttlSeconds = PHOTO_URL_TTL_SECONDS,
  now = Date.now(),
): string {
  const expires = String(Math.floor(now / 1000) + ttlSeconds);
  const version = photoVersion(etag);
  const signature = sign(key, payloadOf(String(profileId), expires, version));
  return `${publicUrl.replace(/\/+$/, '')}/photos/${profileId}.${expires}.${version}.${signature}`;
}

export type PhotoToken = { profileId: number; version: string; expiresAt: number };

/** The link's contents when its signature holds and it has not expired; undefined otherwise. */
export function verifyPhotoToken(key: Buffer, token: string, now = Date.now()): PhotoToken | undefined {
  const m = TOKEN.exec(token);
  if (!m) return undefined;
  const [, id, expires, version, signature] = m;
  if (!verifySignature(key, payloadOf(id, expires, version), signature)) return undefined;
  const expiresAt = Number(expires) * 1000;
  if (expiresAt <= now) return undefined;
  return { profileId: Number(id), version, expiresAt };
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
