import { describe, expect, it } from 'vitest';
import { DecryptionError, decrypt, encrypt, sign, verifySignature } from '../src/crypto.ts';

const key = Buffer.alloc(32, 1);
const otherKey = Buffer.alloc(32, 2);

describe('encrypt / decrypt', () => {
  it('round-trips and never repeats a ciphertext', () => {
    const a = encrypt(key, '{"RefreshToken":{}}', 'source-1');
    const b = encrypt(key, '{"RefreshToken":{}}', 'source-1');
    expect(a).not.toBe(b);
    expect(a.startsWith('v1.')).toBe(true);
    expect(a).not.toContain('RefreshToken');
    expect(decrypt(key, a, 'source-1')).toBe('{"RefreshToken":{}}');
  });

  it('detects a flipped bit in every part', () => {
    const sealed = encrypt(key, 'secret cache', 'ctx');
    const parts = sealed.split('.');
    for (const index of [1, 2, 3]) {
      const raw = Buffer.from(parts[index], 'base64url');
      raw[0] ^= 1;
      const tampered = parts.map((p, i) => (i === index ? raw.toString('base64url') : p)).join('.');
      expect(() => decrypt(key, tampered, 'ctx')).toThrow(DecryptionError);
    }
  });

  it('refuses another key, another context, unknown versions and garbage', () => {
    const sealed = encrypt(key, 'secret', 'source-1');
    expect(() => decrypt(otherKey, sealed, 'source-1')).toThrow(/tampered|another key/);
    expect(() => decrypt(key, sealed, 'source-2')).toThrow(DecryptionError);
    expect(() => decrypt(key, sealed.replace(/^v1/, 'v9'), 'source-1')).toThrow(/unknown ciphertext version/);
    expect(() => decrypt(key, 'not-a-ciphertext', 'source-1')).toThrow(/malformed/);
  });

  it('insists on a 32-byte key', () => {
    expect(() => encrypt(Buffer.alloc(16), 'x')).toThrow(/32 bytes/);
  });
});

describe('sign / verifySignature', () => {
  it('accepts its own signature and nothing else', () => {
    const signature = sign(key, 'photo:42:1700000000');
    expect(verifySignature(key, 'photo:42:1700000000', signature)).toBe(true);
    expect(verifySignature(key, 'photo:43:1700000000', signature)).toBe(false);
    expect(verifySignature(otherKey, 'photo:42:1700000000', signature)).toBe(false);
    expect(verifySignature(key, 'photo:42:1700000000', signature.slice(1))).toBe(false);
  });
});
