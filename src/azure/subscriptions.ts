import { createGraphTransport, type GraphAnswer, type GraphTransportOptions, graphErrorOf } from './graph-transport.ts';

/**
 * Graph change-notification subscriptions ("subscription resource type", learn.microsoft.com/graph/api/resources/subscription):
 * create (Graph first sends a validation request to both URLs), renew (PATCH expirationDateTime),
 * reauthorize, delete. Users and groups subscriptions last at most 41,760 minutes.
 *
 * Graph's refusals that an admin must act on come back as a `SubscriptionRefusal` (not thrown): Graph
 * could not validate the notification URL, or a permission is missing.
 */

export const MAX_SUBSCRIPTION_MINUTES = 41_760;

export interface CreateSubscription {
  resource: 'users' | 'groups';
  notificationUrl: string;
  lifecycleNotificationUrl: string;
  clientState: string;
  expiresAt: Date;
}

export interface CreatedSubscription {
  id: string;
  expiresAt: Date;
}

export interface SubscriptionRefusal {
  refused: 'unreachable' | 'forbidden' | 'failing';
  message: string;
}

export interface SubscriptionClient {
  create(input: CreateSubscription): Promise<CreatedSubscription | SubscriptionRefusal>;
  /** null: Graph no longer knows the subscription (expired or removed). */
  renew(id: string, expiresAt: Date): Promise<CreatedSubscription | null>;
  reauthorize(id: string): Promise<boolean>;
  remove(id: string): Promise<void>;
}

/** Creation waits for Graph's validation request to our URL (10 s at most), so a little longer than that. */
const TIMEOUT_MS = 30_000;

export function createSubscriptionClient(options: GraphTransportOptions): SubscriptionClient {
  const { send } = createGraphTransport({
    timeoutMs: TIMEOUT_MS,
    ...options,
    retry: { maxAttempts: 3, budgetMs: 30_000, ...options.retry },
  });
  const created = (answer: GraphAnswer): CreatedSubscription => {
    const body = answer.body as { id: string; expirationDateTime: string };
    return { id: body.id, expiresAt: new Date(body.expirationDateTime) };
  };
  return {
    async create(input) {
      const answer = await send({
        method: 'POST',
        url: '/subscriptions',
        purpose: `subscribing to changes of ${input.resource}`,
        accept: [400, 403],
        body: {
          changeType: 'updated,deleted',
          resource: `/${input.resource}`,
          notificationUrl: input.notificationUrl,
          lifecycleNotificationUrl: input.lifecycleNotificationUrl,
          clientState: input.clientState,
          expirationDateTime: input.expiresAt.toISOString(),
        },
      });
      if (answer.status < 300) return created(answer);
      const error = graphErrorOf(answer.body);
      if (answer.status === 403) {
        const permission = input.resource === 'users' ? 'User.Read.All' : 'Group.Read.All';
        return {
          refused: 'forbidden',
          message: `Microsoft Graph refused to send change notifications for ${input.resource} (${error.code ?? 403}): grant ${permission} to the app registration and reauthorize.`,
        };
      }
      if (error.code === 'ValidationError') {
        return {
          refused: 'unreachable',
          message: `Microsoft Graph could not reach ${input.notificationUrl} (its validation request failed): PUBLIC_URL must be an https address reachable from the internet that serves /graph/notifications and /graph/lifecycle.`,
        };
      }
      return {
        refused: 'failing',
        message: `Microsoft Graph refused the subscription for ${input.resource} (${error.code ?? 400}: ${error.message ?? 'no details'}).`,
      };
    },
    async renew(id, expiresAt) {
      const answer = await send({
        method: 'PATCH',
        url: `/subscriptions/${encodeURIComponent(id)}`,
        purpose: 'renewing a change-notification subscription',
        accept: [404],
        body: { expirationDateTime: expiresAt.toISOString() },
      });
      return answer.status === 404 ? null : created(answer);
    },
    async reauthorize(id) {
      const answer = await send({
        method: 'POST',
        url: `/subscriptions/${encodeURIComponent(id)}/reauthorize`,
        purpose: 'reauthorizing a change-notification subscription',
        accept: [404],
        body: {},
      });
      return answer.status !== 404;
    },
    async remove(id) {
      await send({
        method: 'DELETE',
        url: `/subscriptions/${encodeURIComponent(id)}`,
        purpose: 'deleting a change-notification subscription',
        accept: [404],
      });
    },
  };
}
