/**
 * Injected trouble: latency on every Graph request (a fixed part plus a part per object returned, see
 * latency.ts), a 429 every N-th Graph request (each `$batch` item counts as one, as Graph throttles items
 * separately), a 5xx every N-th, every N-th of those without a Retry-After (`bareEvery`), and Entra's
 * throttling answer to every N-th token request (its shape depends on the grant: see auth/token.ts).
 * Counting is deterministic so a test knows exactly which request fails.
 */

export interface Faults {
  latencyMs: number;
  latencyPerItemMs: number;
  throttleEvery: number;
  retryAfterSeconds: number;
  failEvery: number;
  status: number;
  tokenThrottleEvery: number;
  /** Every N-th injected 429/5xx comes without a Retry-After header (0: all carry one). */
  bareEvery: number;
  /** For this long after a consent, client credentials fail with AADSTS700016 (replication). */
  consentDelaySeconds: number;
}

/** `retryAfterSeconds` null: the answer has no Retry-After header. */
export type Trouble =
  | { kind: 'throttle'; retryAfterSeconds: number | null }
  | { kind: 'fail'; status: number; retryAfterSeconds: number | null };

const NO_FAULTS: Faults = {
  latencyMs: 0,
  latencyPerItemMs: 0,
  throttleEvery: 0,
  retryAfterSeconds: 1,
  failEvery: 0,
  status: 503,
  tokenThrottleEvery: 0,
  bareEvery: 0,
  consentDelaySeconds: 0,
};

export class FaultInjector {
  faults: Faults;
  private graphCount = 0;
  private tokenCount = 0;
  private troubleCount = 0;

  constructor(initial: Partial<Faults> = {}) {
    this.faults = { ...NO_FAULTS, ...initial };
  }

  /** Applies the fields given; the others keep their value. Returns problems instead of half-applying. */
  update(changes: Record<string, unknown>): string[] {
    const problems: string[] = [];
    const next = { ...this.faults };
    for (const [key, value] of Object.entries(changes)) {
      if (!(key in NO_FAULTS)) problems.push(`unknown fault "${key}"`);
      else if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
        problems.push(`${key} must be a whole number ≥ 0`);
      } else next[key as keyof Faults] = value;
    }
    if (next.status < 500 || next.status > 599) problems.push('status must be a 5xx code');
    if (problems.length === 0) {
      this.faults = next;
      this.graphCount = 0;
      this.tokenCount = 0;
      this.troubleCount = 0;
    }
    return problems;
  }

  /** Counts one Graph request (or `$batch` item) and says whether it must fail. */
  nextGraphRequest(): Trouble | null {
    this.graphCount++;
    const { throttleEvery, failEvery, status } = this.faults;
    if (throttleEvery > 0 && this.graphCount % throttleEvery === 0) {
      return { kind: 'throttle', retryAfterSeconds: this.retryAfter() };
    }
    if (failEvery > 0 && this.graphCount % failEvery === 0) {
      return { kind: 'fail', status, retryAfterSeconds: this.retryAfter() };
    }
    return null;
  }

  private retryAfter(): number | null {
    this.troubleCount++;
    const { bareEvery, retryAfterSeconds } = this.faults;
    return bareEvery > 0 && this.troubleCount % bareEvery === 0 ? null : retryAfterSeconds;
  }

  /** Counts one token request and says whether Entra throttles it. */
  nextTokenRequest(): boolean {
    this.tokenCount++;
    const { tokenThrottleEvery } = this.faults;
    return tokenThrottleEvery > 0 && this.tokenCount % tokenThrottleEvery === 0;
  }
}
