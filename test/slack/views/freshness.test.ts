import { describe, expect, it } from 'vitest';
import type { SourceReport } from '../../../src/services/model.ts';
import { freshnessLine } from '../../../src/slack/views/home.ts';

/** The Home tab's freshness line: what it says for each state of the change feed. */

const SYNCED = new Date('2026-12-03T10:00:00Z');
type Feed = SourceReport['changeFeed'];
const feed = (over: Partial<Feed>): Feed => ({
  state: 'off',
  problem: null,
  membershipScheduled: false,
  lastNotifiedAt: null,
  ...over,
});
const line = (changeFeed: Feed, syncEnabled = true, lastSuccessAt: Date | null = SYNCED) =>
  freshnessLine({ changeFeed, syncEnabled, lastSuccessAt });

describe('Home freshness line', () => {
  it('says nothing before the first successful sync', () => {
    expect(line(feed({ state: 'live' }), true, null)).toBeNull();
  });

  it('says live, with when the directory was last updated', () => {
    expect(line(feed({ state: 'live' }))).toBe(
      ':zap: Live: changes made in Entra ID reach the directory within seconds (updated <!date^1796292000^{ago}|3 Dec 2026, 10:00 UTC>).',
    );
  });

  it('says live for people but scheduled for group joins and leaves when Group.Read.All is not granted', () => {
    const text = line(feed({ state: 'live', membershipScheduled: true }));
    expect(text).toMatch(/^:zap: Live: /);
    expect(text).toContain(
      'Joins and leaves of the chosen groups arrive with the scheduled syncs: change notifications on groups need the Group.Read.All permission',
    );
  });

  it('gives the reason and the fallback when Graph refused, and the next sync otherwise', () => {
    expect(line(feed({ state: 'problem', problem: 'Graph could not reach https://x.example.com.' }))).toBe(
      ':warning: Data as of the <!date^1796292000^{time}|3 Dec 2026, 10:00 UTC> sync. Near-real-time updates are off: Graph could not reach https://x.example.com. Scheduled syncs continue meanwhile.',
    );
    expect(line(feed({}))).toMatch(/sync\. Changes arrive with the next scheduled sync\.$/);
    expect(line(feed({}), false)).toMatch(/^Data as of the .* sync\.$/);
  });
});
