/**
 * Injected trouble: latency on every Graph request (a fixed part plus a part per object returned, see
 * latency.ts), a 429 every N-th Graph request (each `$batch` item
 * counts as one, as Graph throttles items separately), a 5xx every N-th, and a 429 every N-th token
 * request. Counting is deterministic so a test knows exactly which request fails.
 */

export interface Faults {
  latencyMs: number;
  latencyPerItemMs: number;
  throttleEvery: number;
  retryAfterSeconds: number;
  failEvery: number;
  status: number;
  tokenThrottleEvery: number;
}

export type Trouble =
  | { kind: 'throttle'; retryAfterSeconds: number }
  | { kind: 'fail'; status: number; retryAfterSeconds: number };

const NO_FAULTS: Faults = {
  latencyMs: 0,
  latencyPerItemMs: 0,
  throttleEvery: 0,
  retryAfterSeconds: 1,
  failEvery: 0,
  status: 503,
  tokenThrottleEvery: 0,
};

export class FaultInjector {
  faults: Faults;
  private graphCount = 0;
  private tokenCount = 0;

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
    }
    return problems;
  }

  /** Counts one Graph request (or `$batch` item) and says whether it must fail. */
  nextGraphRequest(): Trouble | null {
    this.graphCount++;
    const { throttleEvery, failEvery, retryAfterSeconds, status } = this.faults;
    if (throttleEvery > 0 && this.graphCount % throttleEvery === 0) return { kind: 'throttle', retryAfterSeconds };
    if (failEvery > 0 && this.graphCount % failEvery === 0) return { kind: 'fail', status, retryAfterSeconds };
    return null;
  }

  nextTokenRequest(): Trouble | null {
    this.tokenCount++;
    const { tokenThrottleEvery, retryAfterSeconds } = this.faults;
    if (tokenThrottleEvery > 0 && this.tokenCount % tokenThrottleEvery === 0) {
      return { kind: 'throttle', retryAfterSeconds };
    }
    return null;
  }
}
