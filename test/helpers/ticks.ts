import { expect } from 'vitest';
import type { RunResult } from '../../src/sync/scheduler/scheduler.ts';
import { waitFor } from './wait.ts';

/**
 * Runs of one scheduled source, in order: one per tick. A second run inside a tick would start as soon as
 * the first finished; ticks are an interval apart from when each job was taken, and a run's row is written
 * a moment after that (longer under load), so half an interval tells the two apart.
 */
export function expectOneRunPerTick(runs: { started_at: Date; finished_at: Date | null }[], intervalMs: number): void {
  for (let i = 1; i < runs.length; i++) {
    expect(runs[i].started_at.getTime()).toBeGreaterThanOrEqual(runs[i - 1].finished_at!.getTime());
    expect(runs[i].started_at.getTime() - runs[i - 1].started_at.getTime()).toBeGreaterThan(intervalMs / 2);
  }
}

/**
 * What the ticks of schedules turned into, in the order they finished (`results()`), `beforeDisabling` of them
 * before the sources were disabled, once the `runs` recorded are all reported: every tick ran and succeeded
 * (Agenda never handed one tick to two replicas: the engine lock would have answered the second with
 * already_running). The one exception is a tick already taken when its schedule was removed: its gate
 * turns it away without a run.
 */
export async function expectTicksRan(
  results: () => RunResult[],
  { runs, beforeDisabling }: { runs: number; beforeDisabling: number },
): Promise<void> {
  const ran = () => results().filter((result) => result.kind === 'ran');
  await waitFor(() => ran().length >= runs, { what: 'every run reported' });
  expect(ran()).toHaveLength(runs);
  const succeeded = (result: RunResult) => result.kind === 'ran' && result.outcome.status === 'succeeded';
  expect(
    results()
      .slice(0, beforeDisabling)
      .filter((result) => !succeeded(result)),
  ).toEqual([]);
  const turnedAway = results()
    .slice(beforeDisabling)
    .filter((result) => !succeeded(result));
  expect(turnedAway).toEqual(turnedAway.map(() => ({ kind: 'skipped', reason: 'disabled' })));
}
