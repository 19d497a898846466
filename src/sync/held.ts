import { and, eq, gt, ne, or } from 'drizzle-orm';
import { syncRuns } from '../db/schema.ts';
import { releaseHold } from '../db/sources.ts';
import { type HeldRemovals, type RunOutcome, runSync, type SyncDeps, type SyncRequest } from './engine.ts';
import { claimHeldDecision, type HeldDecision, replaceHeldDecision } from './runs.ts';

/**
 * An admin's answer to a run held for too many removals. Approve: a new run applies, with the threshold
 * lifted for exactly the people the held run listed: if the people it would now remove are not all among
 * them (some came back and others left meanwhile), it is held again with the new list to approve. Reject: nothing is removed
 * and the source is active again; the people stay until Entra changes, so if the same removals are still
 * there at the next run, that run is held again and asks again.
 */

export type HeldRunProblem = 'not_found' | 'not_held' | 'already_decided' | 'superseded';

export class HeldRunError extends Error {
  constructor(
    readonly problem: HeldRunProblem,
    message: string,
  ) {
    super(message);
    this.name = 'HeldRunError';
  }
}

async function loadHeldRun(deps: SyncDeps, runId: number) {
  const [run] = await deps.db.select().from(syncRuns).where(eq(syncRuns.id, runId));
  if (!run) throw new HeldRunError('not_found', `There is no sync run ${runId}.`);
  const decision = run.details.decision as HeldDecision | undefined;
  if (decision) {
    throw new HeldRunError(
      'already_decided',
      `This run was already ${decision.kind} by ${decision.by} at ${decision.at}.`,
    );
  }
  if (run.status !== 'held') throw new HeldRunError('not_held', `Sync run ${runId} is not waiting for approval.`);
  const [newer] = await deps.db
    .select({ id: syncRuns.id })
    .from(syncRuns)
    .where(
      and(
        eq(syncRuns.sourceId, run.sourceId),
        gt(syncRuns.id, run.id),
        ne(syncRuns.mode, 'preview'),
        or(eq(syncRuns.status, 'succeeded'), eq(syncRuns.status, 'held')),
      ),
    )
    .limit(1);
  if (newer) {
    throw new HeldRunError('superseded', `A later sync (run ${newer.id}) replaced this one: answer that one instead.`);
  }
  return run;
}

export async function approveHeldRun(
  deps: SyncDeps,
  runId: number,
  approvedBy: string,
  options: Pick<SyncRequest, 'progress'> = {},
): Promise<RunOutcome> {
  const run = await loadHeldRun(deps, runId);
  const held = run.details.held as HeldRemovals;
  const decision: HeldDecision = { kind: 'approved', by: approvedBy, at: new Date().toISOString() };
  if (!(await claimHeldDecision(deps.sql, runId, decision))) throw raceLost(runId);
  let outcome: RunOutcome;
  try {
    outcome = await runSync(deps, {
      sourceId: run.sourceId,
      trigger: 'manual',
      requestedBy: approvedBy,
      progress: options.progress,
      // A run held before the list was kept has none: the new run then holds again, with its list.
      approval: { heldRunId: runId, profileIds: held.profileIds ?? [] },
    });
  } catch (error) {
    await replaceHeldDecision(deps.sql, runId, null);
    throw error;
  }
  // Not started (another sync is running): the approval was not used and stays open.
  await replaceHeldDecision(
    deps.sql,
    runId,
    outcome.status === 'already_running' ? null : { ...decision, runId: outcome.runId },
  );
  return outcome;
}

export async function rejectHeldRun(
  deps: SyncDeps,
  runId: number,
  rejectedBy: string,
): Promise<{ runId: number; sourceId: string }> {
  const run = await loadHeldRun(deps, runId);
  if (!(await claimHeldDecision(deps.sql, runId, { kind: 'rejected', by: rejectedBy, at: new Date().toISOString() }))) {
    throw raceLost(runId);
  }
  await releaseHold(deps.sql, run.sourceId);
  return { runId, sourceId: run.sourceId };
}

function raceLost(runId: number): HeldRunError {
  return new HeldRunError('already_decided', `Someone else answered sync run ${runId} a moment ago.`);
}
