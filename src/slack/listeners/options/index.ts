import type { App, Middleware, SlackOptionsMiddlewareArgs } from '@slack/bolt';
import { withDeadline } from '../../../deadline.ts';
import { adminOnly } from '../../admin.ts';
import type { ListenerDeps } from '../../deps.ts';
import { actionIds, optionValues } from '../../ids.ts';
import { installationOf } from '../../installation-key.ts';
import { option } from '../../views/kit.ts';
import { optionRefusalText } from '../../views/refusals.ts';
import { groupOption, MAX_GROUPS } from '../../views/setup.ts';

/** Slack waits 3 s for options; answering in 2.5 s leaves room for the network. */
export const SEARCH_BUDGET_MS = 2500;
export const SEARCH_SLOW = 'Entra ID is slow to answer: type again';

/** The group type-ahead: up to 100 matches, or one option that says, in words, why there are none. */
export const groupSearch =
  (deps: ListenerDeps, budgetMs = SEARCH_BUDGET_MS): Middleware<SlackOptionsMiddlewareArgs<'block_suggestion'>> =>
  async ({ ack, body, payload }) => {
    const search = deps.services.searchGroups(installationOf(body), payload.value.trim()).catch((error: unknown) => {
      deps.logger.error({ err: error }, 'group search failed');
      return { ok: false as const, refusal: { code: 'search_failed', cause: 'unknown' } as const };
    });
    const result = await withDeadline<Awaited<typeof search> | null>(search, budgetMs, () => null);
    if (result?.ok) {
      await ack({ options: result.groups.slice(0, MAX_GROUPS).map(groupOption) });
      return;
    }
    await ack({
      options: [option(result ? optionRefusalText(result.refusal) : SEARCH_SLOW, optionValues.searchFailed)],
    });
  };

export function registerOptions(app: App, deps: ListenerDeps): void {
  app.options(actionIds.groupsSelect, adminOnly(deps.adminCheck, deps.logger), groupSearch(deps));
}
