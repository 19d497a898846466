import type { App } from '@slack/bolt';
import type { WhoisDeps } from '../../../services/whois.ts';
import type { GuestCheck } from '../../guests.ts';
import { slackIdentityLookup } from '../../identity-lookup.ts';
import { installationOf } from '../../installation-key.ts';
import { answerWhois, whoisAccess } from '../../whois-replies.ts';

/** `/whois <text>`: acknowledged at once, answered with a card only the asker sees (guests: see whoisAccess). */
export function register(app: App, deps: WhoisDeps, guests: GuestCheck): void {
  app.command('/whois', async ({ command, ack, respond, client, logger }) => {
    await ack();
    const context = {
      teamId: installationOf(command),
      identity: deps.identity ?? slackIdentityLookup(client),
      warn: (message: string) => logger.warn(message),
    };
    const access = await whoisAccess(deps, guests, client, context, command.user_id);
    const reply = access.ok ? await answerWhois(deps, access.context, command.text ?? '') : access.message;
    await respond({ response_type: 'ephemeral', ...reply });
  });
}
