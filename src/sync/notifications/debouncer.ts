/**
 * Turns a stream of change notifications into few sync runs: the first notification for a source arms a
 * timer of `windowMs`; everything arriving meanwhile rides along; when it fires, one delta run is asked
 * for. If a run is already going (it may have read past the change), the request is re-armed so a run
 * starts after it. A burst of 10,000 notifications therefore costs a handful of runs, not thousands.
 */

export type FireOutcome = 'started' | 'busy' | 'skipped';

export interface DebouncerStats {
  touches: number;
  fired: number;
  started: number;
}

export class Debouncer {
  readonly stats: DebouncerStats = { touches: 0, fired: 0, started: 0 };
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly active = new Set<string>();
  private readonly firing = new Set<Promise<void>>();
  /** Sources touched while their request was being made: the run just asked for may miss those changes. */
  private readonly dirty = new Set<string>();
  private closed = false;

  constructor(
    private readonly fire: (sourceId: string) => Promise<FireOutcome>,
    private readonly windowMs: number,
    private readonly onError: (error: unknown, sourceId: string) => void,
  ) {}

  touch(sourceId: string): void {
    this.stats.touches++;
    if (this.closed) return;
    if (this.timers.has(sourceId)) {
      if (this.active.has(sourceId)) this.dirty.add(sourceId);
      return;
    }
    this.arm(sourceId);
  }

  /** Stops every pending timer; resolves when requests already firing have ended. */
  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    await Promise.all([...this.firing]);
  }

  private arm(sourceId: string): void {
    const timer = setTimeout(() => {
      const work = this.run(sourceId);
      this.firing.add(work);
      void work.finally(() => this.firing.delete(work));
    }, this.windowMs);
    timer.unref();
    this.timers.set(sourceId, timer);
  }

  private async run(sourceId: string): Promise<void> {
    this.stats.fired++;
    this.active.add(sourceId);
    let outcome: FireOutcome = 'skipped';
    try {
      outcome = await this.fire(sourceId);
    } catch (error) {
      this.onError(error, sourceId);
    }
    this.active.delete(sourceId);
    this.timers.delete(sourceId);
    const again = outcome === 'busy' || this.dirty.delete(sourceId);
    if (outcome === 'started') this.stats.started++;
    if (again && !this.closed) this.arm(sourceId);
  }
}
