import { randomBytes, randomUUID } from 'node:crypto';
import { type EmulatorReply, graphTimestamp, jsonBody } from '../http.ts';
import type { EmulatorState } from '../state.ts';
import type { GraphContext } from './context.ts';
import { type ChangeNotification, type LifecycleEvent, Notifier } from './notifier.ts';

/**
 * Graph change-notification subscriptions on `/users` and `/groups`, as documented in
 * - "subscription resource type" (learn.microsoft.com/graph/api/resources/subscription): clientState at
 *   most 128 characters; users and groups support changeType `updated` (created, updated, soft-deleted)
 *   and `deleted` (permanently deleted); an expiration under 45 minutes is raised to 45 minutes;
 * - "Create subscription" (learn.microsoft.com/graph/api/subscription-post-subscriptions): `changeType`,
 *   `notificationUrl`, `resource`, `expirationDateTime` required; both URLs validated first; user
 *   subscriptions need User.Read.All, group subscriptions Group.Read.All (or Directory.Read.All);
 * - "Change notifications — subscription lifetime": users and groups at most 41,760 minutes; beyond that
 *   Graph answers 400 ExtensionError "Subscription expiration can only be N minutes in the future."
 *   (message as reported in microsoftgraph/microsoft-graph-docs-contrib#7726);
 * - "Update subscription" (PATCH, renew), "Delete subscription", "subscription: reauthorize" (204);
 * - "Reduce missing subscriptions and change notifications" (change-notifications-lifecycle-events):
 *   lifecycle notifications go to `lifecycleNotificationUrl` with `lifecycleEvent`.
 *
 * Deliberate test exception: real Graph requires `https` notification URLs; the emulator also accepts
 * `http` when the host is localhost or 127.0.0.1, so tests need no TLS in front of the app.
 * An expired subscription is gone (404), judged by the emulator's clock (`POST /_emulator/clock`).
 */

export const MAX_LIFETIME_MINUTES = 41_760;
const MIN_LIFETIME_MINUTES = 45;
const MAX_CLIENT_STATE = 128;

type Resource = 'users' | 'groups';

const PERMISSIONS: Record<Resource, string[]> = {
  users: ['User.Read.All', 'User.ReadWrite.All', 'Directory.Read.All'],
  groups: ['Group.Read.All', 'Directory.Read.All'],
};

export interface EmulatedSubscription {
  id: string;
  resource: string;
  kind: Resource;
  changeType: string;
  notificationUrl: string;
  lifecycleNotificationUrl: string | null;
  clientState: string | null;
  expirationDateTime: number;
  applicationId: string;
  creatorId: string;
  /** A reauthorizationRequired event was sent and not yet answered. */
  reauthorizationRequired: boolean;
}

/** A change in the emulated directory that subscriptions may hear of. */
export interface DirectoryChange {
  kind: Resource;
  id: string;
  changeType: 'updated' | 'deleted';
}

export class SubscriptionStore {
  readonly notifier = new Notifier();
  private readonly subscriptions = new Map<string, EmulatedSubscription>();

  constructor(private readonly state: EmulatorState) {}

  /** Live subscriptions; an expired one is removed on sight, as Graph forgets it. */
  all(): EmulatedSubscription[] {
    for (const s of this.subscriptions.values()) this.alive(s.id);
    return [...this.subscriptions.values()];
  }

  get(id: string): EmulatedSubscription | undefined {
    return this.alive(id.toLowerCase());
  }

  changed(change: DirectoryChange): void {
    const tenantId = this.state.tenantId;
    const type = change.kind === 'users' ? 'User' : 'Group';
    const path = `${type}s/${change.id}`;
    for (const subscription of this.all()) {
      if (subscription.kind !== change.kind) continue;
      if (!subscription.changeType.split(',').includes(change.changeType)) continue;
      this.notifier.queue(subscription, {
        ...this.envelope(subscription),
        changeType: change.changeType,
        resource: path,
        resourceData: {
          '@odata.type': `#Microsoft.Graph.${type}`,
          '@odata.id': path,
          id: change.id,
          organizationId: tenantId,
        },
      });
    }
  }

  /** POST /_emulator/subscriptions/:id/lifecycle: Graph's lifecycle events, on demand. */
  lifecycle(id: string, event: LifecycleEvent): string | null {
    const subscription = this.get(id);
    if (!subscription) return `no subscription ${id}`;
    if (!subscription.lifecycleNotificationUrl) return `subscription ${id} has no lifecycleNotificationUrl`;
    this.notifier.queue(subscription, { ...this.envelope(subscription), lifecycleEvent: event }, true);
    if (event === 'reauthorizationRequired') subscription.reauthorizationRequired = true;
    if (event === 'subscriptionRemoved') this.subscriptions.delete(subscription.id);
    return null;
  }

  /** Forget a subscription as if Graph lost it, without telling anyone. */
  drop(id: string): boolean {
    return this.subscriptions.delete(id.toLowerCase());
  }

  close(): void {
    this.notifier.close();
    this.subscriptions.clear();
  }

  async create(context: GraphContext): Promise<EmulatorReply> {
    const body = readBody(context);
    if (typeof body === 'string') return context.error(400, 'InvalidRequest', body);
    for (const field of ['changeType', 'notificationUrl', 'resource', 'expirationDateTime']) {
      if (typeof body[field] !== 'string' || body[field] === '') {
        return context.error(400, 'InvalidRequest', `${field} is a required property for subscription creation.`);
      }
    }
    const resource = String(body.resource);
    const kind = resourceKind(resource);
    if (!kind) return context.error(400, 'InvalidRequest', `The resource '${resource}' is not supported.`);
    const denied = context.require(PERMISSIONS[kind]);
    if (denied) return denied;
    const changeType = String(body.changeType);
    const types = changeType.split(',').map((t) => t.trim());
    if (types.some((t) => t !== 'updated' && t !== 'deleted')) {
      return context.error(
        400,
        'InvalidRequest',
        `Unsupported changeType '${changeType}': user and group subscriptions support 'updated' and 'deleted'.`,
      );
    }
    const clientState = body.clientState ?? null;
    if (clientState !== null && (typeof clientState !== 'string' || clientState.length > MAX_CLIENT_STATE)) {
      return context.error(
        400,
        'InvalidRequest',
        `clientState must be a string of at most ${MAX_CLIENT_STATE} characters.`,
      );
    }
    const urls = [
      String(body.notificationUrl),
      ...(body.lifecycleNotificationUrl ? [String(body.lifecycleNotificationUrl)] : []),
    ];
    for (const url of urls) {
      if (!acceptableUrl(url)) {
        return context.error(400, 'InvalidRequest', `The notification URL '${url}' must be an absolute https URL.`);
      }
    }
    const expiration = this.expiration(context, body.expirationDateTime);
    if (typeof expiration !== 'number') return expiration;
    for (const url of urls) {
      if (!(await this.notifier.validate(url, randomBytes(24).toString('base64url')))) {
        return context.error(
          400,
          'ValidationError',
          'Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.',
        );
      }
    }
    const subscription: EmulatedSubscription = {
      id: randomUUID(),
      resource,
      kind,
      changeType: types.join(','),
      notificationUrl: urls[0],
      lifecycleNotificationUrl: urls[1] ?? null,
      clientState: clientState as string | null,
      expirationDateTime: expiration,
      applicationId: this.state.settings.clientId,
      creatorId: context.caller?.userId ?? this.state.settings.clientId,
      reauthorizationRequired: false,
    };
    this.subscriptions.set(subscription.id, subscription);
    return { ...context.ok(this.view(context, subscription)), status: 201 };
  }

  list(context: GraphContext): EmulatorReply {
    return context.ok({
      '@odata.context': `${context.base}/v1.0/$metadata#subscriptions`,
      value: this.all().map((s) => this.view(context, s)),
    });
  }

  read(context: GraphContext, id: string): EmulatorReply {
    const subscription = this.get(id);
    return subscription ? context.ok(this.view(context, subscription)) : missing(context, id);
  }

  renew(context: GraphContext, id: string): EmulatorReply {
    const subscription = this.get(id);
    if (!subscription) return missing(context, id);
    const body = readBody(context);
    if (typeof body === 'string') return context.error(400, 'InvalidRequest', body);
    if (body.expirationDateTime !== undefined) {
      const expiration = this.expiration(context, body.expirationDateTime);
      if (typeof expiration !== 'number') return expiration;
      subscription.expirationDateTime = expiration;
    }
    subscription.reauthorizationRequired = false;
    return context.ok(this.view(context, subscription));
  }

  reauthorize(context: GraphContext, id: string): EmulatorReply {
    const subscription = this.get(id);
    if (!subscription) return missing(context, id);
    const denied = context.require(PERMISSIONS[subscription.kind]);
    if (denied) return denied;
    subscription.reauthorizationRequired = false;
    return { status: 204, headers: context.headers() };
  }

  remove(context: GraphContext, id: string): EmulatorReply {
    if (!this.get(id)) return missing(context, id);
    this.subscriptions.delete(id.toLowerCase());
    return { status: 204, headers: context.headers() };
  }

  private expiration(context: GraphContext, value: unknown): number | EmulatorReply {
    const at = typeof value === 'string' ? Date.parse(value) : Number.NaN;
    if (Number.isNaN(at))
      return context.error(400, 'InvalidRequest', 'expirationDateTime is not a valid date and time.');
    const now = this.state.now();
    if (at <= now) return context.error(400, 'InvalidRequest', 'Subscription expiration can only be in the future.');
    if (at > now + MAX_LIFETIME_MINUTES * 60_000) {
      return context.error(
        400,
        'ExtensionError',
        `Subscription expiration can only be ${MAX_LIFETIME_MINUTES} minutes in the future.`,
      );
    }
    return Math.max(at, now + MIN_LIFETIME_MINUTES * 60_000);
  }

  private alive(id: string): EmulatedSubscription | undefined {
    const subscription = this.subscriptions.get(id);
    if (subscription && subscription.expirationDateTime <= this.state.now()) {
      this.subscriptions.delete(id);
      return undefined;
    }
    return subscription;
  }

  private envelope(subscription: EmulatedSubscription): ChangeNotification {
    return {
      subscriptionId: subscription.id,
      subscriptionExpirationDateTime: isoWithMs(subscription.expirationDateTime),
      clientState: subscription.clientState,
      tenantId: this.state.tenantId,
    };
  }

  private view(context: GraphContext, s: EmulatedSubscription): Record<string, unknown> {
    return {
      '@odata.context': `${context.base}/v1.0/$metadata#subscriptions/$entity`,
      id: s.id,
      resource: s.resource,
      applicationId: s.applicationId,
      changeType: s.changeType,
      clientState: s.clientState,
      notificationUrl: s.notificationUrl,
      lifecycleNotificationUrl: s.lifecycleNotificationUrl,
      expirationDateTime: isoWithMs(s.expirationDateTime),
      creatorId: s.creatorId,
      includeResourceData: false,
      latestSupportedTlsVersion: 'v1_2',
      encryptionCertificate: null,
      encryptionCertificateId: null,
      notificationUrlAppId: null,
    };
  }
}

function resourceKind(resource: string): Resource | null {
  const normalized = resource.replace(/^\//, '').toLowerCase();
  return normalized === 'users' || normalized === 'groups' ? normalized : null;
}

function acceptableUrl(url: string): boolean {
  try {
    const parsed = new URL(url);
    if (parsed.protocol === 'https:') return true;
    // The documented test exception (see the module comment).
    return parsed.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(parsed.hostname);
  } catch {
    return false;
  }
}

function readBody(context: GraphContext): Record<string, unknown> | string {
  try {
    const body = jsonBody(context.request);
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      return 'The request body must be a JSON object.';
    return body as Record<string, unknown>;
  } catch {
    return 'The request body is not valid JSON.';
  }
}

function missing(context: GraphContext, id: string): EmulatorReply {
  return context.error(404, 'ResourceNotFound', `The object was not found (subscription '${id}').`);
}

/** Graph writes subscription times with seven fractional digits; milliseconds are enough here. */
function isoWithMs(ms: number): string {
  return `${graphTimestamp(ms).slice(0, -1)}.${String(ms % 1000).padStart(3, '0')}0000Z`;
}
