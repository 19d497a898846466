import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Authenticated encryption for secrets at rest (MSAL token caches, PKCE verifiers).
 * Format: `v1.<iv>.<tag>.<ciphertext>`, each part base64url. The version prefix lets a later key or
 * algorithm change read old rows; `context` (e.g. the source id) is bound as associated data so a
 * ciphertext copied onto another row does not decrypt.
 */

const VERSION = 'v1';
const IV_BYTES = 12;

export class DecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecryptionError';
  }
}

function checkKey(key: Buffer) {
  if (key.length !== 32) throw new Error('encryption key must be 32 bytes');
}

export function encrypt(key: Buffer, plaintext: string, context = ''): string {
  checkKey(key);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(`${VERSION}:${context}`));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [
    VERSION,
    iv.toString('base64url'),
    cipher.getAuthTag().toString('base64url'),
    body.toString('base64url'),
  ].join('.');
}

export function decrypt(key: Buffer, sealed: string, context = ''): string {
  checkKey(key);
  const parts = sealed.split('.');
  if (parts.length !== 4) throw new DecryptionError('ciphertext is malformed');
  const [version, iv, tag, body] = parts;
  if (version !== VERSION) throw new DecryptionError(`unknown ciphertext version "${version.slice(0, 8)}"`);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(`${VERSION}:${context}`));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    throw new DecryptionError('ciphertext was tampered with, or was sealed with another key');
  }
}

/** HMAC-SHA256 over `payload`, base64url; used for signed photo URLs. */
export function sign(key: Buffer, payload: string): string {
  return createHmac('sha256', key).update(payload).digest('base64url');
}

export function verifySignature(key: Buffer, payload: string, signature: string): boolean {
  const expected = Buffer.from(sign(key, payload));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

export function randomToken(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}
