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
  /** Graph change notifications: live (changes arrive in seconds), off, or refused and why. */
  changeFeed: {
    state: 'live' | 'off' | 'problem';
    problem: string | null;
    /** Live for people; joins and leaves of the chosen groups wait for the scheduled runs (no Group.Read.All). */
    membershipScheduled: boolean;
    lastNotifiedAt: Date | null;
  };
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

/**
 * Why the services refused or could not do what an admin asked, as data. The words are the Slack layer's
 * (slack/views/refusals.ts); `detail` carries an explanation from below (Graph, a failed run) verbatim.
 */
export type Refusal =
  | { code: 'not_signed_in' | 'finish_setup' | 'not_set_up' | 'reauth_first' }
  | { code: 'not_started_yet' | 'turned_off_meanwhile' | 'run_in_progress' | 'alert_out_of_date' }
  /** The group search (an option text of at most 75 characters) or the groups' lookup ran out of time. */
  | { code: 'search_slow' | 'groups_unconfirmed' }
  | { code: 'search_failed'; cause: 'reauth_required' | 'app_misconfigured' | 'unavailable' | 'unknown' }
  | { code: 'groups_gone'; names: string[] }
  | { code: 'held_again'; removals: number | null }
  | { code: 'approved_but_failed' | 'preview_failed' | 'held_refused' | 'could_not_run'; detail: string | null };

/** The dry run's outcome: who would be imported and who skipped, and why. */
export type PreviewReport =
  | { ok: true; people: number; ignored: number; reasons: IgnoredReason[] }
  | { ok: false; refusal: Refusal };

/** An admin-channel alert (DESIGN §6) as plain data: one per failure streak. */
export type AlertCode = FailureCode | 'held' | (string & {});

export interface AlertResolution {
  kind: 'resolved' | 'approved' | 'rejected';
  /** Slack user who acted; null when the alert resolved itself (e.g. a later sync succeeded). */
  by: string | null;
  at: Date;
}

export interface AlertData {
  sourceId: string;
  code: AlertCode;
  /** The failed run's message in plain words. */
  message: string | null;
  /** Failures in this streak so far (1 on the first post). */
  count: number;
  firstAt: Date;
  lastAt: Date;
  /** `group_missing`: the groups that are gone. */
  missingGroups?: GroupRef[];
  /** `app_misconfigured`: the environment variable the operator must fix. */
  envVar?: string;
  /** `no_valid_people`: how many people were read. */
  peopleRead?: number;
  /** `reauth_required`: when the last sync that worked finished (null: none ever did). */
  lastSuccessAt?: Date | null;
  /** `held`: what would be removed. */
  held?: HeldRemovals;
  resolution?: AlertResolution;
}

/** A sync succeeded after a failure streak. */
export interface RecoveredData {
  run: RunReport;
  /** Failures in the streak that just ended. */
  failures: number;
  since: Date;
}
