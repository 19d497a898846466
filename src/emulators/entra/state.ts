import { randomBytes } from 'node:crypto';
import { FaultInjector } from './faults.ts';
import { generateTenant } from './generate.ts';
import { SubscriptionStore } from './graph/subscriptions.ts';
import { ResourceUnitBucket } from './graph/throttle.ts';
import { TokenSigner } from './jwt.ts';
import { TenantStore } from './tenant.ts';

/** Everything the emulator remembers between requests; `reset()` returns it to the seeded start. */

export interface EmulatorSettings {
  /** `https://localhost:PORT`: every URL the emulator hands out (issuer, links) is built from it. */
  publicBase: string;
  tenantId?: string;
  /** The organisation the tenant belongs to (default Contoso; generate.ts). */
  company?: string;
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
  /** `revocations` when issued: a revoke after that kills the refresh token. */
  revocation: number;
  /** The client declared continuous access evaluation (`xms_cc` with `cp1`) when it got the grant. */
  cae: boolean;
  lastUsedAt: number;
}

export type DeltaExpiryStyle = 'syncStateNotFound' | 'gone';
/** How Graph answers for someone without a photo: 404 ImageNotFound, or a 1×1 image with an empty etag. */
export type NoPhotoStyle = 'notFound' | 'placeholder';

/** One tenant of the emulator (cloud.ts holds them all); the signing keys may be shared, as Entra's are. */
export class EmulatorState {
  readonly settings: EmulatorSettings;
  readonly signer: TokenSigner;
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
  /** Tokens carry the generation they were issued in; reset and an immediate revoke start a new one. */
  tokenGeneration = 1;
  /** Revocations so far: refresh tokens (and access tokens of CAE clients) from before the last one die. */
  revocations = 0;
  /** When consent was last granted (emulator clock, ms). */
  consentedAt = 0;
  deltaGeneration = 1;
  deltaExpiryStyle: DeltaExpiryStyle = 'syncStateNotFound';
  noPhoto: NoPhotoStyle = 'notFound';
  readonly codes = new Map<string, AuthorizationCode>();
  readonly redeemedCodes = new Set<string>();
  readonly refreshTokens = new Map<string, RefreshGrant>();
  readonly requests = new Map<string, number>();
  tokensIssued = 0;
  faults!: FaultInjector;
  subscriptions!: SubscriptionStore;
  throttle!: ResourceUnitBucket;

  constructor(settings: EmulatorSettings, signer = new TokenSigner()) {
    this.settings = settings;
    this.signer = signer;
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
    const { users, groups, seed, photoShare, tenantId, company, latencyMs, latencyPerItemMs } = this.settings;
    const generated = generateTenant({ users, groups, seed, photoShare, tenantId, company });
    this.store = new TenantStore(generated.tenant);
    this.subscriptions?.close();
    const subscriptions = new SubscriptionStore(this);
    this.subscriptions = subscriptions;
    this.store.onChange = (change) => subscriptions.changed(change);
    this.adminId = generated.adminId;
    this.memberId = generated.memberId;
    this.clockOffsetMs = 0;
    this.signIn = { outcome: 'consent' };
    this.appRoles = null;
    this.delegatedGrant.clear();
    this.tokenGeneration++;
    this.revocations++;
    this.consentedAt = 0;
    this.deltaGeneration++;
    this.deltaExpiryStyle = 'syncStateNotFound';
    this.noPhoto = 'notFound';
    this.codes.clear();
    this.redeemedCodes.clear();
    this.refreshTokens.clear();
    this.requests.clear();
    this.tokensIssued = 0;
    this.faults = new FaultInjector({ latencyMs, latencyPerItemMs });
    this.throttle = new ResourceUnitBucket();
  }

  /**
   * What POST /_emulator/revoke does, as Entra does it ("Continuous access evaluation",
   * learn.microsoft.com/entra/identity/conditional-access/concept-continuous-access-evaluation): refresh
   * tokens and the application-mode consent die at once; access tokens already issued keep working until
   * they expire (about an hour) — except for clients that declared CAE (`cp1`), whose tokens Graph now
   * answers with a 401 claims challenge. `immediate` kills every access token too (the explicit control).
   */
  revoke(immediate = false): void {
    this.revocations++;
    if (immediate) this.tokenGeneration++;
    this.appRoles = null;
  }

  /** Application consent granted now; with a propagation delay, client credentials fail for a few seconds. */
  consent(roles: string[]): void {
    this.appRoles = roles;
    this.consentedAt = this.now();
  }

  /** Still inside the consent-propagation delay (fault `consentDelaySeconds`). */
  get consentPropagating(): boolean {
    const delay = this.faults.faults.consentDelaySeconds;
    return delay > 0 && this.now() - this.consentedAt < delay * 1000;
  }
}
