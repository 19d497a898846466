/**
 * Microsoft Graph permissions the emulator knows, and how a `scope` parameter reads. Only permissions
 * that exist in Graph are accepted (an unknown one is AADSTS70011, as Entra answers), so a typo in the
 * app's scope list fails here instead of in production.
 */

export const GRAPH_RESOURCE = 'https://graph.microsoft.com';
export const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';

const OIDC_SCOPES = new Set(['openid', 'profile', 'email', 'offline_access']);

/** Delegated permissions, with whether a tenant admin must consent to them. */
const DELEGATED: Record<string, boolean> = {
  'User.Read': false,
  'User.ReadBasic.All': false,
  'User.Read.All': true,
  'User.ReadWrite.All': true,
  'GroupMember.Read.All': true,
  'Group.Read.All': true,
  'Directory.Read.All': true,
  'ProfilePhoto.Read.All': true,
  'Organization.Read.All': true,
};

export const APPLICATION_PERMISSIONS = [
  'User.Read.All',
  'User.ReadWrite.All',
  'GroupMember.Read.All',
  'Group.Read.All',
  'Directory.Read.All',
  'ProfilePhoto.Read.All',
  'Organization.Read.All',
];

/** What the app registration asks for (its `requiredResourceAccess`), granted by admin consent. */
export const REGISTERED_DELEGATED = ['User.Read.All', 'GroupMember.Read.All', 'ProfilePhoto.Read.All'];
export const REGISTERED_APPLICATION = ['User.Read.All', 'GroupMember.Read.All', 'ProfilePhoto.Read.All'];

const CANONICAL = new Map(
  [...Object.keys(DELEGATED), ...APPLICATION_PERMISSIONS].map((name) => [name.toLowerCase(), name]),
);

export interface ParsedScopes {
  /** Graph permissions asked for by name (canonical spelling). */
  graph: string[];
  /** `https://graph.microsoft.com/.default` was asked for. */
  graphDefault: boolean;
  oidc: string[];
  /** Entries that are neither OIDC scopes nor Graph permissions. */
  invalid: string[];
}

export function parseScopes(scope: string): ParsedScopes {
  const parsed: ParsedScopes = { graph: [], graphDefault: false, oidc: [], invalid: [] };
  for (const entry of scope.split(/\s+/).filter(Boolean)) {
    if (OIDC_SCOPES.has(entry.toLowerCase())) {
      parsed.oidc.push(entry.toLowerCase());
      continue;
    }
    const name = graphPermissionName(entry);
    if (name === '.default') parsed.graphDefault = true;
    else if (name && CANONICAL.has(name.toLowerCase()) && DELEGATED[CANONICAL.get(name.toLowerCase())!] !== undefined) {
      parsed.graph.push(CANONICAL.get(name.toLowerCase())!);
    } else parsed.invalid.push(entry);
  }
  return parsed;
}

/** `User.Read.All`, `https://graph.microsoft.com/User.Read.All` and the app-id form all name one permission. */
function graphPermissionName(entry: string): string | null {
  const lower = entry.toLowerCase();
  for (const prefix of [`${GRAPH_RESOURCE}/`, `${GRAPH_APP_ID}/`]) {
    if (lower.startsWith(prefix)) return entry.slice(prefix.length);
  }
  return entry.includes('/') || entry.includes(':') ? null : entry;
}

export function needsAdminConsent(permission: string): boolean {
  return DELEGATED[permission] ?? true;
}

/** Graph's checks: does any of `granted` satisfy the route's need? */
export function satisfies(granted: Iterable<string>, anyOf: readonly string[]): boolean {
  const have = new Set([...granted].map((p) => p.toLowerCase()));
  return anyOf.some((p) => have.has(p.toLowerCase()));
}
