import { DEFAULT_CERT_DIR, ensureEmulatorCertificate } from '../tls.ts';
import { EmulatedCloud } from './cloud.ts';
import { TokenSigner } from './jwt.ts';
import { Random } from './random.ts';
import { dispatch, listen } from './server.ts';
import { EmulatorState } from './state.ts';
import type { EmulatedTenant } from './tenant.ts';

/**
 * Entra ID + Microsoft Graph, emulated over HTTPS on localhost, faithful enough that the unmodified MSAL
 * and Graph client accept it as the real services (see README "The emulator" and control.ts for the
 * /_emulator/ control API). One server is both the authority and Graph: authorityHost === graphBaseUrl.
 * It holds one tenant, or several (`tenants`), each with its own directory, as cloud.ts describes.
 */

/** Another tenant beside the first: another organisation, with people of its own. */
export interface ExtraTenantOptions {
  /** Its name, which also makes its domain (`Fabrikam` → fabrikam.com); unique among the tenants. */
  company: string;
  seed: string | number;
  users?: number;
  groups?: number;
  tenantId?: string;
  photoShare?: number;
}

/** One tenant of a running emulator. */
export interface EmulatedTenantHandle {
  tenantId: string;
  /** The tenant's Global Administrator, signed in by default. */
  adminUpn: string;
  /** The live directory (replaced by a reset of that tenant). */
  tenant: EmulatedTenant;
  /** Prefix of this tenant's control API under `/_emulator/`: '' for the first, `tenants/<id>/` for the others. */
  controlPrefix: string;
}

export type { EmulatedPhoto } from './photos.ts';
export type { EmulatedGroup, EmulatedTenant, EmulatedUser } from './tenant.ts';

export interface EntraEmulatorOptions {
  users?: number;
  groups?: number;
  seed?: string | number;
  latencyMs?: number;
  /** Added to `latencyMs` per object in a Graph answer (users in a page, …). */
  latencyPerItemMs?: number;
  /** 0 or undefined: a free port. */
  port?: number;
  /** Extra registered redirect URIs; http://localhost:<any>/azure/callback and http://127.0.0.1:<any>/azure/callback always are. */
  redirectUris?: string[];
  clientId?: string;
  clientSecret?: string;
  tenantId?: string;
  /** Share of members with a profile photo, 0..1 (default 0.6). */
  photoShare?: number;
  /** Where the TLS certificate lives (default .data/emulator-tls). */
  certDir?: string;
  /** Tenants beyond the first (Contoso), each another organisation signing in to the same app registration. */
  tenants?: ExtraTenantOptions[];
}

export interface EntraEmulator {
  /** e.g. https://localhost:PORT; MSAL authority = `${authorityHost}/${tenant}`. */
  authorityHost: string;
  /** e.g. https://localhost:PORT; Graph v1.0 at `${graphBaseUrl}/v1.0/...`, control API at `${graphBaseUrl}/_emulator/...`. */
  graphBaseUrl: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** The CA certificate to trust (NODE_EXTRA_CA_CERTS). */
  caCertPath: string;
  /** The Global Administrator the authorize endpoint signs in by default. */
  adminUpn: string;
  /** The live in-memory directory (replaced by POST /_emulator/reset). */
  tenant: EmulatedTenant;
  /** Every tenant, the first one first. */
  tenants: EmulatedTenantHandle[];
  /** Resolves when every change notification queued so far has been delivered or given up on. */
  settleNotifications(): Promise<void>;
  /** Same as GET /_emulator/state `.requests`. */
  requests(): Record<string, number>;
  close(): Promise<void>;
}

export const DEFAULT_USERS = 1000;
export const DEFAULT_GROUPS = 40;
export const DEFAULT_SEED = 'contoso';

export async function startEntraEmulator(options: EntraEmulatorOptions = {}): Promise<EntraEmulator> {
  const seed = options.seed ?? DEFAULT_SEED;
  const identity = new Random(`${seed}:app-registration`);
  const certificate = await ensureEmulatorCertificate(options.certDir ?? DEFAULT_CERT_DIR);
  let cloud: EmulatedCloud | null = null;
  const listener = await listen(certificate, options.port ?? 0, async (request) => {
    if (!cloud) throw new Error('the emulator is still starting');
    return dispatch(cloud, request);
  });
  const base = `https://localhost:${listener.port}`;
  try {
    // One app registration and one set of signing keys for every tenant, as in Entra.
    const shared = {
      publicBase: base,
      clientId: (options.clientId ?? identity.guid()).toLowerCase(),
      clientSecret: options.clientSecret ?? secretFrom(identity),
      redirectUris: options.redirectUris ?? [],
      latencyMs: options.latencyMs ?? 0,
      latencyPerItemMs: options.latencyPerItemMs ?? 0,
    };
    const signer = new TokenSigner();
    const first = new EmulatorState(
      {
        ...shared,
        tenantId: options.tenantId,
        users: options.users ?? DEFAULT_USERS,
        groups: options.groups ?? DEFAULT_GROUPS,
        seed,
        photoShare: options.photoShare ?? 0.6,
      },
      signer,
    );
    const others = (options.tenants ?? []).map(
      (extra) =>
        new EmulatorState(
          {
            ...shared,
            tenantId: extra.tenantId,
            company: extra.company,
            users: extra.users ?? DEFAULT_USERS,
            groups: extra.groups ?? DEFAULT_GROUPS,
            seed: extra.seed,
            photoShare: extra.photoShare ?? 0.6,
          },
          signer,
        ),
    );
    cloud = new EmulatedCloud([first, ...others]);
  } catch (error) {
    await listener.close();
    throw error;
  }
  const all = cloud.tenants;
  const running = cloud.primary;
  const handle = (state: EmulatorState, index: number): EmulatedTenantHandle => ({
    get tenantId() {
      return state.tenantId;
    },
    get adminUpn() {
      return state.store.tenant.users.get(state.adminId)!.userPrincipalName;
    },
    get tenant() {
      return state.store.tenant;
    },
    controlPrefix: index === 0 ? '' : `tenants/${state.tenantId}/`,
  });
  return {
    authorityHost: base,
    graphBaseUrl: base,
    get tenantId() {
      return running.tenantId;
    },
    clientId: running.settings.clientId,
    clientSecret: running.settings.clientSecret,
    caCertPath: certificate.certPath,
    get adminUpn() {
      return running.store.tenant.users.get(running.adminId)!.userPrincipalName;
    },
    get tenant() {
      return running.store.tenant;
    },
    tenants: all.map(handle),
    requests: () => Object.fromEntries(running.requests),
    settleNotifications: async () => {
      await Promise.all(all.map((state) => state.subscriptions.notifier.settle()));
    },
    close: () => {
      for (const state of all) state.subscriptions.close();
      return listener.close();
    },
  };
}

/** Shaped like an Entra client secret value (40 characters with the `~` marker). */
function secretFrom(random: Random): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  let secret = '';
  for (let i = 0; i < 37; i++) secret += alphabet[random.int(0, alphabet.length - 1)];
  return `${secret.slice(0, 3)}8Q~${secret.slice(3)}`;
}
