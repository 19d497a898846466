import { eq } from 'drizzle-orm';
import {
  type AzureAuth,
  AzureError,
  createGraphReader,
  type GraphReader,
  type GraphRequestReport,
} from '../azure/index.ts';
import { type Db, retryOnLostConnection, type Sql } from '../db/client.ts';
import { type Source, sourceGroups } from '../db/schema.ts';
import { finishSetup, saveSourceSettings, setAutoSync, setPhotoSync, touchSource } from '../db/sources.ts';
import { withDeadline } from '../deadline.ts';
import type { Logger } from '../logger.ts';
import { approveHeldRun, HeldRunError, type RunOutcome, rejectHeldRun, runSync, type SyncDeps } from '../sync/index.ts';
import { completeMapping, PROFILE_FIELDS, validateMapping } from '../sync/mapping.ts';
import { loadRun } from '../sync/runs.ts';
import type { Scheduler } from '../sync/scheduler/scheduler.ts';
import type { RunAlerts, RunEnd } from './alerts.ts';
import type { AuthorizationService } from './authorization.ts';
import type { AdminServices, Outcome, SettingsOutcome, SyncObserver } from './contract.ts';
import type { Actor, GroupRef, PreviewReport, Refusal, SourceReport } from './model.ts';
import { groupsOf, loadSource, runReport, sourceOfTeam, sourceReport } from './reports.ts';
import type { RunWatch } from './run-watch.ts';

/**
 * What the Slack layer asks of the product (src/services/contract.ts), over the sync engine, the scheduler,
 * the Microsoft sign-in and Graph. Runs the admin starts go through the scheduler's queue; the two that
 * answer the admin directly (preview, approving held removals) run the engine here.
 */

export interface AdminServicesDeps {
  db: Db;
  sql: Sql;
  /** The engine's dependencies, for previews and held-run decisions. */
  sync: SyncDeps;
  auth: AzureAuth;
  authorization: Pick<AuthorizationService, 'beginAuthorization'>;
  scheduler: Pick<Scheduler, 'enableSource' | 'disableSource' | 'syncNow' | 'nextRunAt'>;
  watch: Pick<RunWatch, 'start'>;
  alerts: Pick<RunAlerts, 'heldAnswered'>;
  /** AZURE_AUTH_MODE: the mode of new sign-ins. */
  authMode: 'delegated' | 'application';
  graphBaseUrl: string;
  /** SYNC_INTERVAL as written, e.g. "60 minutes". */
  syncEvery: string;
  /** Called after each run these services execute themselves (metrics, alerts). */
  afterRun(sourceId: string, end: RunEnd): Promise<void>;
  onGraphRequest?: (report: GraphRequestReport) => void;
  logger: Logger;
  /** Group search and name lookups must answer before Slack's 3 s are up. */
  graphBudgetMs?: number;
}

export interface AppAdminServices extends AdminServices {
  /** Waits (at most `timeoutMs`) for previews and approvals still running. */
  drain(timeoutMs: number): Promise<void>;
}

export const GRAPH_BUDGET_MS = 1_800;
/** The wizard's groups step waits this long at most for the tenant's head count, then shows none. */
export const COUNT_BUDGET_MS = 1_500;
const NOT_SIGNED_IN = { ok: false, refusal: { code: 'not_signed_in' } } as const;
const FINISH_SETUP = { ok: false, refusal: { code: 'finish_setup' } } as const;
const RUN_IN_PROGRESS = { ok: false, refusal: { code: 'run_in_progress' } } as const;
const UNOBSERVED: SyncObserver = { progress: () => {}, finished: () => {} };

/** Why the group search could not answer. */
function searchProblem(error: unknown): Refusal {
  if (!(error instanceof AzureError)) return { code: 'search_failed', cause: 'unknown' };
  if (error.code === 'reauth_required' || error.code === 'app_misconfigured')
    return { code: 'search_failed', cause: error.code };
  return { code: 'search_failed', cause: 'unavailable' };
}

export function createAdminServices(deps: AdminServicesDeps): AppAdminServices {
  const { db, logger, scheduler } = deps;
  const budgetMs = deps.graphBudgetMs ?? GRAPH_BUDGET_MS;
  const direct = new Set<Promise<unknown>>();
  const readers = new Map<string, GraphReader>();

  /** The engine run a Slack answer waits for, tracked so a shutdown lets it finish. */
  function tracked<T>(work: Promise<T>): Promise<T> {
    direct.add(work);
    const forget = () => direct.delete(work);
    work.then(forget, forget);
    return work;
  }

  /** A Graph reader for quick lookups: one short retry, so an answer (or a clear "no") comes within the budget. */
  function quickReader(source: Source): GraphReader {
    const key = [source.id, source.authMode, source.tenantId, source.homeAccountId].join('|');
    let reader = readers.get(key);
    if (!reader) {
      reader = createGraphReader({
        graphBaseUrl: deps.graphBaseUrl,
        getToken: deps.auth.tokenProvider(source),
        onRequest: deps.onGraphRequest,
        retry: { maxAttempts: 2, baseDelayMs: 100, maxWaitMs: 500, budgetMs: 500 },
        timeoutMs: budgetMs,
      });
      for (const old of readers.keys()) if (old.startsWith(`${source.id}|`)) readers.delete(old);
      readers.set(key, reader);
    }
    return reader;
  }

  /** People with an enabled account, for "import everyone (N people)"; null when Graph is slow or refuses. */
  async function tenantPeople(source: Source): Promise<number | null> {
    const counting = quickReader(source).countUsers();
    try {
      const count = await withDeadline(counting, Math.min(COUNT_BUDGET_MS, budgetMs), () => null);
      if (count === null) counting.catch(() => {});
      return count;
    } catch (error) {
      logger.warn({ err: error, sourceId: source.id }, "could not count the tenant's users");
      return null;
    }
  }

  const report = (source: Source): Promise<SourceReport> =>
    sourceReport({ db, sql: deps.sql, syncEvery: deps.syncEvery, nextRunAt: (id) => scheduler.nextRunAt(id) }, source);

  /** The actor's source once it is signed in to a tenant, or why not. */
  async function signedIn(actor: Actor): Promise<Outcome<{ source: Source }>> {
    const source = await sourceOfTeam(db, actor.teamId);
    if (!source?.tenantId) return NOT_SIGNED_IN;
    return { ok: true, source };
  }

  /** Group names by id from Graph; a group Graph does not know is a problem, a slow Graph falls back to saved names. */
  async function resolveGroups(source: Source, ids: string[]): Promise<Outcome<{ groups: GroupRef[] }>> {
    const saved = new Map((await groupsOf(db, source.id)).map((g) => [g.id, g.name]));
    const reader = quickReader(source);
    const lookups = Promise.all(ids.map((id) => reader.getGroup(id)));
    let found: Awaited<typeof lookups> | null;
    try {
      found = await withDeadline(lookups, budgetMs, () => null);
    } catch (error) {
      logger.warn({ err: error, sourceId: source.id }, 'could not look up the chosen groups');
      found = null;
    }
    if (found === null) {
      lookups.catch(() => {});
      const unknown = ids.filter((id) => !saved.has(id));
      if (unknown.length > 0) return { ok: false, refusal: { code: 'groups_unconfirmed' } };
      return { ok: true, groups: ids.map((id) => ({ id, name: saved.get(id)! })) };
    }
    const missing = ids.filter((_, i) => found[i] === null);
    if (missing.length > 0) {
      return { ok: false, refusal: { code: 'groups_gone', names: missing.map((id) => saved.get(id) ?? id) } };
    }
    return { ok: true, groups: found.map((group) => ({ id: group!.id, name: group!.displayName })) };
  }

  function previewReport(outcome: RunOutcome): PreviewReport {
    if (outcome.status === 'already_running') return RUN_IN_PROGRESS;
    if (outcome.status !== 'succeeded') {
      return { ok: false, refusal: { code: 'preview_failed', detail: outcome.errorMessage ?? null } };
    }
    const c = outcome.counts;
    return { ok: true, people: c.created + c.updated + c.unchanged, ignored: c.ignored, reasons: outcome.ignored };
  }

  async function approve(actor: Actor, source: Source, heldRunId: number) {
    const outcome = await tracked(approveHeldRun(deps.sync, heldRunId, actor.userId));
    if (outcome.status === 'already_running') return RUN_IN_PROGRESS;
    const approved = { kind: 'approved' as const, by: actor.userId, at: new Date() };
    // The alert that asked is answered; whatever the approving run found next is a new alert.
    await deps.alerts.heldAnswered(source.id, heldRunId, outcome.status === 'succeeded' ? undefined : approved);
    await deps.afterRun(source.id, { runId: outcome.runId });
    const run = await loadRun(db, outcome.runId);
    if (outcome.status === 'succeeded' && run) return { ok: true as const, run: runReport(run) };
    const refusal: Refusal =
      outcome.status === 'held'
        ? { code: 'held_again', removals: outcome.held?.removals ?? null }
        : { code: 'approved_but_failed', detail: outcome.errorMessage ?? null };
    return { ok: false as const, refusal };
  }

  return {
    // Read only: after a failover it runs again on a new connection, as /whois does (the Home tab, /aad
    // status and the first step of Sync now all start here).
    status(teamId) {
      return retryOnLostConnection(async () => {
        const source = await sourceOfTeam(db, teamId);
        return source ? report(source) : null;
      });
    },

    async beginAuthorization(actor, request) {
      return deps.authorization.beginAuthorization({
        teamId: actor.teamId,
        slackUserId: actor.userId,
        viewId: request.viewId,
        purpose: request.purpose,
        authMode: deps.authMode,
      });
    },

    async draft(actor, options = {}) {
      const found = await signedIn(actor);
      if (!found.ok) return found;
      const { source } = found;
      const [groups, people] = await Promise.all([
        groupsOf(db, source.id),
        options.countPeople ? tenantPeople(source) : null,
      ]);
      return {
        ok: true,
        draft: {
          sourceId: source.id,
          groups,
          tenantPeople: people,
          signedInAs: source.authorizedByUpn,
          mapping: completeMapping(source.mapping),
          adminChannel: source.adminChannel,
          photoSync: source.photoSync,
          guestWhois: source.guestWhois,
          hourlySync: source.status === 'setup' ? source.autoSync : source.syncEnabled,
          syncEvery: deps.syncEvery,
        },
      };
    },

    async searchGroups(teamId, query) {
      const source = await sourceOfTeam(db, teamId);
      if (!source?.tenantId) return NOT_SIGNED_IN;
      const search = quickReader(source).searchGroups(query, { top: 100 });
      try {
        const groups = await withDeadline(search, budgetMs, () => null);
        if (groups === null) {
          search.catch(() => {});
          return { ok: false, refusal: { code: 'search_slow' } };
        }
        return { ok: true, groups: groups.map((g) => ({ id: g.id, name: g.displayName })) };
      } catch (error) {
        logger.warn({ err: error, sourceId: source.id }, 'group search failed');
        return { ok: false, refusal: searchProblem(error) };
      }
    },

    async saveGroups(actor, groupIds) {
      const found = await signedIn(actor);
      if (!found.ok) return found;
      const { source } = found;
      const resolved =
        groupIds.length === 0 ? { ok: true as const, groups: [] } : await resolveGroups(source, groupIds);
      if (!resolved.ok) return resolved;
      // The engine compares the groups with those its delta link was taken under, so the next run reads in full.
      await db.transaction(async (tx) => {
        await tx.delete(sourceGroups).where(eq(sourceGroups.sourceId, source.id));
        if (resolved.groups.length > 0) {
          await tx
            .insert(sourceGroups)
            .values(resolved.groups.map((g) => ({ sourceId: source.id, groupId: g.id, displayName: g.name })));
        }
        await touchSource(tx, source.id);
      });
      logger.info({ sourceId: source.id, by: actor.userId, groups: resolved.groups.length }, 'groups saved');
      return resolved;
    },

    async saveSettings(actor, settings): Promise<SettingsOutcome> {
      const errors: Extract<SettingsOutcome, { errors: unknown }>['errors'] = validateMapping(settings.mapping);
      if (!settings.adminChannel) errors.adminChannel = 'missing';
      if (Object.keys(errors).length > 0) return { ok: false, errors };
      const found = await signedIn(actor);
      if (!found.ok) return found;
      const { source } = found;
      const mapping = Object.fromEntries(PROFILE_FIELDS.map((f) => [f.key, settings.mapping[f.key]]));
      await saveSourceSettings(db, source, {
        mapping,
        adminChannel: settings.adminChannel,
        photoSync: settings.photoSync,
        autoSync: settings.hourlySync,
        guestWhois: settings.guestWhois,
      });
      // During setup the choice waits for Enable; afterwards it is the schedule itself.
      if (source.status !== 'setup' && settings.hourlySync !== source.syncEnabled) {
        if (settings.hourlySync) await scheduler.enableSource(source.id, { runSoon: false });
        else await scheduler.disableSource(source.id);
      }
      logger.info({ sourceId: source.id, by: actor.userId }, 'mappings and settings saved');
      return { ok: true };
    },

    async preview(actor) {
      const found = await signedIn(actor);
      if (!found.ok) return found;
      const { source } = found;
      const outcome = await tracked(
        runSync(deps.sync, {
          sourceId: source.id,
          trigger: source.status === 'setup' ? 'setup' : 'manual',
          requestedBy: actor.userId,
          mode: 'preview',
        }),
      );
      if (outcome.status !== 'already_running') await deps.afterRun(source.id, { runId: outcome.runId });
      return previewReport(outcome);
    },

    async enable(actor, observer = UNOBSERVED) {
      const found = await signedIn(actor);
      if (!found.ok) return found;
      const { source } = found;
      if (!source.adminChannel) return FINISH_SETUP;
      const inSetup = source.status === 'setup';
      if (!inSetup || source.autoSync) {
        // Re-enabling catches up at once; a new source gets its first sync below, as the setup's own run.
        await scheduler.enableSource(source.id, { runSoon: !inSetup });
      } else {
        await finishSetup(db, source.id);
      }
      if (!inSetup) await setAutoSync(db, source.id, true);
      // Watched like "Sync now", so the admin channel shows the first sync; the answer does not wait for it to start.
      const firstSync = inSetup
        ? deps.watch.start({ sourceId: source.id, trigger: 'setup', requestedBy: actor.userId, observer })
        : undefined;
      firstSync?.then(
        (first) => {
          if (!first.started)
            logger.warn({ sourceId: source.id, reason: first.reason }, 'the first sync did not start');
        },
        (error: unknown) => logger.error({ err: error, sourceId: source.id }, 'could not queue the first sync'),
      );
      logger.info({ sourceId: source.id, by: actor.userId, inSetup }, 'source enabled');
      return { ok: true, source: await report((await loadSource(db, source.id))!), run: null, firstSync };
    },

    async disable(actor) {
      const source = await sourceOfTeam(db, actor.teamId);
      if (!source) return NOT_SIGNED_IN;
      await scheduler.disableSource(source.id);
      await setAutoSync(db, source.id, false);
      logger.info({ sourceId: source.id, by: actor.userId }, 'source disabled');
      return { ok: true, source: await report((await loadSource(db, source.id))!) };
    },

    async setPhotoSync(actor, on) {
      const source = await sourceOfTeam(db, actor.teamId);
      if (!source) return NOT_SIGNED_IN;
      await setPhotoSync(db, source, on);
      return { ok: true, source: await report((await loadSource(db, source.id))!) };
    },

    async syncNow(actor, observer) {
      const source = await sourceOfTeam(db, actor.teamId);
      if (!source?.tenantId) return { started: false, reason: 'not_set_up', refusal: NOT_SIGNED_IN.refusal };
      if (source.status === 'setup') return { started: false, reason: 'not_set_up', refusal: FINISH_SETUP.refusal };
      if (source.status === 'needs_reauth')
        return { started: false, reason: 'needs_reauth', refusal: { code: 'reauth_first' } };
      return deps.watch.start({ sourceId: source.id, trigger: 'manual', requestedBy: actor.userId, observer });
    },

    async decideHeld(actor, runId, decision) {
      const run = await loadRun(db, runId);
      const source = run && (await loadSource(db, run.sourceId));
      if (!run || !source || source.slackTeamId !== actor.teamId)
        return { ok: false, refusal: { code: 'alert_out_of_date' } };
      try {
        if (decision === 'approve') return await approve(actor, source, runId);
        await rejectHeldRun(deps.sync, runId, actor.userId);
      } catch (error) {
        if (error instanceof HeldRunError)
          return { ok: false, refusal: { code: 'held_refused', detail: error.message } };
        throw error;
      }
      await deps.alerts.heldAnswered(source.id, runId);
      logger.info({ sourceId: source.id, runId, by: actor.userId }, 'held removals rejected');
      return { ok: true, run: runReport((await loadRun(db, runId))!) };
    },

    async drain(timeoutMs) {
      if (direct.size === 0) return;
      await withDeadline(
        Promise.allSettled([...direct]).then(() => undefined),
        timeoutMs,
        () => undefined,
      );
    },
  };
}
