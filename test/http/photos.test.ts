import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  isPubliclyReachable,
  PHOTO_URL_TTL_SECONDS,
  photoSigningKey,
  photoVersion,
  signPhotoUrl,
  verifyPhotoToken,
} from '../../src/directory/photo-links.ts';
import { createPhotoHandler } from '../../src/http/photos.ts';
import { seedDirectory, TINY_PNG } from '../fixtures/people.ts';
import { startTestDatabase, type TestDatabase } from '../helpers/database.ts';

const key = photoSigningKey(Buffer.alloc(32, 7));
const otherKey = photoSigningKey(Buffer.alloc(32, 8));
let database: TestDatabase;
let directory: Awaited<ReturnType<typeof seedDirectory>>;
let server: Server;
let base: string;
// Whole seconds, as links count expiry in seconds.
let clock = Math.floor(Date.now() / 1000) * 1000;

beforeAll(async () => {
  database = await startTestDatabase();
  directory = await seedDirectory(database, 'T0PHOTOS', 5);
  const handler = createPhotoHandler({ sql: database.sql, signingKey: key, now: () => clock });
  server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await database?.stop();
});

const adeleUrl = (options: { etag?: string; ttl?: number; signingKey?: Buffer; id?: number } = {}) =>
  signPhotoUrl(
    base,
    options.signingKey ?? key,
    options.id ?? directory.id('adele'),
    options.etag ?? 'W/"adele-photo-1"',
    options.ttl ?? 3600,
    clock,
  );

describe('GET /photos/:signed', () => {
  it('serves the photo with its content type and caching headers', async () => {
    const response = await fetch(adeleUrl());
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/png');
    expect(response.headers.get('cache-control')).toBe('private, max-age=3600');
    expect(response.headers.get('etag')).toMatch(/^"\d+-[A-Za-z0-9_-]{22}"$/);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(Buffer.from(await response.arrayBuffer())).toEqual(TINY_PNG);
  });

  it('answers 304 to a matching If-None-Match, and 200 to another', async () => {
    const first = await fetch(adeleUrl());
    const etag = first.headers.get('etag')!;
    const again = await fetch(adeleUrl(), { headers: { 'if-none-match': `"nope", W/${etag}` } });
    expect(again.status).toBe(304);
    expect(again.headers.get('etag')).toBe(etag);
    expect(again.headers.get('cache-control')).toMatch(/^private, max-age=\d+$/);
    expect((await fetch(adeleUrl(), { headers: { 'if-none-match': '"other"' } })).status).toBe(200);
  });

  it('answers HEAD without a body, and refuses other methods', async () => {
    const head = await fetch(adeleUrl(), { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(TINY_PNG.length));
    const post = await fetch(adeleUrl(), { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('refuses tampered links with 403', async () => {
    const url = adeleUrl();
    const [, token] = url.split('/photos/');
    const [id, expires, etag, signature] = token.split('.');
    const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
    const tampered = [
      `${id}.${expires}.${etag}.${flip(signature)}`,
      `${directory.id('miriam')}.${expires}.${etag}.${signature}`,
      `${id}.${Number(expires) + 86_400}.${etag}.${signature}`,
      `${id}.${expires}.${photoVersion('W/"other"')}.${signature}`,
      `${id}.${expires}.${etag}`,
      `${id}.${expires}.${etag}.${signature}.extra`,
      '..%2e%2e%2fetc%2fpasswd',
      '',
    ];
    for (const bad of tampered) {
      const response = await fetch(`${base}/photos/${bad}`);
      expect(response.status, bad).toBe(403);
      expect(response.headers.get('cache-control')).toBe('no-store');
    }
    expect((await fetch(adeleUrl({ signingKey: otherKey }))).status).toBe(403);
  });

  it('refuses expired links with 403', async () => {
    const url = adeleUrl({ ttl: 60 });
    expect((await fetch(url)).status).toBe(200);
    clock += 61_000;
    try {
      expect((await fetch(url)).status).toBe(403);
    } finally {
      clock -= 61_000;
    }
  });

  it('answers 404 for a person without photo, a removed person, and a replaced photo', async () => {
    expect((await fetch(adeleUrl({ id: directory.id('megan'), etag: 'x' }))).status).toBe(404);
    expect((await fetch(adeleUrl({ id: directory.id('diego'), etag: 'W/"diego-photo-1"' }))).status).toBe(404);
    expect((await fetch(adeleUrl({ etag: 'W/"adele-photo-0"' }))).status).toBe(404);
  });
});

describe('photo links', () => {
  it('sign and verify round-trip, with the default time to live', () => {
    const now = 1_800_000_000_000;
    const url = signPhotoUrl('https://dir.example.com/', key, 42, 'W/"e.t|a g"', undefined, now);
    expect(url.startsWith('https://dir.example.com/photos/42.')).toBe(true);
    const token = url.split('/photos/')[1];
    expect(verifyPhotoToken(key, token, now)).toEqual({
      profileId: 42,
      version: photoVersion('W/"e.t|a g"'),
      expiresAt: now + PHOTO_URL_TTL_SECONDS * 1000,
    });
    expect(verifyPhotoToken(key, token, now + PHOTO_URL_TTL_SECONDS * 1000)).toBeUndefined();
    expect(verifyPhotoToken(otherKey, token, now)).toBeUndefined();
    const longEtag = signPhotoUrl('https://dir.example.com', key, 42, 'e'.repeat(5000), 60, now);
    expect(longEtag.length).toBeLessThan(150);
    expect(verifyPhotoToken(key, longEtag.split('/photos/')[1], now)?.version).toBe(photoVersion('e'.repeat(5000)));
  });

  it('are made only for addresses Slack can reach', () => {
    for (const url of ['https://aad-sync.example.com', 'http://203.0.113.5:3000', 'https://[2001:db8::1]']) {
      expect(isPubliclyReachable(url), url).toBe(true);
    }
    for (const url of [
      'http://localhost:3000',
      'http://127.0.0.1:3000',
      'http://10.1.2.3',
      'http://192.168.1.10',
      'http://172.20.0.5',
      'http://169.254.169.254',
      'http://[::1]:3000',
      'http://app.local',
      'http://intranet',
      'ftp://example.com',
      'not a url',
    ]) {
      expect(isPubliclyReachable(url), url).toBe(false);
    }
  });
});
