/**
 * Where MSAL and the Graph client are allowed to talk, derived from AZURE_AUTHORITY_HOST and GRAPH_BASE_URL.
 * The same rules hold for Microsoft's clouds and for any other host (the emulator, a sovereign cloud).
 */

const MICROSOFT_LOGIN_HOSTS = new Set(['login.microsoftonline.com']);
const MICROSOFT_GRAPH_HOSTS = new Set(['graph.microsoft.com']);

function httpsUrl(value: string, what: string): URL {
  const url = new URL(value);
  if (url.protocol !== 'https:') throw new Error(`${what} must be an https:// URL, got ${url.protocol}//`);
  return url;
}

/**
 * MSAL's `knownAuthorities`: without it MSAL asks login.microsoftonline.com whether an unknown host is a
 * genuine authority (instance discovery), which fails offline and for hosts Microsoft does not know.
 */
export function knownAuthorities(authorityHost: string): string[] {
  const url = httpsUrl(authorityHost, 'AZURE_AUTHORITY_HOST');
  return MICROSOFT_LOGIN_HOSTS.has(url.hostname) ? [] : [url.host];
}

/** `https://host[:port]/<tenant>`: the authority MSAL uses for one tenant (or organizations/common). */
export function authorityUrl(authorityHost: string, tenant: string): string {
  const url = httpsUrl(authorityHost, 'AZURE_AUTHORITY_HOST');
  return `${url.origin}/${encodeURIComponent(tenant)}`;
}

/**
 * The Graph client attaches the bearer token only to https URLs on Graph's own hosts or on these
 * `customHosts` (host names without port).
 */
export function graphCustomHosts(graphBaseUrl: string): Set<string> | undefined {
  const url = httpsUrl(graphBaseUrl, 'GRAPH_BASE_URL');
  return MICROSOFT_GRAPH_HOSTS.has(url.hostname) ? undefined : new Set([url.hostname]);
}

/** `https://host[:port]` with no trailing slash or path. */
export function graphOrigin(graphBaseUrl: string): string {
  return httpsUrl(graphBaseUrl, 'GRAPH_BASE_URL').origin;
}
