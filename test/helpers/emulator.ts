import { realpathSync } from 'node:fs';
import { ConfidentialClientApplication, type Configuration } from '@azure/msal-node';
import { Client } from '@microsoft/microsoft-graph-client';
import { type EntraEmulator, type EntraEmulatorOptions, startEntraEmulator } from '../../src/emulators/entra/index.ts';

/**
 * Starts the Entra + Graph emulator for a test file and hands out what the unmodified MSAL and Graph
 * client need to talk to it like production: `knownAuthorities` (host:port, so MSAL skips Microsoft's
 * instance discovery) and `customHosts` (so the Graph client sends the bearer token to localhost).
 * The process must trust the emulator's certificate: test/global-setup.ts arranges that for Vitest.
 */

export interface TestEmulator {
  emulator: EntraEmulator;
  /** `https://localhost:PORT/<tenantId>`. */
  authority: string;
  /** `['localhost:PORT']` for MSAL's `auth.knownAuthorities`. */
  knownAuthorities: string[];
  /** `new Set(['localhost'])` for the Graph client's `customHosts`. */
  customHosts: Set<string>;
  /** A fresh MSAL client (fresh token cache and throttling state) for `authority` (default: the tenant). */
  msal(overrides?: { authority?: string; clientSecret?: string; clientId?: string }): ConfidentialClientApplication;
  /** A Graph client whose token comes from `token()` on every request. */
  graph(token: () => Promise<string>): Client;
  /** Calls the control API: `control('POST', 'faults', { throttleEvery: 2 })`. */
  control(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  close(): Promise<void>;
}

export async function startTestEmulator(options: EntraEmulatorOptions = {}): Promise<TestEmulator> {
  const emulator = await startEntraEmulator(options);
  assertTrusted(emulator.caCertPath);
  const host = new URL(emulator.authorityHost).host;
  const knownAuthorities = [host];
  const customHosts = new Set([new URL(emulator.graphBaseUrl).hostname]);
  return {
    emulator,
    authority: `${emulator.authorityHost}/${emulator.tenantId}`,
    knownAuthorities,
    customHosts,
    msal(overrides = {}) {
      const config: Configuration = {
        auth: {
          clientId: overrides.clientId ?? emulator.clientId,
          clientSecret: overrides.clientSecret ?? emulator.clientSecret,
          authority: overrides.authority ?? `${emulator.authorityHost}/${emulator.tenantId}`,
          knownAuthorities,
        },
      };
      return new ConfidentialClientApplication(config);
    },
    graph(token) {
      return Client.init({
        baseUrl: emulator.graphBaseUrl,
        defaultVersion: 'v1.0',
        customHosts,
        authProvider: (done) => {
          token().then(
            (value) => done(null, value),
            (error: unknown) => done(error as Error, null),
          );
        },
      });
    },
    async control(method, path, body) {
      const response = await fetch(`${emulator.graphBaseUrl}/_emulator/${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : undefined };
    },
    close: () => emulator.close(),
  };
}

function assertTrusted(certPath: string): void {
  const trusted = process.env.NODE_EXTRA_CA_CERTS;
  const same = (a: string, b: string) => {
    try {
      return realpathSync(a) === realpathSync(b);
    } catch {
      return false;
    }
  };
  if (!trusted || !same(trusted, certPath)) {
    throw new Error(
      `This process does not trust the emulator's certificate: start it with NODE_EXTRA_CA_CERTS=${certPath} ` +
        '(Vitest does this in test/global-setup.ts).',
    );
  }
}
