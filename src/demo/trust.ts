import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { childEnvironment, processFacts } from '../config.ts';
import { ensureEmulatorCertificate } from '../emulators/tls.ts';

/**
 * The demo and the benchmarks talk to the emulator over HTTPS with the real MSAL, Graph client and fetch,
 * so this process must trust the emulator's certificate. Node reads NODE_EXTRA_CA_CERTS only at start-up:
 * when it does not point at the certificate yet, the same command is run again in a child that has it
 * (never NODE_TLS_REJECT_UNAUTHORIZED). A certificate bundle the user already trusts is kept beside ours.
 */

/**
 * Null when NODE_EXTRA_CA_CERTS (`current`) already names the emulator's certificate or our bundle with it;
 * otherwise the file to run again with: the certificate, or a bundle of `current`'s certificates and it.
 */
export function fileToTrust(certPath: string, current: string | undefined): string | null {
  const cert = path.resolve(certPath);
  const bundle = path.join(path.dirname(cert), 'trust-bundle.pem');
  if (current && [cert, bundle].includes(path.resolve(current))) return null;
  if (!current) return cert;
  writeFileSync(bundle, `${readFileSync(current, 'utf8').trim()}\n${readFileSync(cert, 'utf8').trim()}\n`);
  return bundle;
}

/**
 * Runs this command again with NODE_EXTRA_CA_CERTS=`file`, sharing the terminal, and resolves with its exit
 * code. Ctrl-C and SIGTERM reach the child, which cleans up before this process exits with it.
 */
function rerunTrusting(file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
      env: childEnvironment({ NODE_EXTRA_CA_CERTS: file }),
      stdio: 'inherit',
    });
    const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
    const onInt = forward('SIGINT');
    const onTerm = forward('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

/**
 * For a command that talks to the emulator: null when this process already trusts its certificate; otherwise
 * the exit code of the same command run again in a child that does.
 */
export async function rerunUnlessTrusted(): Promise<number | null> {
  const { certPath } = await ensureEmulatorCertificate();
  const file = fileToTrust(certPath, processFacts().extraCaCerts);
  return file ? rerunTrusting(file) : null;
}
