/**
 * How long to wait before asking Graph again, the way Graph asks: `Retry-After` when it says so, else
 * exponential backoff with jitter; and when to stop. Pure, so the policy is tested without a clock.
 */

export interface RetryOptions {
  /** Requests per call, the first included. */
  maxAttempts: number;
  /** The longest single wait; a Retry-After above it ends the call instead of stalling the run. */
  maxWaitMs: number;
  /** Total time one call may spend waiting between attempts. */
  budgetMs: number;
  /** First backoff step when Graph gives no Retry-After. */
  baseDelayMs: number;
}

export const DEFAULT_RETRY: RetryOptions = {
  maxAttempts: 8,
  maxWaitMs: 120_000,
  budgetMs: 300_000,
  baseDelayMs: 1_000,
};

/** Statuses Graph documents as "try again later"; 500 and 502 are included because they pass too. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 500, 502, 503, 504]);

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  // An HTTP date always names its month; without this, Date.parse would read "-3" as a year.
  const date = /[a-z]{3}/i.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

/** Backoff for the n-th retry (1-based): base·2^(n−1), capped, with "equal jitter" (half fixed, half random). */
export function backoffMs(
  retry: number,
  options: Pick<RetryOptions, 'baseDelayMs' | 'maxWaitMs'>,
  random: number,
): number {
  const ceiling = Math.min(options.maxWaitMs, options.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.round(ceiling / 2 + (ceiling / 2) * random);
}

export interface RetryState {
  /** Attempts made so far (≥ 1). */
  attempts: number;
  /** Time already spent waiting in this call. */
  waitedMs: number;
  /** Parsed Retry-After of the last answer, if any. */
  retryAfterMs: number | undefined;
}

export type RetryDecision = { retry: true; delayMs: number } | { retry: false; reason: string };

export function decideRetry(state: RetryState, options: RetryOptions, random: number): RetryDecision {
  if (state.attempts >= options.maxAttempts) {
    return { retry: false, reason: `${state.attempts} attempts` };
  }
  if (state.retryAfterMs !== undefined && state.retryAfterMs > options.maxWaitMs) {
    return { retry: false, reason: `Graph asked to wait ${Math.ceil(state.retryAfterMs / 1000)} s` };
  }
  const delayMs = state.retryAfterMs ?? backoffMs(state.attempts, options, random);
  if (state.waitedMs + delayMs > options.budgetMs) {
    return { retry: false, reason: `${state.attempts} attempts within ${Math.round(state.waitedMs / 1000)} s` };
  }
  return { retry: true, delayMs };
}
