import { createHash } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { DeltaExpiredError, PartitionMismatchError } from '../azure/index.ts';
import { type Db, retryOnLostConnection, type Sql } from '../db/client.ts';
import { type RunMode, type RunTrigger, type Source, sourceGroups, sources } from '../db/schema.ts';
import { holdSource, recordSyncFailure, recordSyncSuccess } from '../db/sources.ts';
import { ProfileStage, type RemovalPlan, type StagedPhoto } from '../directory/profile-stage.ts';
import type { Logger } from '../logger.ts';
import { classifyFailure, type FailureCode, SyncFailure, statusAfterFailure } from './errors.ts';
import type { IgnoredReason, IgnoredTally } from './ignored.ts';
import { completeMapping, type Mapping, validateMapping } from './mapping.ts';
import { type MembershipOutcome, trackMembership } from './membership.ts';
import { type ProgressReport, progressOf, type SyncProgress } from './progress.ts';
import { readIntoStage } from './read.ts';
import type { ReaderFactory, SourceReader } from './reader.ts';
import type { RunLease } from './run-lease.ts';
import {
  NO_COUNTS,
  type RunCounts,
  type RunInProgress,
  recordRunEnd,
  setRunMode,
  startHeartbeat,
  startRun,
} from './runs.ts';
import { chooseMode, deltaScopeOf, type RequestedMode } from './scope.ts';

/**
 * One sync run of one source: lock, read Graph into a stage, check, then apply everything in one
 * transaction together with the run record and the new delta link. Whatever goes wrong before the
 * commit, the directory is exactly as it was (DESIGN §3, §6).
 */

export interface SyncTiming {
  heartbeatMs: number;
  /** A running run without a heartbeat for this long is dead. */
  staleAfterMs: number;
  /**
   * A run that made no progress (no page, no photo, no phase) for this long is ended as `stalled` and its
   * lock released, even when the call it waits on never returns. Graph may ask for a 300 s wait per call.
   */
  stallAfterMs: number;
  /** No run lasts longer than this, progress or not. */
  deadlineMs: number;
}

export const DEFAULT_TIMING: SyncTiming = {
  heartbeatMs: 5_000,
  staleAfterMs: 120_000,
  stallAfterMs: 15 * 60_000,
  deadlineMs: 6 * 3_600_000,
};

export interface SyncDeps {
  db: Db;
  sql: Sql;
  readerFor: ReaderFactory;
  logger?: Logger;
  now?: () => Date;
  timing?: Partial<SyncTiming>;
  /** Group joiners read by id in one run before a full read is cheaper (default MAX_NEWCOMERS_BY_ID). */
  maxNewcomersById?: number;
}

export interface SyncRequest {
  sourceId: string;
  trigger: RunTrigger;
  requestedBy?: string | null;
  /** `auto` (default): delta when a delta read can be trusted, else full. */
  mode?: RequestedMode;
  progress?: SyncProgress;
  /**
   * Set by approveHeldRun: the people the admin approved removing. The run passes the deletion threshold
   * only when everyone it would remove is among them; otherwise it is held again with its own list.
   */
  approval?: { heldRunId: number; profileIds: readonly string[] };
  /** Aborting stops the run before it applies anything (checked between pages and before the commit). */
  signal?: AbortSignal;
}

export interface HeldRemovals {
  removals: number;
  /** Exactly who would be removed (profile ids); absent on runs held before this was kept. */
  profileIds?: string[];
  active: number;
  threshold: number;
  sample: { displayName: string; email: string }[];
}

export interface RunOutcome {
  status: 'succeeded' | 'failed' | 'held' | 'already_running';
  /** This run's id; for `already_running`, the id of the run in progress. */
  runId: number;
  mode: RunMode;
  counts: RunCounts;
  ignored: IgnoredReason[];
  errorCode?: FailureCode;
  errorMessage?: string;
  /** `already_running`: who started the run in progress, and when. */
  running?: RunInProgress;
  /** `held`: what the run would have removed. */
  held?: HeldRemovals;
}

const PHOTO_FLUSH = 50;

export async function runSync(deps: SyncDeps, request: SyncRequest): Promise<RunOutcome> {
  const timing = { ...DEFAULT_TIMING, ...deps.timing };
  const requested = request.mode ?? 'auto';
  const first = await prepare(deps, request.sourceId, requested);
  const started = await startRun(
    deps.sql,
    {
      sourceId: first.source.id,
      trigger: request.trigger,
      requestedBy: request.requestedBy ?? null,
      mode: first.choice.mode,
    },
    timing.staleAfterMs,
  );
  if (!started.started) {
    return {
      status: 'already_running',
      runId: started.running.runId,
      mode: started.running.mode,
      counts: { ...NO_COUNTS },
      ignored: [],
      running: started.running,
    };
  }
  const run = new Run(deps, request, first.source, started.runId, first.choice.mode, started.lease);
  if (started.tookOverRunId) run.details.tookOverStaleRun = started.tookOverRunId;
  if (request.approval) run.details.approvalOf = request.approval.heldRunId;
  const stopHeartbeat = startHeartbeat(
    started.lease.conn,
    run.id,
    timing.heartbeatMs,
    () => run.counts.read,
    () => run.lose(run.takenOver()),
    (error) => {
      // The lease connection failed: its lock may be gone, and another run may start at any moment.
      deps.logger?.warn({ err: error, runId: run.id }, 'sync heartbeat failed: the run stops');
      run.lose(lostConnection(error));
    },
  );
  const watchdog = watch(run, timing);
  try {
    // Read again under the lock: a run that finished meanwhile may have moved the delta link.
    const executed = (async () => run.execute(await prepare(deps, request.sourceId, requested)))().catch((error) =>
      run.fail(error),
    );
    return await Promise.race([executed, watchdog.ended]);
  } finally {
    watchdog.stop();
    stopHeartbeat();
    // A run ended by its watchdog may still be stuck in a call: it can apply nothing (its row is closed).
    await started.lease.release();
  }
}

/**
 * Ends a run that stopped making progress, or outlived the deadline, without waiting for the call it is
 * stuck in: the run is recorded as failed (lock released) and the caller gets its outcome. Should the
 * stuck call return later, the run finds its record closed and applies nothing (`takenOver`).
 */
function watch(run: Run, timing: SyncTiming): { ended: Promise<RunOutcome>; stop(): void } {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const ended = new Promise<RunOutcome>((resolve) => {
    timer = setInterval(
      () => {
        const now = Date.now();
        // Bounds are minutes or hours in production; an operator (or a test) may set seconds.
        const minutes = (ms: number) =>
          ms < 60_000
            ? `${Math.round(ms / 1_000)} seconds`
            : `${Math.round(ms / 60_000)} minute${Math.round(ms / 60_000) === 1 ? '' : 's'}`;
        let why: string | undefined;
        if (now - started > timing.deadlineMs) {
          why = `The sync ran longer than its ${minutes(timing.deadlineMs)} limit and was stopped; nothing was applied.`;
        } else if (now - run.progressAt > timing.stallAfterMs) {
          why =
            `The sync made no progress for ${minutes(timing.stallAfterMs)} (Microsoft Graph or the database stopped ` +
            'answering) and was stopped; nothing was applied.';
        }
        if (!why) return;
        clearInterval(timer);
        const failure = new SyncFailure('stalled', why);
        run.lose(failure);
        resolve(run.fail(failure));
      },
      Math.max(20, Math.min(timing.stallAfterMs, timing.deadlineMs) / 4),
    );
    timer.unref();
  });
  return { ended, stop: () => clearInterval(timer) };
}

/** The source and what a run of it reads: groups, mapping, scope, and the kind of read. */
interface Prepared {
  source: Source;
  groups: { groupId: string; displayName: string }[];
  mapping: Mapping;
  scope: string;
  choice: ReturnType<typeof chooseMode>;
}

async function prepare(deps: SyncDeps, sourceId: string, requested: RequestedMode): Promise<Prepared> {
  const [source] = await deps.db.select().from(sources).where(eq(sources.id, sourceId));
  if (!source) throw new Error(`There is no source ${sourceId}.`);
  const groups = await deps.db
    .select({ groupId: sourceGroups.groupId, displayName: sourceGroups.displayName })
    .from(sourceGroups)
    .where(eq(sourceGroups.sourceId, source.id));
  const mapping = completeMapping(source.mapping);
  const scope = deltaScopeOf(
    groups.map((g) => g.groupId),
    mapping,
  );
  const choice = chooseMode(requested, source, scope, (deps.now ?? (() => new Date()))());
  return { source, groups, mapping, scope, choice };
}

const isSubset = (ids: readonly string[], of: readonly string[]) => {
  const allowed = new Set(of);
  return ids.every((id) => allowed.has(id));
};

/** Deletion safety: more than `threshold` of the active profiles, or all of them, needs an admin's approval. */
export function exceedsThreshold(plan: Pick<RemovalPlan, 'removed' | 'active'>, threshold: number): boolean {
  if (plan.removed === 0 || plan.active === null) return false;
  return plan.removed >= plan.active || plan.removed > threshold * plan.active;
}

/** The state of one run while it executes. */
class Run {
  counts: RunCounts = { ...NO_COUNTS };
  ignored: IgnoredReason[] = [];
  details: Record<string, unknown> = {};
  /** Why the run may no longer apply (taken over, its lease lost, stalled); it stops at its next check. */
  private lost: SyncFailure | undefined;
  /** When the run last moved: a page read, a photo checked, a phase begun. */
  progressAt = Date.now();
  private finished = false;
  private expected: number | undefined;
  /** Why this run's full read is sequential: its parallel partitions missed someone. */
  private sequentialRead: string | undefined;
  private readonly graph = { requests: 0, throttled: 0, failedResponses: 0 };
  /** Milliseconds per phase, for the run report and the benchmarks. */
  private readonly timings: Record<string, number> = {};
  private readonly report: (progress: ProgressReport) => void;

  constructor(
    private readonly deps: SyncDeps,
    private readonly request: SyncRequest,
    /** Replaced by execute with the row as read under the lock. */
    private source: Source,
    readonly id: number,
    public mode: RunMode,
    private readonly lease: RunLease,
  ) {
    const report = progressOf(request.progress);
    this.report = (progress) => {
      this.progressAt = Date.now();
      report(progress);
    };
    this.details.graph = this.graph;
    this.details.timingsMs = this.timings;
  }

  private async timed<T>(phase: string, work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.timings[phase] = (this.timings[phase] ?? 0) + Math.round(performance.now() - started);
    }
  }

  async execute(prepared: Prepared): Promise<RunOutcome> {
    const { source, groups, mapping, scope, choice } = prepared;
    this.source = source;
    this.details.reason = choice.why;
    if (choice.mode !== this.mode) {
      this.mode = choice.mode;
      await setRunMode(this.deps.sql, this.id, choice.mode);
    }
    this.deps.logger?.info({ runId: this.id, sourceId: source.id, mode: this.mode, why: choice.why }, 'sync started');
    const problems = Object.values(validateMapping(mapping));
    if (problems.length > 0)
      throw new SyncFailure('no_valid_people', `The attribute mapping is unusable: ${problems.join(' ')}`);
    this.report({ phase: 'starting', read: 0, written: 0 });
    const reader = await this.deps.readerFor(this.source, {
      onRequest: (r) => {
        this.graph.requests++;
        if (r.status === 429) this.graph.throttled++;
        else if (r.status >= 500 || r.status === 0) this.graph.failedResponses++;
      },
    });
    for (;;) {
      const readMode = this.mode === 'delta' ? 'delta' : 'full';
      // A preview writes nothing: it does not build a first import's partition while it reads.
      const stage = await ProfileStage.open(
        this.deps.sql,
        this.source.id,
        this.mode === 'preview' ? undefined : readMode,
      );
      try {
        return await this.readAndApply(stage, reader, readMode, groups, mapping, scope);
      } catch (error) {
        if (error instanceof PartitionMismatchError && !this.sequentialRead) {
          this.sequentialRead = `${error.message}: read again in one sequential read`;
          this.counts = { ...NO_COUNTS };
          continue;
        }
        if (readMode !== 'delta' || !(error instanceof DeltaExpiredError || error instanceof RestartAsFull))
          throw error;
        await this.restartAsFull(error instanceof RestartAsFull ? error.message : 'the delta link expired');
      } finally {
        await stage.close();
      }
    }
  }

  private async restartAsFull(why: string): Promise<void> {
    this.mode = 'full';
    this.counts = { ...NO_COUNTS };
    this.details.reason = `full read: ${why}`;
    await setRunMode(this.deps.sql, this.id, 'full');
  }

  private async readAndApply(
    stage: ProfileStage,
    reader: SourceReader,
    readMode: 'full' | 'delta',
    groups: { groupId: string; displayName: string }[],
    mapping: Mapping,
    scope: string,
  ): Promise<RunOutcome> {
    const grouped = groups.length > 0 && readMode === 'delta';
    if (readMode === 'full') this.expected = await this.lastFullRead();
    const membership = grouped ? await this.timed('membership', () => this.trackMembership(reader, groups)) : undefined;
    const activeGraphIds = grouped ? await this.activeGraphIds() : undefined;
    const knownIgnoredIds = grouped ? await this.rememberedIgnoredIds() : undefined;
    const result = await this.timed('read', () =>
      readIntoStage({
        reader,
        stage,
        mode: readMode,
        mapping,
        groups,
        deltaLink: this.source.usersDeltaLink,
        sequential: this.sequentialRead !== undefined,
        activeGraphIds,
        knownIgnoredIds,
        maxNewcomersById: this.deps.maxNewcomersById,
        members: membership?.users,
        onRead: (read) => {
          this.checkCancelled();
          this.counts.read = read;
          this.report({ phase: 'reading', read, written: 0, expected: this.expected });
        },
      }),
    );
    if (result.needsFull) throw new RestartAsFull(result.needsFull);
    if (result.fullRead)
      this.details.fullRead = { ...result.fullRead, ...(this.sequentialRead ? { fallback: this.sequentialRead } : {}) };
    const sealed = await this.timed('seal', () => stage.seal());
    for (const d of sealed.duplicates)
      result.ignored.add(`same Unique Identifier as another person (${d.externalId})`, d.who);
    this.tally(result.read, result.ignored);
    if (groups.length > 0) this.details.ignoredGraphIds = result.ignoredIds;
    if (readMode === 'full' && sealed.staged === 0) throw this.nobodyValid(result.read, groups.length > 0);
    this.report({ phase: 'applying', read: result.read, written: 0 });

    if (this.mode === 'preview') return this.finishPreview(stage);
    const removals = await this.timed('plan', () => stage.removalPlan(readMode));
    const approved = this.request.approval && isSubset(removals.removedIds, this.request.approval.profileIds);
    if (!approved && exceedsThreshold(removals, this.source.deletionThreshold)) return this.hold(removals);

    if (this.source.photoSync) await this.timed('photos', () => this.stagePhotos(stage, reader, result.read));
    this.checkCancelled();
    await this.confirmLease();
    const applyStarted = performance.now();
    const applied = await stage.apply(readMode, async (tx, counts) => {
      // The run record is written inside this transaction, so the apply is timed up to here.
      this.timings.apply = Math.round(performance.now() - applyStarted);
      Object.assign(this.counts, counts);
      const recorded = await recordRunEnd(tx, this.id, this.end('succeeded'));
      if (!recorded) throw this.takenOver();
      await membership?.save(tx);
      await recordSyncSuccess(tx, this.source.id, {
        deltaLink: result.deltaLink,
        deltaScope: scope,
        full: readMode === 'full',
      });
    });
    const written = applied.created + applied.updated + applied.removed + applied.photos;
    this.report({ phase: 'done', read: result.read, written });
    this.deps.logger?.info({ runId: this.id, mode: this.mode, counts: this.counts }, 'sync succeeded');
    return this.outcome('succeeded');
  }

  /**
   * Group memberships from `/groups/delta` (membership.ts): who is in the groups now, without listing them.
   * When the tree cannot be trusted it is forgotten and the run reads in full; beyond what one delta query
   * follows, the members are listed (undefined).
   */
  private async trackMembership(
    reader: SourceReader,
    groups: { groupId: string; displayName: string }[],
  ): Promise<Extract<MembershipOutcome, { kind: 'tracked' }> | undefined> {
    const outcome = await trackMembership({ reader, sql: this.deps.sql, sourceId: this.source.id, groups });
    if (outcome.kind === 'untrusted') throw new RestartAsFull(outcome.why);
    this.details.membership = outcome.kind === 'tracked' ? outcome.report : { read: 'listed', why: outcome.why };
    return outcome.kind === 'tracked' ? outcome : undefined;
  }

  async fail(error: unknown): Promise<RunOutcome> {
    const { code, message } = classifyFailure(error);
    // Ended once: a run already ended by the watchdog says nothing more when its stuck call comes back.
    if (this.finished) return { ...this.outcome('failed'), errorCode: code, errorMessage: message };
    this.finished = true;
    const log = this.deps.logger;
    if (code === 'internal_error') log?.error({ err: error, runId: this.id }, 'sync failed unexpectedly');
    // Cancelled is what was asked for (Ctrl-C, a shutdown): nothing for the operator to look at.
    else if (code === 'cancelled') log?.info({ runId: this.id, code, message }, 'sync cancelled');
    else log?.warn({ runId: this.id, code, message }, 'sync failed');
    try {
      // Closing a run that is still running is the same done twice: worth a new connection after a failover.
      const recorded = await retryOnLostConnection(() =>
        recordRunEnd(this.deps.sql, this.id, { ...this.end('failed'), errorCode: code, errorMessage: message }),
      );
      // A run taken over as dead, or cancelled, says nothing about the source's health.
      if (recorded && this.mode !== 'preview' && code !== 'stale' && code !== 'cancelled') {
        await recordSyncFailure(this.deps.sql, this.source.id, statusAfterFailure(code));
      }
    } catch (recordError) {
      log?.error({ err: recordError, runId: this.id }, 'could not record the failed sync');
    }
    this.report({ phase: 'done', read: this.counts.read, written: 0 });
    return { ...this.outcome('failed'), errorCode: code, errorMessage: message };
  }

  private tally(read: number, ignored: IgnoredTally): void {
    this.counts.read = read;
    this.counts.ignored = ignored.count;
    this.ignored = ignored.summary();
  }

  private async finishPreview(stage: ProfileStage): Promise<RunOutcome> {
    const plan = await stage.plan('full');
    Object.assign(this.counts, {
      created: plan.created,
      updated: plan.updated,
      unchanged: plan.unchanged,
      removed: plan.removed,
    });
    this.details.preview = { restored: plan.restored, active: plan.active, removalSample: plan.removalSample };
    await recordRunEnd(this.deps.sql, this.id, this.end('succeeded'));
    this.report({ phase: 'done', read: this.counts.read, written: 0 });
    return this.outcome('succeeded');
  }

  private async hold(removals: RemovalPlan): Promise<RunOutcome> {
    const held: HeldRemovals = {
      removals: removals.removed,
      profileIds: removals.removedIds,
      active: removals.active ?? 0,
      threshold: this.source.deletionThreshold,
      sample: removals.removalSample,
    };
    this.details.held = held;
    const recorded = await recordRunEnd(this.deps.sql, this.id, this.end('held'));
    if (!recorded) throw this.takenOver();
    await holdSource(this.deps.sql, this.source.id);
    this.deps.logger?.warn(
      { runId: this.id, ...held, sample: undefined, profileIds: undefined },
      'sync held: too many removals',
    );
    this.report({ phase: 'done', read: this.counts.read, written: 0 });
    return { ...this.outcome('held'), held };
  }

  /** Photos of the staged people, fetched only when their etag moved, staged to go in with the profiles. */
  private async stagePhotos(stage: ProfileStage, reader: SourceReader, read: number): Promise<void> {
    const candidates = await stage.photoCandidates();
    const held = new Set(candidates.filter((c) => c.knownEtag !== null).map((c) => c.graphId));
    let buffer: StagedPhoto[] = [];
    let checked = 0;
    let failed = 0;
    const requests = candidates.map((c) => ({ userId: c.graphId, knownEtag: c.knownEtag }));
    for await (const result of reader.photos(requests)) {
      checked++;
      this.checkCancelled();
      if (result.kind === 'photo') {
        const bytes = Buffer.from(result.bytes);
        buffer.push({
          graphId: result.userId,
          photo: { contentType: result.contentType, bytes, etag: result.etag ?? contentEtag(bytes) },
        });
      } else if (result.kind === 'none' && held.has(result.userId)) {
        buffer.push({ graphId: result.userId, photo: null });
      } else if (result.kind === 'failed') {
        failed++;
      }
      if (buffer.length >= PHOTO_FLUSH) {
        await stage.addPhotos(buffer);
        buffer = [];
      }
      this.report({ phase: 'photos', read, written: 0, photosChecked: checked });
    }
    await stage.addPhotos(buffer);
    this.details.photos = { checked, failed };
  }

  /** How many people the last full read found: the progress bar's best guess of the total. */
  private async lastFullRead(): Promise<number | undefined> {
    const [row] = await this.deps.sql`
      select read_count from sync_runs
      where source_id = ${this.source.id} and status = 'succeeded' and mode = 'full' order by id desc limit 1`;
    return row?.read_count;
  }

  private async activeGraphIds(): Promise<Set<string>> {
    const rows = await this.deps.sql`
      select graph_id from profiles where source_id = ${this.source.id} and active`;
    return new Set(rows.map((r) => r.graph_id as string));
  }

  /** Ids the last successful run found invalid; null when it did not remember them. */
  private async rememberedIgnoredIds(): Promise<Set<string> | null> {
    const [row] = await this.deps.sql`
      select details -> 'ignoredGraphIds' as ids from sync_runs
      where source_id = ${this.source.id} and status = 'succeeded' and mode <> 'preview'
      order by finished_at desc limit 1`;
    return Array.isArray(row?.ids) ? new Set(row.ids as string[]) : null;
  }

  private nobodyValid(read: number, grouped: boolean): SyncFailure {
    const where = grouped ? 'in the selected groups' : 'in the tenant';
    return new SyncFailure(
      'no_valid_people',
      read === 0
        ? `Nobody was found ${where}.`
        : `None of the ${read} people ${where} has every required attribute (${this.ignored[0]?.reason ?? 'see the ignored reasons'}): edit the mappings.`,
    );
  }

  /**
   * A run applies only while it holds its lease: once the lock's connection is gone, another process may
   * already have judged the run dead. (Should it be lost after this, the takeover closes the run's record,
   * and the apply, which checks that record, rolls back.)
   */
  private async confirmLease(): Promise<void> {
    try {
      await this.lease.conn`select 1`;
    } catch (error) {
      this.lose(lostConnection(error));
      this.checkCancelled();
    }
  }

  lose(why: SyncFailure): void {
    this.lost ??= why;
  }

  /** Checked between pages and photos: a run cancelled, or lost (its record gone or taken over, its lease cut), stops at once. */
  private checkCancelled(): void {
    if (this.lost) throw this.lost;
    if (this.request.signal?.aborted) {
      throw new SyncFailure('cancelled', 'The sync was cancelled before it applied anything; nothing was changed.');
    }
  }

  takenOver(): SyncFailure {
    return new SyncFailure('stale', 'Another process judged this run dead and took over; nothing was applied.');
  }

  private end(status: 'succeeded' | 'failed' | 'held') {
    return { status, mode: this.mode, counts: this.counts, ignoredExamples: this.ignored, details: this.details };
  }

  private outcome(status: RunOutcome['status']): RunOutcome {
    return { status, runId: this.id, mode: this.mode, counts: { ...this.counts }, ignored: this.ignored };
  }
}

const lostConnection = (cause: unknown) => new SyncFailure('internal_error', classifyFailure(cause).message, { cause });

/** A delta read that cannot be trusted (newcomers to the selected groups): the run reads in full instead. */
class RestartAsFull extends Error {}

function contentEtag(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('base64url')}`;
}
