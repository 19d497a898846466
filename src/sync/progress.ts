/** Live progress of a run, for the terminal's bar and Slack's progress message. */

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

/**
 * The engine's side of progress: every report goes through, unthrottled. Each listener sets its own pace (the
 * terminal's bar redraws at its frame rate, Slack's message at most every few seconds, see
 * slack/progress-reporter.ts), so the reports pass through one throttle on the way to any screen.
 */
export function progressOf(target: SyncProgress | undefined): (report: ProgressReport) => void {
  return (report) => {
    try {
      target?.onProgress(report);
    } catch {
      // A listener's failure (say, Slack refusing an update) must not fail the sync.
    }
  };
}
