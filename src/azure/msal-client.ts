import { ConfidentialClientApplication, type ICachePlugin, LogLevel } from '@azure/msal-node';
import type { Config } from '../config.ts';
import { authorityUrl, knownAuthorities } from './endpoints.ts';

export interface AppRegistration {
  clientId: string;
  clientSecret: string;
  /** AZURE_AUTHORITY_HOST, e.g. https://login.microsoftonline.com */
  authorityHost: string;
  /** AZURE_TENANT_ID: a tenant id or domain, or "organizations" for any work tenant. */
  tenantId: string;
  /** Receives MSAL's warnings and errors (never PII: MSAL is told not to log it). */
  log?: (level: 'error' | 'warn', message: string) => void;
}

/** One MSAL confidential client; `cachePlugin` makes its token cache the one saved for a source. */
export function createMsalClient(app: AppRegistration, cachePlugin?: ICachePlugin): ConfidentialClientApplication {
  return new ConfidentialClientApplication({
    auth: {
      clientId: app.clientId,
      clientSecret: app.clientSecret,
      authority: authorityUrl(app.authorityHost, app.tenantId),
      knownAuthorities: knownAuthorities(app.authorityHost),
    },
    cache: cachePlugin ? { cachePlugin } : undefined,
    system: {
      loggerOptions: {
        logLevel: LogLevel.Warning,
        piiLoggingEnabled: false,
        loggerCallback: (level, message) => {
          if (level === LogLevel.Error) app.log?.('error', message);
          else if (level === LogLevel.Warning) app.log?.('warn', message);
        },
      },
    },
  });
}

/** The app registration from Config.azure; throws when the client id or secret is missing. */
export function appRegistration(azure: Config['azure'], log?: AppRegistration['log']): AppRegistration {
  const missing = [!azure.clientId && 'AZURE_CLIENT_ID', !azure.clientSecret && 'AZURE_CLIENT_SECRET'].filter(Boolean);
  if (missing.length > 0) throw new Error(`${missing.join(' and ')} must be set to talk to Microsoft Entra ID`);
  return {
    clientId: azure.clientId!,
    clientSecret: azure.clientSecret!,
    authorityHost: azure.authorityHost,
    tenantId: azure.tenantId,
    log,
  };
}
