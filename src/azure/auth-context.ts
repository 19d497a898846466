import type { ConfidentialClientApplication } from '@azure/msal-node';
import type { AppRegistration } from './msal-client.ts';
import type { TokenCacheStore } from './token-cache-store.ts';

/** What the delegated and application flows share: the app, the store, and MSAL clients. */
export interface AuthContext {
  app: AppRegistration;
  store: TokenCacheStore;
  /** The long-lived client of a source (its cache is the source's saved cache). */
  clientFor(sourceId: string): ConfidentialClientApplication;
  /**
   * Application mode's client for a source: client-credentials tokens live in its memory only. The
   * consent is the credential, so nothing needs saving (and no ENCRYPTION_KEY change can lock it out).
   */
  appClientFor(sourceId: string): ConfidentialClientApplication;
  /** A new client without persistence, for one sign-in: the caller decides what of it is saved. */
  memoryClient(): ConfidentialClientApplication;
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
