import type { App, BlockAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { adminOnly } from '../../admin.ts';
import { actionIds, LINK_PREFIX } from '../../ids.ts';
import { decodeMetadata } from '../../metadata.ts';
import type { ListenerDeps } from '../deps.ts';
import { openSetupWizard, showSignInLink } from '../flows/setup.ts';

const LINK_ACTION = new RegExp(`^${LINK_PREFIX}`);

type ActionArgs = SlackActionMiddlewareArgs<BlockAction>;
const actorOf = (body: BlockAction) => ({ teamId: body.team?.id ?? body.user.team_id ?? '', userId: body.user.id });

export function registerActions(app: App, deps: ListenerDeps): void {
  const admin = adminOnly(deps.adminCheck, deps.logger);

  // URL buttons open the browser by themselves, but Slack still posts block_actions and shows a warning unless acked.
  app.action(LINK_ACTION, async ({ ack }) => {
    await ack();
  });

  app.action<BlockAction>(
    actionIds.setupOpen,
    admin,
    async ({ ack, body, client }: ActionArgs & { client: App['client'] }) => {
      await ack();
      await openSetupWizard(deps, client, { triggerId: body.trigger_id, actor: actorOf(body) });
    },
  );

  app.action<BlockAction>(
    actionIds.setupRetry,
    admin,
    async ({ ack, body, client }: ActionArgs & { client: App['client'] }) => {
      await ack();
      if (!body.view) return;
      const metadata = decodeMetadata(body.view.private_metadata) ?? {};
      const { requestId: _stale, ...rest } = metadata;
      await showSignInLink(deps, client, actorOf(body), { id: body.view.id, hash: body.view.hash }, rest);
    },
  );
}
