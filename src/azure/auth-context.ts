import type { ConfidentialClientApplication } from '@azure/msal-node';
import type { AppRegistration } from './msal-client.ts';
import type { TokenCacheStore } from './token-cache-store.ts';

/** What the delegated and application flows share: the app, the store, and MSAL clients. */
export interface AuthContext {
  app: AppRegistration;
  store: TokenCacheStore;
  /** The long-lived client of a source (its cache is the source's saved cache). */
  clientFor(sourceId: string): ConfidentialClientApplication;
  /** A client whose cache starts empty and is then saved for the source: for a new authorization. */
  freshClientFor(sourceId: string): ConfidentialClientApplication;
  /** A client without persistence, for building sign-in URLs. */
  urlClient(): ConfidentialClientApplication;
}

/** The columns of a `sources` row the Azure layer reads. */
export interface AzureSource {
  id: string;
  authMode: 'delegated' | 'application';
  tenantId: string | null;
  homeAccountId: string | null;
}

export interface GraphToken {
  accessToken: string;
  expiresOn: Date | null;
}
