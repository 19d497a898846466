import { describe, expect, it } from 'vitest';
import {
  backoffMs,
  DEFAULT_RETRY,
  decideRetry,
  parseRetryAfter,
  RETRYABLE_STATUSES,
} from '../../src/azure/retry-policy.ts';

const options = { maxAttempts: 5, maxWaitMs: 30_000, budgetMs: 60_000, baseDelayMs: 1_000 };

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-26T10:00:00Z');

  it('reads delta-seconds, fractions included', () => {
    expect(parseRetryAfter('7', now)).toBe(7_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('1.5', now)).toBe(1_500);
  });

  it('reads an HTTP date relative to now, never negative', () => {
    expect(parseRetryAfter('Thu, 26 Nov 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Thu, 26 Nov 2026 09:00:00 GMT', now)).toBe(0);
  });

  it('ignores absent and unreadable values', () => {
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-3', now)).toBeUndefined();
  });
});

describe('backoffMs', () => {
  it('doubles per retry, with half of each step random', () => {
    expect(backoffMs(1, options, 0)).toBe(500);
    expect(backoffMs(1, options, 1)).toBe(1_000);
    expect(backoffMs(2, options, 0)).toBe(1_000);
    expect(backoffMs(3, options, 1)).toBe(4_000);
    expect(backoffMs(3, options, 0.5)).toBe(3_000);
  });

  it('never exceeds maxWaitMs', () => {
    expect(backoffMs(30, options, 1)).toBe(30_000);
    expect(backoffMs(30, options, 0)).toBe(15_000);
  });
});

describe('decideRetry', () => {
  it('waits exactly what Retry-After asks', () => {
    expect(decideRetry({ attempts: 1, waitedMs: 0, retryAfterMs: 2_000 }, options, 0.9)).toEqual({
      retry: true,
      delayMs: 2_000,
    });
    expect(decideRetry({ attempts: 1, waitedMs: 0, retryAfterMs: 0 }, options, 0.9)).toEqual({
      retry: true,
      delayMs: 0,
    });
  });

  it('backs off when Graph gives no Retry-After', () => {
    expect(decideRetry({ attempts: 2, waitedMs: 0, retryAfterMs: undefined }, options, 1)).toEqual({
      retry: true,
      delayMs: 2_000,
    });
  });

  it('stops after maxAttempts', () => {
    const decision = decideRetry({ attempts: 5, waitedMs: 0, retryAfterMs: 0 }, options, 0);
    expect(decision).toEqual({ retry: false, reason: '5 attempts' });
  });

  it('stops when Graph asks for a longer pause than one wait may last', () => {
    const decision = decideRetry({ attempts: 1, waitedMs: 0, retryAfterMs: 31_000 }, options, 0);
    expect(decision).toEqual({ retry: false, reason: 'Graph asked to wait 31 s' });
  });

  it('stops when the wait would overrun the budget', () => {
    expect(decideRetry({ attempts: 2, waitedMs: 55_000, retryAfterMs: 6_000 }, options, 0).retry).toBe(false);
    expect(decideRetry({ attempts: 2, waitedMs: 54_000, retryAfterMs: 6_000 }, options, 0).retry).toBe(true);
  });

  it('bounds a run of failures in attempts and in time', () => {
    let state = { attempts: 1, waitedMs: 0, retryAfterMs: undefined as number | undefined };
    let waits = 0;
    for (;;) {
      const decision = decideRetry(state, DEFAULT_RETRY, 1);
      if (!decision.retry) break;
      waits++;
      state = { attempts: state.attempts + 1, waitedMs: state.waitedMs + decision.delayMs, retryAfterMs: undefined };
    }
    expect(waits).toBeLessThan(DEFAULT_RETRY.maxAttempts);
    expect(state.waitedMs).toBeLessThanOrEqual(DEFAULT_RETRY.budgetMs);
  });
});

it('retries the statuses Graph means as "later", not client errors', () => {
  for (const status of [429, 503, 504]) expect(RETRYABLE_STATUSES.has(status)).toBe(true);
  for (const status of [400, 401, 403, 404, 410]) expect(RETRYABLE_STATUSES.has(status)).toBe(false);
});
