import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decrypt } from '../../src/crypto.ts';
import { runDemoScript } from '../../src/demo/script.ts';
import { type DemoStack, startDemoStack } from '../../src/demo/stack.ts';
import { Transcript } from '../../src/demo/transcript.ts';

/**
 * A full run of the product (the demo's story: sign-in, wizard, three syncs with photos, /whois, status)
 * with the app logging at `debug` into a buffer, then a search of every line for every secret it handled:
 * configuration secrets, and the tokens, authorization code and PKCE verifier of the actual sign-in.
 */

function collector() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, stream };
}

/** Every `secret` in a serialized MSAL token cache: access, refresh and id tokens. */
function cacheSecrets(serialized: string): Record<string, string[]> {
  const cache = JSON.parse(serialized) as Record<string, Record<string, { secret?: string }>>;
  const of = (kind: string) =>
    Object.values(cache[kind] ?? {})
      .map((entry) => entry.secret)
      .filter((s): s is string => typeof s === 'string');
  return { access: of('AccessToken'), refresh: of('RefreshToken'), id: of('IdToken') };
}

describe('logs of a full run', () => {
  const logs = collector();
  const transcript = collector();
  const requested: string[] = [];
  let stack: DemoStack;
  const secrets: Record<string, string[]> = {};
  const realFetch = globalThis.fetch;

  beforeAll(async () => {
    // Observes (does not change) the browser's requests, to learn the authorization code it carried.
    globalThis.fetch = (input, init) => {
      requested.push(input instanceof Request ? input.url : String(input));
      return realFetch(input, init);
    };
    stack = await startDemoStack({ logs: logs.stream, logLevel: 'debug' });
    await runDemoScript(stack, new Transcript(transcript.stream, { color: false }));

    const [source] = await stack.sql<{ id: string; token_cache: string }[]>`select id, token_cache from sources`;
    const key = Buffer.from(stack.secrets.encryptionKey, 'base64');
    const tokens = cacheSecrets(decrypt(key, source.token_cache, source.id));
    const requests = await stack.sql<{ id: string; pkce_verifier: string | null; nonce: string | null }[]>`
      select id, pkce_verifier, nonce from oauth_requests`;
    const sealed = (column: 'pkce_verifier' | 'nonce') =>
      requests.filter((r) => r[column]).map((r) => decrypt(key, r[column]!, r.id));
    const codes = requested
      .filter((url) => url.includes('/azure/callback?'))
      .map((url) => new URL(url).searchParams.get('code'))
      .filter((c): c is string => Boolean(c));
    Object.assign(secrets, {
      ...tokens,
      'authorization code': codes,
      'PKCE verifier': sealed('pkce_verifier'),
      nonce: sealed('nonce'),
      'client secret': [stack.secrets.clientSecret],
      'Slack bot token': [stack.secrets.botToken],
      'Slack signing secret': [stack.secrets.signingSecret],
      ENCRYPTION_KEY: [stack.secrets.encryptionKey],
      'sealed token cache': [source.token_cache],
    });
  }, 120_000);

  afterAll(async () => {
    globalThis.fetch = realFetch;
    await stack?.stop();
  });

  it('found every kind of secret the run handled, so the search below means something', () => {
    for (const [kind, values] of Object.entries(secrets)) {
      expect(values.length, kind).toBeGreaterThan(0);
      for (const value of values) expect(value.length, kind).toBeGreaterThanOrEqual(16);
    }
    expect(logs.lines.length).toBeGreaterThan(50);
  });

  it('writes JSON lines with a level, a time and a message', () => {
    for (const line of logs.lines) {
      const record = JSON.parse(line) as Record<string, unknown>;
      expect(typeof record.level, line).toBe('number');
      expect(typeof record.time, line).toBe('string');
      expect(typeof record.msg, line).toBe('string');
    }
    const levels = new Set(logs.lines.map((l) => (JSON.parse(l) as { level: number }).level));
    expect(levels.has(20), 'debug lines were written').toBe(true);
  });

  it('never logs a token, code, verifier, key or secret', () => {
    const text = logs.lines.join('\n');
    const leaks = Object.entries(secrets).flatMap(([kind, values]) =>
      values.filter((v) => text.includes(v)).map((v) => `${kind}: ${v.slice(0, 6)}…`),
    );
    expect(leaks).toEqual([]);
    // A token's signature alone would be a leak too: JWTs are logged neither whole nor in part.
    expect(text).not.toMatch(/eyJ[\w-]{10,}\.[\w-]{10,}\./);
  });

  it('keeps them out of the transcript as well', () => {
    const text = transcript.lines.join('\n');
    const leaks = Object.entries(secrets).flatMap(([kind, values]) =>
      values.filter((v) => text.includes(v)).map(() => kind),
    );
    expect(leaks).toEqual([]);
  });
});
