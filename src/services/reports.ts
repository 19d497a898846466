import { and, asc, desc, eq, ne } from 'drizzle-orm';
import type { Db, Sql } from '../db/client.ts';
import { type Source, type SyncRun, sourceGroups, sources, syncRuns } from '../db/schema.ts';
import type { HeldRemovals as EngineHeld } from '../sync/index.ts';
import { completeMapping } from '../sync/mapping.ts';
import { changeFeedState } from '../sync/notifications/subscriptions.ts';
import { SKIPPED_NEEDS_REAUTH } from '../sync/runs.ts';
import type { GroupRef, HeldRemovals, RunCounts, RunReport, SourceReport } from './model.ts';

/**
 * `sources`, `source_groups` and `sync_runs` rows as the plain data the Slack surfaces render
 * (src/services/model.ts), field by field.
 */

export function countsOf(run: SyncRun): RunCounts {
  return {
    read: run.readCount,
    created: run.createdCount,
    updated: run.updatedCount,
    unchanged: run.unchangedCount,
    removed: run.removedCount,
    ignored: run.ignoredCount,
    photos: run.photosCount,
  };
}

export function runReport(run: SyncRun): RunReport {
  return {
    id: run.id,
    trigger: run.trigger,
    requestedBy: run.requestedBy,
    mode: run.mode,
    status: run.status,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    counts: countsOf(run),
    ignored: run.ignoredExamples,
    // A run the scheduler skipped because the sign-in is gone is, to an admin, the same failure.
    errorCode: run.errorCode === SKIPPED_NEEDS_REAUTH ? 'reauth_required' : run.errorCode,
    errorMessage: run.errorMessage,
  };
}

/** What a held run would remove, from its `details.held`; null when the run holds nothing. */
export function heldRemovals(run: SyncRun): HeldRemovals | null {
  const held = run.details.held as EngineHeld | undefined;
  if (run.status !== 'held' || !held) return null;
  return {
    runId: run.id,
    removals: held.removals,
    activeProfiles: held.active,
    threshold: held.threshold,
    sample: held.sample.map((person) => person.displayName || person.email),
  };
}

/** The team's source: the oldest one, as `beginAuthorization` creates at most one per team. */
/** Whether `sourceId` is a source of the installation `teamId` (workspace, or org for an org-wide install). */
export async function sourceBelongsTo(db: Db, teamId: string, sourceId: string): Promise<boolean> {
  const [source] = await db
    .select({ id: sources.id })
    .from(sources)
    .where(and(eq(sources.id, sourceId), eq(sources.slackTeamId, teamId)));
  return source !== undefined;
}

export async function sourceOfTeam(db: Db, teamId: string): Promise<Source | undefined> {
  const [source] = await db
    .select()
    .from(sources)
    .where(eq(sources.slackTeamId, teamId))
    .orderBy(asc(sources.createdAt))
    .limit(1);
  return source;
}

export async function loadSource(db: Pick<Db, 'select'>, sourceId: string): Promise<Source | undefined> {
  const [source] = await db.select().from(sources).where(eq(sources.id, sourceId));
  return source;
}

export async function groupsOf(db: Pick<Db, 'select'>, sourceId: string): Promise<GroupRef[]> {
  const rows = await db
    .select({ id: sourceGroups.groupId, name: sourceGroups.displayName })
    .from(sourceGroups)
    .where(eq(sourceGroups.sourceId, sourceId))
    .orderBy(asc(sourceGroups.displayName));
  return rows;
}

const RECENT_RUNS = 5;

export interface ReportContext {
  db: Db;
  sql: Sql;
  /** SYNC_INTERVAL as written, e.g. "60 minutes". */
  syncEvery: string;
  nextRunAt(sourceId: string): Promise<Date | null>;
}

export async function sourceReport(ctx: ReportContext, source: Source): Promise<SourceReport> {
  const [groups, runs, [{ active }], nextRunAt, changeFeed] = await Promise.all([
    groupsOf(ctx.db, source.id),
    ctx.db
      .select()
      .from(syncRuns)
      .where(and(eq(syncRuns.sourceId, source.id), ne(syncRuns.mode, 'preview')))
      .orderBy(desc(syncRuns.startedAt), desc(syncRuns.id))
      .limit(RECENT_RUNS + 1),
    ctx.sql<{ active: number }[]>`
      select count(*)::int as active from profiles where source_id = ${source.id} and active`,
    source.syncEnabled ? ctx.nextRunAt(source.id) : Promise.resolve(null),
    changeFeedState(ctx.sql, source.id),
  ]);
  const running = runs.find((run) => run.status === 'running');
  const finished = runs.filter((run) => run.status !== 'running').slice(0, RECENT_RUNS);
  const latest = finished[0];
  const held = source.status === 'held' && latest && !latest.details.decision ? heldRemovals(latest) : null;
  return {
    id: source.id,
    status: source.status,
    authMode: source.authMode,
    tenantId: source.tenantId,
    authorizedBy: { upn: source.authorizedByUpn, slackUserId: source.authorizedBySlackUser, at: source.authorizedAt },
    syncEnabled: source.syncEnabled,
    photoSync: source.photoSync,
    adminChannel: source.adminChannel,
    groups,
    mapping: completeMapping(source.mapping),
    syncEvery: ctx.syncEvery,
    activeProfiles: active,
    lastSuccessAt: source.lastSuccessAt,
    changeFeed,
    nextRunAt,
    running: running ? runReport(running) : null,
    recentRuns: finished.map(runReport),
    held,
  };
}
