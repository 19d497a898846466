import { createPublicKey, generateKeyPairSync, type KeyObject, randomUUID, sign, verify } from 'node:crypto';

/**
 * RS256 tokens like Entra's. MSAL never checks the id_token signature, but the emulated Graph checks the
 * access token's, so a token that did not come from this emulator (or was edited) is refused as Graph would.
 */

export type Claims = Record<string, unknown>;

export class TokenSigner {
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;
  readonly keyId = randomUUID().replace(/-/g, '').slice(0, 27);

  constructor() {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.privateKey = pair.privateKey;
    this.publicKey = pair.publicKey;
  }

  sign(claims: Claims): string {
    const header = encode({ typ: 'JWT', alg: 'RS256', kid: this.keyId });
    const payload = encode(claims);
    const signature = sign('sha256', Buffer.from(`${header}.${payload}`), this.privateKey).toString('base64url');
    return `${header}.${payload}.${signature}`;
  }

  /** The claims of a token this signer issued, or null for anything else. */
  verify(token: string): Claims | null {
    const parts = token.split('.');
    if (parts.length !== 3) return null;
    const [header, payload, signature] = parts;
    try {
      const valid = verify(
        'sha256',
        Buffer.from(`${header}.${payload}`),
        this.publicKey,
        Buffer.from(signature, 'base64url'),
      );
      return valid ? (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Claims) : null;
    } catch {
      return null;
    }
  }

  /** The JWKS document served at `jwks_uri`. */
  jwks(): { keys: object[] } {
    const jwk = createPublicKey(this.publicKey).export({ format: 'jwk' });
    return { keys: [{ kty: 'RSA', use: 'sig', kid: this.keyId, n: jwk.n, e: jwk.e }] };
  }
}

function encode(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
