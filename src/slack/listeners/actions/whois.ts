import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import type { WhoisDeps } from '../../../services/whois.ts';
import { slackIdentityLookup } from '../../identity-lookup.ts';
import { SHOW_PERSON_ACTION, WHOIS_ACTIONS } from '../../ids.ts';
import { installationOf } from '../../installation-key.ts';
import { personCardReply, sharedCardReply } from '../../whois-replies.ts';

/** The buttons of /whois cards: open another person's card in place, or share the card with the channel. */
export function register(app: App, deps: WhoisDeps): void {
  const contextOf = (
    body: BlockAction,
    client: Parameters<typeof slackIdentityLookup>[0],
    warn: (m: string) => void,
  ) => ({
    teamId: installationOf(body),
    identity: deps.identity ?? slackIdentityLookup(client),
    warn,
  });

  app.action<BlockAction<ButtonAction>>({ type: 'block_actions', action_id: SHOW_PERSON_ACTION }, async (args) => {
    const { ack, body, action, respond, client, logger } = args;
    await ack();
    const reply = await personCardReply(
      deps,
      contextOf(body, client, (m) => logger.warn(m)),
      action.value ?? '',
    );
    await respond({ response_type: 'ephemeral', replace_original: true, ...reply });
  });

  app.action<BlockAction<ButtonAction>>({ type: 'block_actions', action_id: WHOIS_ACTIONS.share }, async (args) => {
    const { ack, body, action, respond, client, logger } = args;
    await ack();
    const context = contextOf(body, client, (m) => logger.warn(m));
    const shared = await sharedCardReply(deps, context, action.value ?? '', body.user.id);
    if (shared.visibleTo === 'clicker') {
      await respond({ response_type: 'ephemeral', replace_original: true, ...shared.message });
      return;
    }
    await respond({ response_type: 'in_channel', replace_original: false, ...shared.message });
    await respond({ delete_original: true });
  });
}
