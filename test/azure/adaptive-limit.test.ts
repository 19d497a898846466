import { describe, expect, it } from 'vitest';
import { AdaptiveLimit } from '../../src/azure/adaptive-limit.ts';

/** The concurrency bound of parallel reads: grows while Graph answers, halves on 429, never past `max`. */

describe('AdaptiveLimit', () => {
  it('grows by one per answer up to max, holds near the budget, halves on 429', () => {
    const limit = new AdaptiveLimit({ initial: 4, max: 6 });
    limit.signal('ok');
    limit.signal('ok');
    limit.signal('ok');
    expect(limit.limit).toBe(6);
    limit.signal('near-limit');
    expect(limit.limit).toBe(6);
    limit.signal('throttled');
    expect(limit.limit).toBe(3);
    limit.signal('throttled');
    limit.signal('throttled');
    limit.signal('throttled');
    expect(limit.limit).toBe(1);
    expect(limit.throttled).toBe(4);
  });

  it('keeps callers waiting beyond the limit and lets them in as slots free up', async () => {
    const limit = new AdaptiveLimit({ initial: 2, max: 2 });
    await limit.acquire();
    await limit.acquire();
    let third = false;
    const waiting = limit.acquire().then(() => {
      third = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(third).toBe(false);
    limit.release();
    await waiting;
    expect(third).toBe(true);
    expect(limit.peak).toBe(2);
    expect(limit.inFlight).toBe(2);
  });

  it('lets fewer in after a 429 until requests in flight drain below the new limit', async () => {
    const limit = new AdaptiveLimit({ initial: 4, max: 4 });
    for (let i = 0; i < 4; i++) await limit.acquire();
    limit.signal('throttled');
    limit.release();
    let admitted = false;
    const next = limit.acquire().then(() => {
      admitted = true;
    });
    limit.release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(admitted).toBe(false);
    limit.release();
    await next;
    expect(admitted).toBe(true);
    expect(limit.inFlight).toBe(2);
  });
});
