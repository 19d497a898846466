import { and, desc, eq, inArray, lt, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { ALERT_LOCK_CLASS } from '../db/locks.ts';
import { type Source, type SyncRun, syncRuns } from '../db/schema.ts';
import { saveAlertStreak } from '../db/sources.ts';
import type { Logger } from '../logger.ts';
import { loadRun } from '../sync/runs.ts';
import type { AlertCode, AlertData, AlertResolution, RecoveredData } from './model.ts';
import { groupsOf, heldRemovals, loadSource, runReport } from './reports.ts';

/** How an alert reaches people; the Slack layer implements it (slack/alert-poster.ts). */
export interface AlertRef {
  channel: string;
  ts: string;
}

export type AlertOutcome =
  | { ok: true; ref: AlertRef; posted: 'new' | 'updated' }
  /** The channel is private and the app is not in it; the admins listed were told by direct message. */
  | { ok: false; reason: 'no_channel_access'; channel: string };

export interface AlertPoster {
  /** Posts the alert, or updates `current` when it is in the same channel (a longer streak, or resolved). */
  show(channel: string, alert: AlertData, current: AlertRef | null, tellIfNoAccess: string[]): Promise<AlertOutcome>;
  /** Replies "recovered" under the alert and marks it resolved. */
  recovered(ref: AlertRef, alert: AlertData, data: RecoveredData): Promise<void>;
}

/**
 * The admin-channel alert of a source (DESIGN §6), kept in step with every run however it was started:
 * the first failure of a streak posts; another failure with the same code updates that message (count,
 * last time); a failure with a *different* code means the earlier problem was got past, so the earlier
 * message is marked resolved and a new one is posted (Slack notifies on posts, not on edits, and the new
 * problem needs its own button). A success after failures replies "recovered" in the alert's thread and
 * marks it resolved. The message's place and the streak live in `sources.alert_*`.
 *
 * The message's `ts` is only known once Slack has answered, so the row is written after the post. Each
 * change therefore runs in a transaction holding a per-source advisory lock: another replica's change (a
 * run ending there, an alert button answered there) waits until the streak is saved, instead of reading
 * no streak and posting a second alert, or answering a question it cannot find.
 */

export type RunEnd = { runId: number } | { crashed: Error };

export interface RunAlerts {
  /** After every run of a source, whatever started it (skipped runs count: they are failures to an admin). */
  runEnded(sourceId: string, end: RunEnd): Promise<void>;
  /** The sign-in was restored by `by`: the open alert says so; the next successful run replies "recovered". */
  reauthorized(sourceId: string, by: string): Promise<void>;
  /**
   * The held run the alert asks about was answered. The button's own listener redraws the message when
   * `resolution` is absent; with it, this redraws it (the answer was recorded but did not go as planned).
   */
  heldAnswered(sourceId: string, heldRunId: number, resolution?: AlertResolution): Promise<void>;
}

export interface RunAlertsOptions {
  db: Db;
  /** The poster for a source's Slack installation (`sources.slack_team_id`); undefined once it is uninstalled. */
  posterFor(installation: string): Promise<AlertPoster | undefined>;
  /** SLACK_ADMIN_USERS: told by direct message when alerts cannot reach the admin channel. */
  adminUsers: readonly string[];
  logger: Logger;
  now?: () => Date;
}

/** The queries of one alert change: the transaction that holds the source's alert lock. */
type Queries = Pick<Db, 'select' | 'update'>;

interface Streak {
  ref: AlertRef | null;
  channel: string;
  code: string;
  count: number;
  firstAt: Date;
  lastAt: Date;
}

/** A Slack message `ts` is the time it was posted: the start of the streak. */
const postedAt = (ts: string) => new Date(Math.round(Number(ts) * 1000));

function streakOf(source: Source): Streak | null {
  if (!source.alertCode || !source.alertChannel) return null;
  const lastAt = source.alertLastAt ?? new Date();
  return {
    ref: source.alertTs ? { channel: source.alertChannel, ts: source.alertTs } : null,
    channel: source.alertChannel,
    code: source.alertCode,
    count: source.alertCount,
    firstAt: source.alertTs ? postedAt(source.alertTs) : lastAt,
    lastAt,
  };
}

/** What an alert says about a run's failure, in the code the alert views know. */
function codeOf(run: SyncRun): AlertCode {
  return run.status === 'held' ? 'held' : (runReport(run).errorCode ?? 'internal_error');
}

class NotInstalledError extends Error {}

export function createRunAlerts(options: RunAlertsOptions): RunAlerts {
  const { db, logger } = options;
  const now = options.now ?? (() => new Date());
  const queues = new Map<string, Promise<void>>();

  /**
   * One alert change at a time per source, on every replica: two runs ending together must not post twice.
   * The queue keeps this process to one waiting connection per source; the lock orders the replicas.
   */
  function serialized(sourceId: string, work: (q: Queries) => Promise<void>): Promise<void> {
    const locked = () =>
      db.transaction(async (tx) => {
        await tx.execute(sql`select pg_advisory_xact_lock(${ALERT_LOCK_CLASS}, hashtext(${sourceId}))`);
        await work(tx);
      });
    const next = (queues.get(sourceId) ?? Promise.resolve()).then(locked).catch((error: unknown) => {
      // Between an uninstall deleting the tokens and deleting the source, there is nobody left to tell.
      if (error instanceof NotInstalledError) logger.info({ sourceId }, error.message);
      else logger.error({ err: error, sourceId }, 'could not update the admin-channel alert');
    });
    queues.set(sourceId, next);
    void next.then(() => {
      if (queues.get(sourceId) === next) queues.delete(sourceId);
    });
    return next;
  }

  async function posterOf(source: Source): Promise<AlertPoster> {
    const poster = await options.posterFor(source.slackTeamId);
    if (!poster) throw new NotInstalledError(`no alert: aad-sync is no longer installed in ${source.slackTeamId}`);
    return poster;
  }

  async function save(q: Queries, sourceId: string, streak: Streak | null): Promise<void> {
    await saveAlertStreak(q, sourceId, {
      alertChannel: streak?.channel ?? null,
      alertTs: streak?.ref?.ts ?? null,
      alertCode: streak?.code ?? null,
      alertCount: streak?.count ?? 0,
      alertLastAt: streak?.lastAt ?? null,
    });
  }

  /** The run the open alert describes: the newest failed or held run (before `beforeRunId`), of `code` if given. */
  async function lastFailure(q: Queries, sourceId: string, beforeRunId?: number): Promise<SyncRun | undefined> {
    const [run] = await q
      .select()
      .from(syncRuns)
      .where(
        and(
          eq(syncRuns.sourceId, sourceId),
          inArray(syncRuns.status, ['failed', 'held']),
          beforeRunId === undefined ? undefined : lt(syncRuns.id, beforeRunId),
        ),
      )
      .orderBy(desc(syncRuns.id))
      .limit(1);
    return run && run.mode !== 'preview' ? run : undefined;
  }

  async function alertData(
    q: Queries,
    source: Source,
    code: AlertCode,
    run: SyncRun | undefined,
    streak: Pick<Streak, 'count' | 'firstAt' | 'lastAt'>,
    crash?: Error,
  ): Promise<AlertData> {
    const message = run ? run.errorMessage : (crash?.message ?? null);
    const data: AlertData = { sourceId: source.id, code, message, ...streak };
    if (code === 'group_missing' && message) {
      data.missingGroups = (await groupsOf(q, source.id)).filter((group) => message.includes(group.id));
    }
    if (code === 'no_valid_people' && run) data.peopleRead = run.readCount;
    if (code === 'reauth_required') data.lastSuccessAt = source.lastSuccessAt;
    if (code === 'held' && run) data.held = heldRemovals(run) ?? undefined;
    return data;
  }

  /** Everyone who should hear that alerts cannot be posted: whoever authorized, and the listed admins. */
  const admins = (source: Source) => [
    ...new Set([...(source.authorizedBySlackUser ? [source.authorizedBySlackUser] : []), ...options.adminUsers]),
  ];

  async function failed(
    q: Queries,
    source: Source,
    code: AlertCode,
    run: SyncRun | undefined,
    crash?: Error,
  ): Promise<void> {
    const channel = source.adminChannel;
    if (!channel) {
      logger.warn({ sourceId: source.id, code }, 'a sync failed and no admin channel is set for its alert');
      return;
    }
    const at = run?.finishedAt ?? now();
    let streak = streakOf(source);
    if (streak && streak.code !== code) {
      await resolveEarlier(q, source, streak, run?.id);
      streak = null;
    }
    const continued = streak !== null && streak.channel === channel;
    const next = {
      count: continued ? streak!.count + 1 : 1,
      firstAt: continued ? streak!.firstAt : at,
      lastAt: at,
    };
    const data = await alertData(q, source, code, run, next, crash);
    // Admins hear about an unreachable channel once per streak, not on every failure.
    const tell = continued ? [] : admins(source);
    const poster = await posterOf(source);
    const shown: AlertOutcome = await poster.show(channel, data, continued ? streak!.ref : null, tell);
    const ref = shown.ok ? shown.ref : null;
    await save(q, source.id, { ref, channel, code, ...next });
    logger.info(
      { sourceId: source.id, code, count: next.count, posted: shown.ok ? shown.posted : shown.reason },
      'alert',
    );
  }

  /** The streak ended on another problem: the earlier alert shows it is no longer the issue. */
  async function resolveEarlier(q: Queries, source: Source, streak: Streak, beforeRunId?: number): Promise<void> {
    if (!streak.ref) return;
    const previous = await lastFailure(q, source.id, beforeRunId);
    const data = await alertData(q, source, streak.code, previous, streak);
    await (await posterOf(source)).show(
      streak.ref.channel,
      { ...data, resolution: { kind: 'resolved', by: null, at: now() } },
      streak.ref,
      [],
    );
  }

  async function succeeded(q: Queries, source: Source, run: SyncRun): Promise<void> {
    const streak = streakOf(source);
    if (!streak) return;
    if (streak.ref) {
      const previous = await lastFailure(q, source.id, run.id);
      const data = await alertData(q, source, streak.code, previous, streak);
      const by = run.trigger === 'manual' ? run.requestedBy : null;
      const at = run.finishedAt ?? now();
      await (await posterOf(source)).recovered(
        streak.ref,
        { ...data, resolution: { kind: 'resolved', by, at } },
        { run: runReport(run), failures: streak.count, since: streak.firstAt },
      );
    }
    await save(q, source.id, null);
  }

  return {
    runEnded(sourceId, end) {
      return serialized(sourceId, async (q) => {
        const source = await loadSource(q, sourceId);
        const run = 'runId' in end ? await loadRun(q, end.runId) : undefined;
        if (!source) return;
        if ('crashed' in end) return failed(q, source, 'internal_error', undefined, end.crashed);
        if (!run || run.mode === 'preview' || run.status === 'running') return;
        // Cancelled (Ctrl-C, uninstall) says nothing about the source's health, as in the engine.
        if (run.errorCode === 'cancelled') return;
        if (run.status === 'succeeded') return succeeded(q, source, run);
        return failed(q, source, codeOf(run), run);
      });
    },

    reauthorized(sourceId, by) {
      return serialized(sourceId, async (q) => {
        const source = await loadSource(q, sourceId);
        const streak = source && streakOf(source);
        if (!source || !streak?.ref || streak.code !== 'reauth_required') return;
        const data = await alertData(q, source, streak.code, await lastFailure(q, sourceId), streak);
        await (await posterOf(source)).show(
          streak.ref.channel,
          { ...data, resolution: { kind: 'resolved', by, at: now() } },
          streak.ref,
          [],
        );
      });
    },

    heldAnswered(sourceId, heldRunId, resolution) {
      return serialized(sourceId, async (q) => {
        const source = await loadSource(q, sourceId);
        const streak = source && streakOf(source);
        if (!source || !streak || streak.code !== 'held') return;
        if (resolution && streak.ref) {
          const data = await alertData(q, source, 'held', await loadRun(q, heldRunId), streak);
          await (await posterOf(source)).show(streak.ref.channel, { ...data, resolution }, streak.ref, []);
        }
        await save(q, sourceId, null);
      });
    },
  };
}
