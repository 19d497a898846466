import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  DELEGATED_SCOPES,
  GRAPH_PERMISSIONS,
  GRAPH_RESOURCE,
  GRAPH_RESOURCE_APP_ID,
  OIDC_PERMISSIONS,
} from '../../src/azure/permissions.ts';

interface ResourceAccess {
  id: string;
  type: string;
}
interface AppManifest {
  signInAudience: string;
  web: { redirectUris: string[]; implicitGrantSettings: Record<string, boolean> };
  requiredResourceAccess: { resourceAppId: string; resourceAccess: ResourceAccess[] }[];
}

const manifestText = readFileSync(new URL('../../manifests/azure-app-registration.json', import.meta.url), 'utf8');
const manifest = JSON.parse(manifestText) as AppManifest;

/**
 * Checked by hand, independently of src/azure/permissions.ts, against the Microsoft Graph service
 * principal's published `oauth2PermissionScopes` (Scope) and `appRoles` (Role) — dumps in
 * merill/microsoft-info `_info/GraphDelegateRoles.csv` and `_info/GraphAppRoles.csv` — and public app
 * registrations. A change to permissions.ts that is not a real Graph id fails here.
 */
const VERIFIED = {
  Scope: {
    'User.Read.All': 'a154be20-db9c-4678-8ab7-66f6cc099a59',
    'GroupMember.Read.All': 'bc024368-1153-4739-b217-4326f2e966d0',
    'ProfilePhoto.Read.All': '469cd065-729e-4dee-b1fa-d92e0fab6310',
    openid: '37f7f235-527c-4136-accd-4a02d197296e',
    profile: '14dad69e-099b-42c9-810b-d002981feec1',
    offline_access: '7427e0e9-2fba-42fe-b0c0-848c9e6a8182',
  },
  Role: {
    'User.Read.All': 'df021288-bdef-4463-88db-98f22de89214',
    'GroupMember.Read.All': '98830695-27a2-44f7-8c18-0c3ebc9698f6',
    'ProfilePhoto.Read.All': 'e24d31aa-e1ab-4c80-85fe-23018690335d',
  },
} as const;

const requested = {
  Scope: Object.fromEntries([
    ...GRAPH_PERMISSIONS.map((p) => [p.name, p.delegatedId]),
    ...OIDC_PERMISSIONS.map((p) => [p.name, p.delegatedId]),
  ]),
  Role: Object.fromEntries(GRAPH_PERMISSIONS.map((p) => [p.name, p.applicationId])),
};

function graphAccess(type: 'Scope' | 'Role'): string[] {
  const graph = manifest.requiredResourceAccess.filter((r) => r.resourceAppId === GRAPH_RESOURCE_APP_ID);
  expect(graph).toHaveLength(1);
  return graph[0].resourceAccess.filter((a) => a.type === type).map((a) => a.id);
}

describe('manifests/azure-app-registration.json', () => {
  it('is a multi-tenant web app whose only redirect URI is the /azure/callback route, over https', () => {
    expect(manifest.signInAudience).toBe('AzureADMultipleOrgs');
    expect(manifest.web.redirectUris).toEqual(['https://aad-sync.example.com/azure/callback']);
    expect(manifest.web.implicitGrantSettings).toEqual({
      enableAccessTokenIssuance: false,
      enableIdTokenIssuance: false,
    });
  });

  it('asks Microsoft Graph and nothing else', () => {
    expect(manifest.requiredResourceAccess.map((r) => r.resourceAppId)).toEqual([GRAPH_RESOURCE_APP_ID]);
    for (const access of manifest.requiredResourceAccess[0].resourceAccess) {
      expect(access.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(['Scope', 'Role']).toContain(access.type);
    }
  });

  it('lists exactly the delegated permissions the code requests (Scope), once each', () => {
    const scopes = graphAccess('Scope');
    expect(new Set(scopes).size).toBe(scopes.length);
    expect(scopes.sort()).toEqual(Object.values(requested.Scope).sort());
  });

  it('lists exactly the application permissions the code requests (Role), once each', () => {
    const roles = graphAccess('Role');
    expect(new Set(roles).size).toBe(roles.length);
    expect(roles.sort()).toEqual(Object.values(requested.Role).sort());
  });

  it("uses Graph's real permission ids for every name the code requests, in both modes", () => {
    expect(requested).toEqual(VERIFIED);
  });

  it('requests in the delegated flow exactly the Graph permissions the manifest grants', () => {
    const names = DELEGATED_SCOPES.map((scope) => scope.replace(`${GRAPH_RESOURCE}/`, ''));
    expect(names.sort()).toEqual(GRAPH_PERMISSIONS.map((p) => p.name).sort());
  });

  it('is read-only: no permission that writes, sends, creates or deletes', () => {
    const names = [...Object.keys(requested.Scope), ...Object.keys(requested.Role)];
    for (const name of names) expect(name).not.toMatch(/Write|Send|Create|Delete|Manage|AccessAsUser/);
    expect(manifestText).not.toMatch(/\.ReadWrite\./);
  });
});
