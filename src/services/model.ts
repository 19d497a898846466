import type { RunMode, RunStatus, RunTrigger, SourceStatus } from '../db/schema.ts';
import type { IgnoredReason } from '../sync/ignored.ts';
import type { Mapping } from '../sync/mapping.ts';
import type { RunCounts } from '../sync/runs.ts';

/**
 * Plain data the Slack surfaces render. Shapes follow the `sources` and `sync_runs` rows closely so the
 * services behind the app map a row onto them field by field; nothing here knows Bolt or the database.
 */

export type { IgnoredReason, Mapping, RunCounts, RunMode, RunStatus, RunTrigger, SourceStatus };

/** Who is acting, as Slack tells us on every command and interaction. */
export interface Actor {
  teamId: string;
  userId: string;
}

export interface GroupRef {
  id: string;
  name: string;
}

/** Failure codes of DESIGN §6; any other code renders as a generic failure with its message. */
export type FailureCode =
  | 'reauth_required'
  | 'app_misconfigured'
  | 'group_missing'
  | 'no_valid_people'
  | 'graph_unavailable';

/** One `sync_runs` row. */
export interface RunReport {
  id: number;
  trigger: RunTrigger;
  /** Slack user id of whoever asked for it, when a person did. */
  requestedBy: string | null;
  mode: RunMode;
  status: RunStatus;
  startedAt: Date;
  finishedAt: Date | null;
  counts: RunCounts;
  ignored: IgnoredReason[];
  errorCode: FailureCode | (string & {}) | null;
  /** Plain words for a person; shown as is. */
  errorMessage: string | null;
}

/** Removals a run held back because they exceed the deletion threshold. */
export interface HeldRemovals {
  runId: number;
  removals: number;
  activeProfiles: number;
  /** Fraction of active profiles one run may remove unapproved, e.g. 0.1. */
  threshold: number;
  /** A few names of the people who would be removed. */
  sample: string[];
}

/** Everything the dashboard and `/aad status` show about the workspace's Entra connection. */
export interface SourceReport {
  id: string;
  status: SourceStatus;
  authMode: 'delegated' | 'application';
  tenantId: string | null;
  /** Tenant's display name when known (e.g. "Contoso"), else the tenant id is shown. */
  tenantName: string | null;
  authorizedBy: { upn: string | null; slackUserId: string | null; at: Date | null };
  syncEnabled: boolean;
  photoSync: boolean;
  adminChannel: string | null;
  /** Selected groups; empty means everyone in the tenant. */
  groups: GroupRef[];
  mapping: Mapping;
  /** Human wording of the schedule, e.g. "60 minutes" (SYNC_INTERVAL). */
  syncEvery: string;
  activeProfiles: number;
  lastSuccessAt: Date | null;
  /** When the scheduler will run next; null when disabled or unknown. */
  nextRunAt: Date | null;
  running: RunReport | null;
  /** Finished runs, newest first (a handful is enough). */
  recentRuns: RunReport[];
  held: HeldRemovals | null;
}

/** What the sync reports while it runs, for the live progress message. */
export interface RunProgress {
  runId: number;
  mode: RunMode;
  trigger: RunTrigger;
  requestedBy: string | null;
  startedAt: Date;
  phase: 'starting' | 'reading' | 'photos' | 'applying';
  read: number;
  written: number;
  /** People expected in total, when Graph said so; null makes the message show counts without a bar. */
  total: number | null;
  photos: number;
}

/** The dry run's outcome: who would be imported and who skipped, and why. */
export type PreviewReport =
  | { ok: true; people: number; ignored: number; reasons: IgnoredReason[] }
  | { ok: false; message: string };
