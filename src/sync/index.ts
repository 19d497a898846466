/** The sync layer's public surface: one run of one source, its records, held-run decisions, wiring. */

export { syncDepsFromConfig } from './compose.ts';
export {
  DEFAULT_TIMING,
  type HeldRemovals,
  type RunOutcome,
  runSync,
  type SyncDeps,
  type SyncRequest,
  type SyncTiming,
} from './engine.ts';
export { classifyFailure, type FailureCode, SyncFailure } from './errors.ts';
export { approveHeldRun, HeldRunError, type HeldRunProblem, rejectHeldRun } from './held.ts';
export type { IgnoredReason } from './ignored.ts';
export type { ProgressReport, SyncPhase, SyncProgress } from './progress.ts';
export { graphReaderFactory, type ReaderFactory, type ReaderHooks, type SourceReader } from './reader.ts';
export {
  type HeldDecision,
  listRecentRuns,
  loadRun,
  type RunCounts,
  type RunInProgress,
  SKIPPED_NEEDS_REAUTH,
} from './runs.ts';
export { FULL_SYNC_EVERY_MS, type RequestedMode } from './scope.ts';
