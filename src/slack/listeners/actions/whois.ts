import type { App, BlockAction, ButtonAction, Logger } from '@slack/bolt';
import type { WhoisDeps } from '../../../services/whois.ts';
import type { GuestCheck } from '../../guests.ts';
import { slackIdentityLookup } from '../../identity-lookup.ts';
import { SHOW_PERSON_ACTION, WHOIS_ACTIONS } from '../../ids.ts';
import { installationOf } from '../../installation-key.ts';
import { personCardReply, sharedCardReply, whoisAccess } from '../../whois-replies.ts';

/** The buttons of /whois cards: open another person's card in place, or share the card with the channel. */
export function register(app: App, deps: WhoisDeps, guests: GuestCheck): void {
  /** Who clicked, and what they may see (a guest's access may have changed since the card was shown). */
  const accessOf = (body: BlockAction, client: Parameters<typeof slackIdentityLookup>[0], logger: Logger) =>
    whoisAccess(
      deps,
      guests,
      client,
      {
        teamId: installationOf(body),
        identity: deps.identity ?? slackIdentityLookup(client),
        warn: (m: string) => logger.warn(m),
      },
      body.user.id,
    );

  app.action<BlockAction<ButtonAction>>({ type: 'block_actions', action_id: SHOW_PERSON_ACTION }, async (args) => {
    const { ack, body, action, respond, client, logger } = args;
    await ack();
    const access = await accessOf(body, client, logger);
    const reply = access.ok ? await personCardReply(deps, access.context, action.value ?? '') : access.message;
    await respond({ response_type: 'ephemeral', replace_original: true, ...reply });
  });

  app.action<BlockAction<ButtonAction>>({ type: 'block_actions', action_id: WHOIS_ACTIONS.share }, async (args) => {
    const { ack, body, action, respond, client, logger } = args;
    await ack();
    const access = await accessOf(body, client, logger);
    if (!access.ok) {
      await respond({ response_type: 'ephemeral', replace_original: true, ...access.message });
      return;
    }
    const shared = await sharedCardReply(deps, access.context, action.value ?? '', body.user.id);
    if (shared.visibleTo === 'clicker') {
      await respond({ response_type: 'ephemeral', replace_original: true, ...shared.message });
      return;
    }
    await respond({ response_type: 'in_channel', replace_original: false, ...shared.message });
    await respond({ delete_original: true });
  });
}
