/**
 * The Microsoft Graph permissions aad-sync asks for, in both authorization modes. Read-only, least
 * privileged for: users and their managers (delta), group search and transitive membership, photos.
 *
 * Permission ids are the ones Microsoft Graph's service principal (appId 00000003-0000-0000-c000-000000000000)
 * publishes as `oauth2PermissionScopes` (delegated, type "Scope") and `appRoles` (application, type "Role");
 * checked against merill/graph-permissions-explorer (generated from that service principal) and app
 * registrations in public repositories. The app registration manifest must list exactly these.
 */

export const GRAPH_RESOURCE_APP_ID = '00000003-0000-0000-c000-000000000000';

export const GRAPH_RESOURCE = 'https://graph.microsoft.com';

export interface GraphPermission {
  name: string;
  delegatedId: string;
  applicationId: string;
}

export const GRAPH_PERMISSIONS: readonly GraphPermission[] = [
  {
    name: 'User.Read.All',
    delegatedId: 'a154be20-db9c-4678-8ab7-66f6cc099a59',
    applicationId: 'df021288-bdef-4463-88db-98f22de89214',
  },
  {
    name: 'GroupMember.Read.All',
    delegatedId: 'bc024368-1153-4739-b217-4326f2e966d0',
    applicationId: '98830695-27a2-44f7-8c18-0c3ebc9698f6',
  },
  {
    name: 'ProfilePhoto.Read.All',
    delegatedId: '469cd065-729e-4dee-b1fa-d92e0fab6310',
    applicationId: 'e24d31aa-e1ab-4c80-85fe-23018690335d',
  },
];

/**
 * OpenID Connect scopes: MSAL adds them to every delegated request by itself; the app registration
 * lists them so the consent screen shows what the sign-in grants (offline_access = refresh tokens).
 */
export const OIDC_PERMISSIONS: readonly { name: string; delegatedId: string }[] = [
  { name: 'openid', delegatedId: '37f7f235-527c-4136-accd-4a02d197296e' },
  { name: 'profile', delegatedId: '14dad69e-099b-42c9-810b-d002981feec1' },
  { name: 'offline_access', delegatedId: '7427e0e9-2fba-42fe-b0c0-848c9e6a8182' },
];

/**
 * Scopes of the delegated flow, as full resource URIs: the token endpoint echoes them in this form
 * and MSAL matches cached tokens by the exact string (reference §1.4).
 */
export const DELEGATED_SCOPES: readonly string[] = GRAPH_PERMISSIONS.map((p) => `${GRAPH_RESOURCE}/${p.name}`);

/** The client-credentials scope: every application permission an admin consented to. */
export const APPLICATION_SCOPE = `${GRAPH_RESOURCE}/.default`;
