import type { BlockAction, Middleware, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { ListenerDeps } from '../../deps.ts';
import { resolvedAlert } from '../../views/alerts.ts';
import { refusalText } from '../../views/refusals.ts';
import { problemMessage } from '../../views/replies.ts';
import { actorOf, buttonValue } from '../surface.ts';

/** Approve / Reject on a held-removals alert: apply or discard, then show the decision on the alert. */
export const decideHeld =
  (deps: ListenerDeps, decision: 'approve' | 'reject'): Middleware<SlackActionMiddlewareArgs<BlockAction>> =>
  async ({ ack, body, respond }) => {
    await ack();
    const runId = Number(buttonValue(body));
    if (!Number.isSafeInteger(runId)) {
      await respond({
        response_type: 'ephemeral',
        replace_original: false,
        ...problemMessage('This alert is out of date.'),
      });
      return;
    }
    const actor = actorOf(body);
    const outcome = await deps.services.decideHeld(actor, runId, decision);
    if (!outcome.ok) {
      await respond({
        response_type: 'ephemeral',
        replace_original: false,
        ...problemMessage(refusalText(outcome.refusal)),
      });
      return;
    }
    const resolution = {
      kind: decision === 'approve' ? ('approved' as const) : ('rejected' as const),
      by: actor.userId,
      at: new Date(),
    };
    const removed = decision === 'approve' ? outcome.run.counts.removed : undefined;
    await respond({ replace_original: true, ...resolvedAlert(body.message ?? {}, resolution, removed) });
  };
