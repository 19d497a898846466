import { type EmulatorReply, type EmulatorRequest, formBody, header } from './http.ts';
import type { EmulatorState } from './state.ts';

/**
 * Several Entra tenants behind one emulator, as behind login.microsoftonline.com and graph.microsoft.com: one
 * multi-tenant app registration (the same client id and secret everywhere), one set of signing keys, and per
 * tenant everything else — directory, consent, codes and refresh tokens, Graph subscriptions, faults, counts.
 *
 * How a request finds its tenant, as with Microsoft:
 * - Entra endpoints by the path's tenant segment (`/{tenant id or domain}/oauth2/v2.0/token`); `organizations`
 *   and `common` sign in whoever the browser's account is (the tenant whose `POST …/signin` was set last, the
 *   first tenant by default), and redeem a code or refresh token at the tenant that issued it.
 * - Graph by the access token's `tid` claim: a token only ever reads its own tenant; an object id of another
 *   tenant is simply not found (404 `Request_ResourceNotFound`), and its paging links do not open.
 * - Control API: `/_emulator/…` is the first tenant; `/_emulator/tenants/{id}/…` another; `GET /_emulator/tenants`
 *   lists them.
 */

export class EmulatedCloud {
  readonly tenants: EmulatorState[];
  /** The tenant of the account signed in in the emulated browser (`organizations` / `common` sign-ins). */
  browser: EmulatorState;

  constructor(tenants: EmulatorState[]) {
    if (tenants.length === 0) throw new Error('the emulator needs at least one tenant');
    const names = tenants.flatMap(({ store: { tenant } }) => [tenant.id, tenant.domain]);
    if (new Set(names).size !== names.length)
      throw new Error('every tenant needs its own id and company (domain): two tenants share one');
    this.tenants = tenants;
    this.browser = tenants[0];
  }

  get primary(): EmulatorState {
    return this.tenants[0];
  }

  /** The tenant a path segment names, by id or either of its domains; undefined for none. */
  named(segment: string): EmulatorState | undefined {
    const value = segment.toLowerCase();
    return this.tenants.find(({ store: { tenant } }) =>
      [tenant.id, tenant.domain, tenant.initialDomain].includes(value),
    );
  }

  /** The tenant that issued the code or refresh token a token request presents. */
  issuerOf(request: EmulatorRequest): EmulatorState | undefined {
    const form = formBody(request);
    const code = form.get('code');
    const refresh = form.get('refresh_token');
    return this.tenants.find(
      (t) => (code !== null && t.codes.has(code)) || (refresh !== null && t.refreshTokens.has(refresh)),
    );
  }

  /** The tenant a Graph request's bearer token was issued by (checked in full there); the first when unknown. */
  forGraph(request: EmulatorRequest): EmulatorState {
    const token = /^Bearer\s+(\S+)$/i.exec(header(request, 'authorization') ?? '')?.[1];
    const payload = token?.split('.')[1];
    if (!payload) return this.primary;
    try {
      const { tid } = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { tid?: unknown };
      return (typeof tid === 'string' && this.named(tid)) || this.primary;
    } catch {
      return this.primary;
    }
  }
}

/**
 * A code or refresh token presented to a tenant other than the one that issued it: Entra refuses it with
 * AADSTS700005 ("Microsoft Entra authentication and authorization error codes",
 * learn.microsoft.com/entra/identity-platform/reference-error-codes: InvalidGrantRedeemAgainstWrongTenant,
 * "Provided Authorization Code is intended to use against other tenant, thus rejected."). The page names codes;
 * a refresh token, bound to its tenant the same way, gets the same answer here.
 */
export function wrongTenantGrant(
  cloud: EmulatedCloud,
  target: EmulatorState,
  request: EmulatorRequest,
  refuse: (message: string) => EmulatorReply,
): EmulatorReply | undefined {
  if (request.method !== 'POST') return undefined;
  const issuer = cloud.issuerOf(request);
  if (!issuer || issuer === target) return undefined;
  return refuse('Provided Authorization Code is intended to use against other tenant, thus rejected.');
}
