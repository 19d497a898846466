import type { App } from '@slack/bolt';
import type { WhoisDeps } from '../../../services/whois.ts';
import { slackIdentityLookup } from '../../identity-lookup.ts';
import { installationOf } from '../../installation-key.ts';
import { answerWhois } from '../../whois-replies.ts';

/** `/whois <text>`: acknowledged at once, answered with a card only the asker sees. */
export function register(app: App, deps: WhoisDeps): void {
  app.command('/whois', async ({ command, ack, respond, client, logger }) => {
    await ack();
    const context = {
      teamId: installationOf(command),
      identity: deps.identity ?? slackIdentityLookup(client),
      warn: (message: string) => logger.warn(message),
    };
    const reply = await answerWhois(deps, context, command.text ?? '');
    await respond({ response_type: 'ephemeral', ...reply });
  });
}
