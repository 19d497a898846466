import { realpathSync } from 'node:fs';
import { ConfidentialClientApplication, type Configuration } from '@azure/msal-node';
import { Client, GraphError, type PageCollection, PageIterator } from '@microsoft/microsoft-graph-client';
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
  /**
   * Grants application consent (with `roles`, default: the registration's) and returns a Graph client using
   * client-credential tokens from a fresh MSAL client.
   */
  appGraph(roles?: string[]): Promise<Client>;
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
  const test: TestEmulator = {
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
    async appGraph(roles) {
      const granted = await test.control('POST', 'consent', roles ? { roles } : {});
      if (granted.status !== 200) throw new Error(`consent failed: ${JSON.stringify(granted.body)}`);
      const cca = test.msal();
      return test.graph(async () => {
        const result = await cca.acquireTokenByClientCredential({ scopes: ['https://graph.microsoft.com/.default'] });
        return result!.accessToken;
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
  return test;
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

/** The GraphError a call fails with (fails the test when it succeeds or fails otherwise). */
export async function graphError(promise: Promise<unknown>): Promise<GraphError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof GraphError) return error;
    throw error;
  }
  throw new Error('expected the Graph call to fail');
}

/** Every item of a collection from its first page on, through PageIterator; also returns the deltaLink. */
export async function readAllPages<T>(
  client: Client,
  first: PageCollection,
  headers?: Record<string, string>,
): Promise<{ items: T[]; deltaLink: string | undefined }> {
  const items: T[] = [];
  const iterator = new PageIterator(
    client,
    first,
    (item) => {
      items.push(item as T);
      return true;
    },
    headers ? { headers } : undefined,
  );
  await iterator.iterate();
  return { items, deltaLink: iterator.getDeltaLink() };
}
