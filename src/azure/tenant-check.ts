import { AzureError } from './errors.ts';

/**
 * Which tenant a sign-in or consent may bind a connection to. AZURE_TENANT_ID given as a tenant id
 * restricts aad-sync to that tenant (a domain name cannot be compared with the id Microsoft returns, so
 * only ids are enforced); a connection that has synced stays with its tenant.
 */

export const TENANT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/** Throws the sentence the admin sees when `tenantId` is not one this connection may use. */
export function checkTenant(tenantId: string, rules: { configured: string; bound?: string | null }): void {
  if (TENANT_ID.test(rules.configured) && !same(tenantId, rules.configured)) {
    throw new AzureError(
      'reauth_required',
      `The account that signed in belongs to Microsoft tenant ${tenantId}, but this aad-sync is set up for tenant ` +
        `${rules.configured} only (AZURE_TENANT_ID): sign in with an admin of tenant ${rules.configured}.`,
    );
  }
  if (rules.bound && !same(tenantId, rules.bound)) {
    throw new AzureError(
      'reauth_required',
      `The account that signed in belongs to another Microsoft tenant (${tenantId}) than the one this connection ` +
        `syncs (${rules.bound}): sign in with an admin of tenant ${rules.bound}.`,
    );
  }
}
