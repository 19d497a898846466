/**
 * How many Graph requests a parallel read keeps in flight: additive increase, multiplicative decrease.
 * Each answered request below Graph's warning level adds one slot (up to `max`); an answer past 80 % of
 * the app's budget (`x-ms-throttle-limit-percentage`) stops the growth; a 429 halves the limit. So a read
 * starts gently, speeds up while Graph has room, and backs off as soon as the budget runs short — while
 * the transport waits out each 429's Retry-After before that request is tried again.
 */

export interface AdaptiveLimitOptions {
  initial: number;
  max: number;
}

export type Signal = 'ok' | 'near-limit' | 'throttled';

export class AdaptiveLimit {
  limit: number;
  inFlight = 0;
  /** The most requests ever in flight at once. */
  peak = 0;
  throttled = 0;
  private readonly max: number;
  private waiting: (() => void)[] = [];

  constructor(options: AdaptiveLimitOptions) {
    this.max = Math.max(1, options.max);
    this.limit = Math.min(this.max, Math.max(1, options.initial));
  }

  async acquire(): Promise<void> {
    while (this.inFlight >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.inFlight++;
    this.peak = Math.max(this.peak, this.inFlight);
  }

  /** What Graph said about one exchange; may be called several times per request (retries). */
  signal(signal: Signal): void {
    if (signal === 'throttled') {
      this.throttled++;
      this.limit = Math.max(1, Math.floor(this.limit / 2));
    } else if (signal === 'ok') {
      this.limit = Math.min(this.max, this.limit + 1);
    }
    this.wake();
  }

  release(): void {
    this.inFlight--;
    this.wake();
  }

  /** Runs `work` in a slot. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await work();
    } finally {
      this.release();
    }
  }

  /** For a request's `observe`: what an HTTP answer tells the limit (2xx: room, or near the limit; 429: back off). */
  readonly observe = (status: number, headers: Headers): void => {
    const signal: Signal | null =
      status === 429
        ? 'throttled'
        : status < 300
          ? headers.has('x-ms-throttle-limit-percentage')
            ? 'near-limit'
            : 'ok'
          : null;
    if (signal) this.signal(signal);
  };

  private wake(): void {
    const free = this.limit - this.inFlight;
    for (const resolve of this.waiting.splice(0, Math.max(0, free))) resolve();
  }
}
