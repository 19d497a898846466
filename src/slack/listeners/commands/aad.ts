import type { Middleware, RespondArguments, SlackCommandMiddlewareArgs } from '@slack/bolt';
import type { Actor } from '../../../services/model.ts';
import type { ListenerDeps } from '../../deps.ts';
import { openSignIn } from '../../flows/setup.ts';
import { commandReplies, enableWithProgress, startSync } from '../../flows/sync.ts';
import { installationOf } from '../../installation-key.ts';
import type { MessagePayload } from '../../views/kit.ts';
import { refusalText } from '../../views/refusals.ts';
import { disabledMessage, enabledMessage, helpMessage, problemMessage, statusMessage } from '../../views/replies.ts';

/** `/aad <subcommand>`: every answer is ephemeral; the admin gate has already run. */

export const ephemeral = (payload: MessagePayload): RespondArguments => ({ response_type: 'ephemeral', ...payload });

export function parseSubcommand(text: string): { name: string; rest: string } {
  const [name = '', ...rest] = text.trim().split(/\s+/);
  return { name: name.toLowerCase(), rest: rest.join(' ') };
}

export const UNEXPECTED =
  'aad-sync ran into an unexpected problem. Check /aad status before trying again; the details are in the app’s logs.';

export function aadCommand(deps: ListenerDeps): Middleware<SlackCommandMiddlewareArgs> {
  const { services } = deps;
  return async (args) => {
    try {
      await run(args);
    } catch (error) {
      // The command was acked; tell the admin instead of leaving them with silence.
      deps.logger.error({ err: error, text: args.command.text }, '/aad failed');
      await args.respond(ephemeral(problemMessage(UNEXPECTED)));
    }
  };

  async function run({ command, ack, respond, client }: Parameters<Middleware<SlackCommandMiddlewareArgs>>[0]) {
    const actor: Actor = { teamId: installationOf(command), userId: command.user_id };
    const { name } = parseSubcommand(command.text);
    switch (name) {
      case '':
      case 'help':
        await ack(ephemeral(helpMessage()));
        return;
      case 'setup':
        await ack();
        await openSignIn(deps, client, {
          triggerId: command.trigger_id,
          actor,
          purpose: 'setup',
          metadata: {},
        });
        return;
      case 'sync':
        await ack();
        await startSync(deps, client, actor, commandReplies(respond));
        return;
      case 'status':
        await ack();
        await respond(ephemeral(statusMessage(await services.status(actor.teamId))));
        return;
      case 'enable': {
        await ack();
        const { outcome, shown } = await enableWithProgress(deps, client, actor);
        await respond(
          ephemeral(outcome.ok ? enabledMessage(outcome.source) : problemMessage(refusalText(outcome.refusal))),
        );
        await shown;
        return;
      }
      case 'disable': {
        await ack();
        const outcome = await services.disable(actor);
        await respond(ephemeral(outcome.ok ? disabledMessage() : problemMessage(refusalText(outcome.refusal))));
        return;
      }
      default:
        await ack(ephemeral(helpMessage(name)));
    }
  }
}
