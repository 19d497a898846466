/**
 * Live progress of a run, for the terminal's bar and Slack's progress message. Reports are throttled
 * (a phase change or the end always gets through), so a listener that edits a Slack message is not
 * called for every page.
 */

export type SyncPhase = 'starting' | 'reading' | 'applying' | 'photos' | 'done';

export interface ProgressReport {
  phase: SyncPhase;
  /** People read from Entra ID so far. */
  read: number;
  /** Profile and photo rows written (known once applied). */
  written: number;
  /** Total people expected, when known (a full read of a tenant-wide source after the first run). */
  expected?: number;
  /** Photos phase: people whose photo was checked so far. */
  photosChecked?: number;
}

export interface SyncProgress {
  onProgress(report: ProgressReport): void;
}

export function throttledProgress(target: SyncProgress | undefined, intervalMs: number, now = () => Date.now()) {
  let last = 0;
  let lastPhase: SyncPhase | undefined;
  return (report: ProgressReport, force = false) => {
    if (!target) return;
    const t = now();
    if (!force && report.phase === lastPhase && t - last < intervalMs) return;
    last = t;
    lastPhase = report.phase;
    try {
      target.onProgress(report);
    } catch {
      // A listener's failure (say, Slack refusing an update) must not fail the sync.
    }
  };
}
