import { randomBytes } from 'node:crypto';
import { FaultInjector } from './faults.ts';
import { generateTenant } from './generate.ts';
import { ResourceUnitBucket } from './graph/throttle.ts';
import { TokenSigner } from './jwt.ts';
import { TenantStore } from './tenant.ts';

/** Everything the emulator remembers between requests; `reset()` returns it to the seeded start. */

export interface EmulatorSettings {
  /** `https://localhost:PORT`: every URL the emulator hands out (issuer, links) is built from it. */
  publicBase: string;
  tenantId?: string;
  clientId: string;
  clientSecret: string;
  /** Registered redirect URIs beyond the always-registered localhost callbacks. */
  redirectUris: string[];
  users: number;
  groups: number;
  seed: string | number;
  photoShare: number;
  latencyMs: number;
  latencyPerItemMs: number;
}

export type SignInOutcome = 'consent' | 'deny' | 'non_admin';

export interface SignInBehaviour {
  outcome: SignInOutcome;
  /** Sign in this user instead of the default (the admin, or an ordinary member for `non_admin`). */
  upn?: string;
}

export interface AuthorizationCode {
  clientId: string;
  redirectUri: string;
  graphScopes: string[];
  oidcScopes: string[];
  codeChallenge: string | null;
  codeChallengeMethod: string;
  nonce: string | null;
  userId: string;
  expiresAt: number;
}

export interface RefreshGrant {
  clientId: string;
  userId: string;
  graphScopes: string[];
  generation: number;
  lastUsedAt: number;
}

export type DeltaExpiryStyle = 'syncStateNotFound' | 'gone';

export class EmulatorState {
  readonly settings: EmulatorSettings;
  readonly signer = new TokenSigner();
  /** Delta and paging tokens are HMAC-signed with this, so edited or foreign tokens are recognised. */
  readonly linkKey = randomBytes(32);
  store!: TenantStore;
  adminId!: string;
  memberId!: string;
  clockOffsetMs = 0;
  signIn: SignInBehaviour = { outcome: 'consent' };
  /** Application permissions granted by admin consent; null = the app is not consented in this tenant. */
  appRoles: string[] | null = null;
  /** Delegated permissions an admin has granted for the whole tenant. */
  readonly delegatedGrant = new Set<string>();
  /** Tokens carry the generation they were issued in; revoke and reset start a new one. */
  tokenGeneration = 1;
  deltaGeneration = 1;
  deltaExpiryStyle: DeltaExpiryStyle = 'syncStateNotFound';
  readonly codes = new Map<string, AuthorizationCode>();
  readonly redeemedCodes = new Set<string>();
  readonly refreshTokens = new Map<string, RefreshGrant>();
  readonly requests = new Map<string, number>();
  tokensIssued = 0;
  faults!: FaultInjector;
  throttle!: ResourceUnitBucket;

  constructor(settings: EmulatorSettings) {
    this.settings = settings;
    this.reset();
  }

  get tenantId(): string {
    return this.store.tenant.id;
  }

  /** The emulator's clock: real time plus whatever `/_emulator/clock` advanced it by. */
  now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  count(key: string): void {
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
  }

  reset(): void {
    const { users, groups, seed, photoShare, tenantId, latencyMs, latencyPerItemMs } = this.settings;
    const generated = generateTenant({ users, groups, seed, photoShare, tenantId });
    this.store = new TenantStore(generated.tenant);
    this.adminId = generated.adminId;
    this.memberId = generated.memberId;
    this.clockOffsetMs = 0;
    this.signIn = { outcome: 'consent' };
    this.appRoles = null;
    this.delegatedGrant.clear();
    this.tokenGeneration++;
    this.deltaGeneration++;
    this.deltaExpiryStyle = 'syncStateNotFound';
    this.codes.clear();
    this.redeemedCodes.clear();
    this.refreshTokens.clear();
    this.requests.clear();
    this.tokensIssued = 0;
    this.faults = new FaultInjector({ latencyMs, latencyPerItemMs });
    this.throttle = new ResourceUnitBucket();
  }

  /**
   * What POST /_emulator/revoke does: every refresh and access token issued so far dies (they carry an
   * older generation) and the application-mode consent is withdrawn.
   */
  revoke(): void {
    this.tokenGeneration++;
    this.appRoles = null;
  }
}
