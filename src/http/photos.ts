import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Queryable } from '../directory/people.ts';
import { photoVersion, verifyPhotoToken } from '../directory/photo-links.ts';
import { readProfilePhoto } from '../directory/profile-photo.ts';

/** `GET /photos/:signed`: profile photos for /whois cards, behind the signed links of directory/photo-links.ts. */

const IMAGE_TYPES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp', 'image/bmp']);

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
    if (!photo || photoVersion(photo.etag) !== link.version) return plain(res, 404, 'No such photo.');
    const etag = `"${link.profileId}-${link.version}"`;
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
