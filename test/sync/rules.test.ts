import { describe, expect, it } from 'vitest';
import { AzureError } from '../../src/azure/index.ts';
import { exceedsThreshold } from '../../src/sync/engine.ts';
import { classifyFailure, SyncFailure, statusAfterFailure } from '../../src/sync/errors.ts';
import { IgnoredTally } from '../../src/sync/ignored.ts';
import { DEFAULT_MAPPING } from '../../src/sync/mapping.ts';
import { type ProgressReport, progressOf } from '../../src/sync/progress.ts';
import { chooseMode, deltaScopeOf, FULL_SYNC_EVERY_MS } from '../../src/sync/scope.ts';

const now = new Date('2026-03-01T12:00:00Z');
const scope = deltaScopeOf(['g2', 'g1'], DEFAULT_MAPPING);
const synced = {
  usersDeltaLink: 'https://graph/delta?$deltatoken=x',
  deltaScope: scope,
  lastFullSyncAt: new Date(now.getTime() - 3600_000),
};

describe('chooseMode', () => {
  it('reads changes only when the last full read is recent and of the same scope', () => {
    expect(chooseMode('auto', synced, scope, now).mode).toBe('delta');
    expect(chooseMode('auto', { ...synced, usersDeltaLink: null }, scope, now)).toEqual({
      mode: 'full',
      why: 'first sync',
    });
    expect(chooseMode('auto', { ...synced, deltaScope: 'other' }, scope, now).why).toBe('groups or mappings changed');
    const stale = { ...synced, lastFullSyncAt: new Date(now.getTime() - FULL_SYNC_EVERY_MS) };
    expect(chooseMode('auto', stale, scope, now).why).toBe('daily full reconciliation');
    expect(chooseMode('full', synced, scope, now).mode).toBe('full');
    expect(chooseMode('preview', synced, scope, now).mode).toBe('preview');
  });

  it('keys the scope on the set of groups and on every mapped attribute', () => {
    expect(deltaScopeOf(['g1', 'g2'], DEFAULT_MAPPING)).toBe(scope);
    expect(deltaScopeOf(['g1'], DEFAULT_MAPPING)).not.toBe(scope);
    expect(deltaScopeOf(['g1', 'g2'], { ...DEFAULT_MAPPING, jobTitle: 'department' })).not.toBe(scope);
  });
});

describe('exceedsThreshold', () => {
  const plan = (removed: number, active: number) => ({ removed, active, removalSample: [] });
  it('holds more than the threshold, and everyone whatever the threshold', () => {
    expect(exceedsThreshold(plan(0, 0), 0.1)).toBe(false);
    expect(exceedsThreshold(plan(10, 100), 0.1)).toBe(false);
    expect(exceedsThreshold(plan(11, 100), 0.1)).toBe(true);
    expect(exceedsThreshold(plan(99, 100), 1)).toBe(false);
    expect(exceedsThreshold(plan(100, 100), 1)).toBe(true);
    expect(exceedsThreshold(plan(1, 1), 1)).toBe(true);
  });
});

describe('IgnoredTally', () => {
  it('groups by reason, most frequent first, with at most five examples each', () => {
    const tally = new IgnoredTally();
    for (let i = 0; i < 7; i++) tally.add('missing Email (mail)', `user${i}`);
    tally.add('account disabled', 'gone@contoso.com');
    expect(tally.count).toBe(8);
    expect(tally.summary()).toEqual([
      { reason: 'missing Email (mail)', count: 7, examples: ['user0', 'user1', 'user2', 'user3', 'user4'] },
      { reason: 'account disabled', count: 1, examples: ['gone@contoso.com'] },
    ]);
  });
});

describe('progressOf', () => {
  it('passes every report, in order: listeners set their own pace', () => {
    const seen: ProgressReport[] = [];
    const report = progressOf({ onProgress: (r) => seen.push(r) });
    report({ phase: 'reading', read: 1, written: 0 });
    report({ phase: 'reading', read: 2, written: 0 });
    report({ phase: 'done', read: 2, written: 2 });
    expect(seen.map((r) => `${r.phase}:${r.read}`)).toEqual(['reading:1', 'reading:2', 'done:2']);
  });

  it('survives a listener that throws, and no listener at all', () => {
    const report = progressOf({
      onProgress: () => {
        throw new Error('Slack said no');
      },
    });
    expect(() => report({ phase: 'reading', read: 1, written: 0 })).not.toThrow();
    expect(() => progressOf(undefined)({ phase: 'reading', read: 1, written: 0 })).not.toThrow();
  });
});

describe('classifyFailure', () => {
  it('keeps the Azure layer codes, folds transient into graph_unavailable, and names unexpected faults', () => {
    expect(classifyFailure(new AzureError('reauth_required', 'sign in again'))).toEqual({
      code: 'reauth_required',
      message: 'sign in again',
    });
    expect(classifyFailure(new AzureError('transient', 'blip')).code).toBe('graph_unavailable');
    expect(classifyFailure(new SyncFailure('no_valid_people', 'nobody')).code).toBe('no_valid_people');
    expect(classifyFailure(new Error('socket hang up'))).toEqual({
      code: 'internal_error',
      message: 'The sync stopped on an unexpected error: socket hang up',
    });
    expect(statusAfterFailure('reauth_required')).toBe('needs_reauth');
    expect(statusAfterFailure('group_missing')).toBe('failing');
  });
});
