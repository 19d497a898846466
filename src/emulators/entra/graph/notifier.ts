import type { EmulatedSubscription } from './subscriptions.ts';

/**
 * How the emulated Graph delivers change and lifecycle notifications to the app: HTTP POSTs of a
 * `changeNotificationCollection`, several notifications per POST, retried with back-off when the
 * endpoint does not answer 2xx within 10 seconds.
 *
 * "Receive change notifications through webhooks" (learn.microsoft.com/graph/change-notifications-delivery-webhooks):
 * the endpoint must answer within 10 s; 2xx means delivered; otherwise Graph retries with exponential
 * back-off for up to 4 hours. The emulator retries `maxAttempts` times (1 s, 2 s, 4 s, …) and then counts
 * the batch as dropped: a test cannot wait 4 hours.
 */

export interface ChangeNotification {
  subscriptionId: string;
  subscriptionExpirationDateTime: string;
  changeType?: 'updated' | 'deleted';
  resource?: string;
  resourceData?: Record<string, string>;
  lifecycleEvent?: LifecycleEvent;
  clientState: string | null;
  tenantId: string;
}

export type LifecycleEvent = 'reauthorizationRequired' | 'subscriptionRemoved' | 'missed';

export interface DeliveryStats {
  /** POSTs answered 2xx, and the notifications they carried. */
  posts: number;
  delivered: number;
  /** Attempts that failed (refused, timed out, non-2xx) and notifications given up on. */
  failedAttempts: number;
  dropped: number;
}

/** Graph's delivery timeout for a notification or validation request. */
export const DELIVERY_TIMEOUT_MS = 10_000;
/** Notifications per POST; Graph batches too, so the app must handle collections. */
const BATCH = 100;
/** Changes made within this window go out together, as Graph batches closely spaced changes. */
const GATHER_MS = 50;

export class Notifier {
  readonly stats: DeliveryStats = { posts: 0, delivered: 0, failedAttempts: 0, dropped: 0 };
  /** Set through POST /_emulator/notifications: every delivery and validation fails as if the host were down. */
  reachable = true;
  maxAttempts = 4;
  private readonly pending = new Map<string, { url: string; items: ChangeNotification[] }>();
  private timer: NodeJS.Timeout | null = null;
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;

  queue(subscription: EmulatedSubscription, notification: ChangeNotification, lifecycle = false): void {
    if (this.closed) return;
    const url = lifecycle ? subscription.lifecycleNotificationUrl : subscription.notificationUrl;
    if (!url) return;
    const key = `${url}\n${subscription.id}`;
    const entry = this.pending.get(key) ?? { url, items: [] };
    entry.items.push(notification);
    this.pending.set(key, entry);
    this.timer ??= setTimeout(() => this.flush(), GATHER_MS);
  }

  /** Sends everything queued now; resolves when every POST (with its retries) has ended. */
  async settle(): Promise<void> {
    if (this.timer) this.flush();
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending.clear();
  }

  /**
   * The validation request Graph sends before it creates a subscription ("Receive change notifications
   * through webhooks", Notification endpoint validation): POST `url?validationToken=…` with a text/plain
   * body; the answer must be 200 with the decoded token as its body within 10 seconds.
   */
  async validate(url: string, token: string): Promise<boolean> {
    if (!this.reachable) return false;
    try {
      const target = new URL(url);
      target.searchParams.set('validationToken', token);
      const response = await fetch(target, {
        method: 'POST',
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
      });
      const body = await response.text();
      return response.status === 200 && body === token;
    } catch {
      return false;
    }
  }

  private flush(): void {
    this.timer = null;
    const batches = [...this.pending.values()];
    this.pending.clear();
    for (const { url, items } of batches) {
      for (let i = 0; i < items.length; i += BATCH) this.track(this.deliver(url, items.slice(i, i + BATCH)));
    }
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  private async deliver(url: string, items: ChangeNotification[]): Promise<void> {
    for (let attempt = 1; attempt <= this.maxAttempts && !this.closed; attempt++) {
      if (await this.post(url, items)) {
        this.stats.posts++;
        this.stats.delivered += items.length;
        return;
      }
      this.stats.failedAttempts++;
      if (attempt < this.maxAttempts) await new Promise((resolve) => setTimeout(resolve, 1000 * 2 ** (attempt - 1)));
    }
    this.stats.dropped += items.length;
  }

  private async post(url: string, items: ChangeNotification[]): Promise<boolean> {
    if (!this.reachable) return false;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify({ value: items }),
        signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
      });
      await response.arrayBuffer().catch(() => undefined);
      return response.status >= 200 && response.status < 300;
    } catch {
      return false;
    }
  }
}
