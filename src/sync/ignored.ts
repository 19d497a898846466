/** People read but not imported, grouped by reason with a few examples each, for the run report. */

export interface IgnoredReason {
  reason: string;
  count: number;
  examples: string[];
}

const MAX_REASONS = 10;
const MAX_EXAMPLES = 5;

export class IgnoredTally {
  private readonly reasons = new Map<string, IgnoredReason>();
  private total = 0;

  add(reason: string, who: string): void {
    this.total++;
    let entry = this.reasons.get(reason);
    if (!entry) {
      entry = { reason, count: 0, examples: [] };
      this.reasons.set(reason, entry);
    }
    entry.count++;
    if (entry.examples.length < MAX_EXAMPLES) entry.examples.push(who);
  }

  get count(): number {
    return this.total;
  }

  /** The most frequent reasons first. */
  summary(): IgnoredReason[] {
    return [...this.reasons.values()]
      .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason))
      .slice(0, MAX_REASONS)
      .map((r) => ({ ...r, examples: [...r.examples] }));
  }
}
