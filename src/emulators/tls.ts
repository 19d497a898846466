import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { generate } from 'selfsigned';

/**
 * The emulator's TLS identity: one self-signed certificate for `localhost`, `127.0.0.1` and `::1` that is
 * its own CA, so a process trusts it with `NODE_EXTRA_CA_CERTS=<certPath>` (read by Node at start-up only,
 * which is why test runners and the demo set it before forking). It is reused while valid, so the variable
 * can be set once and stay right across emulator restarts.
 */

export const DEFAULT_CERT_DIR = '.data/emulator-tls';
const CERT_FILE = 'cert.pem';
const KEY_FILE = 'key.pem';
const LOCK_FILE = 'generate.lock';
const VALID_DAYS = 365;
/** Regenerate this long before expiry so a long test run never crosses it. */
const RENEW_BEFORE_MS = 7 * 24 * 3600 * 1000;
const STALE_LOCK_MS = 30_000;

export interface EmulatorCertificate {
  certPath: string;
  keyPath: string;
  cert: string;
  key: string;
}

/** Returns a valid certificate from `dir`, generating one when it is missing, mismatched or near expiry. */
export async function ensureEmulatorCertificate(dir: string = DEFAULT_CERT_DIR): Promise<EmulatorCertificate> {
  const root = resolve(dir);
  await mkdir(root, { recursive: true });
  const existing = await readUsable(root);
  if (existing) return existing;
  return withLock(root, async () => (await readUsable(root)) ?? (await generateInto(root)));
}

async function readUsable(root: string): Promise<EmulatorCertificate | null> {
  const certPath = join(root, CERT_FILE);
  const keyPath = join(root, KEY_FILE);
  try {
    const [cert, key] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
    const x509 = new X509Certificate(cert);
    const names = x509.subjectAltName ?? '';
    const usable =
      x509.ca &&
      names.includes('DNS:localhost') &&
      names.includes('IP Address:127.0.0.1') &&
      new Date(x509.validTo).getTime() - Date.now() > RENEW_BEFORE_MS &&
      new Date(x509.validFrom).getTime() <= Date.now() &&
      x509.checkPrivateKey(createPrivateKey(key));
    return usable ? { certPath, keyPath, cert, key } : null;
  } catch {
    return null;
  }
}

async function generateInto(root: string): Promise<EmulatorCertificate> {
  const now = Date.now();
  const pems = await generate([{ name: 'commonName', value: 'aad-sync emulator (localhost)' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    // A minute of slack for clocks of child processes that read the file right away.
    notBeforeDate: new Date(now - 60_000),
    notAfterDate: new Date(now + VALID_DAYS * 24 * 3600 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  const certPath = join(root, CERT_FILE);
  const keyPath = join(root, KEY_FILE);
  await writeAtomically(keyPath, pems.private, 0o600);
  await writeAtomically(certPath, pems.cert, 0o644);
  return { certPath, keyPath, cert: pems.cert, key: pems.private };
}

async function writeAtomically(path: string, content: string, mode: number): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, content, { mode });
  await rename(temporary, path);
}

/** Several processes (test workers, a CLI) may start at once; only one generates, the others wait for it. */
async function withLock<T>(root: string, work: () => Promise<T>): Promise<T> {
  const lockPath = join(root, LOCK_FILE);
  const deadline = Date.now() + 2 * STALE_LOCK_MS;
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const age = await stat(lockPath).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > STALE_LOCK_MS) await rm(lockPath, { force: true });
      else if (Date.now() > deadline) throw new Error(`timed out waiting for ${lockPath}`);
      else await sleep(50);
    }
  }
  try {
    return await work();
  } finally {
    await rm(lockPath, { force: true });
  }
}
