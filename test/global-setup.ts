import { ensureEmulatorCertificate } from '../src/emulators/tls.ts';

/**
 * Runs once in Vitest's main process before any worker is forked. Node reads NODE_EXTRA_CA_CERTS only at
 * start-up, so it must be in the environment the workers inherit: then MSAL's fetch and the Graph client
 * in every test file trust the emulator's self-signed certificate (no NODE_TLS_REJECT_UNAUTHORIZED=0).
 */
export default async function setup(): Promise<void> {
  const { certPath } = await ensureEmulatorCertificate();
  process.env.NODE_EXTRA_CA_CERTS = certPath;
}
