import type { AllMiddlewareArgs, AnyMiddlewareArgs, Middleware, SlackViewMiddlewareArgs } from '@slack/bolt';
import type { ListenerDeps } from '../deps.ts';
import { installationOf, type PayloadOrigin } from '../installation-key.ts';
import { decodeMetadata } from '../metadata.ts';
import { noticeModal } from '../views/notice.ts';

/**
 * Every source a request names — in a modal's `private_metadata` or a button's value — must belong to the
 * installation the request comes from. Services already act on the actor's own installation only; this refuses
 * outright, before any listener runs, a payload that carries another installation's source, so nothing is done
 * on its behalf anywhere.
 */

export const FOREIGN_SOURCE = 'This belongs to another workspace’s aad-sync. Nothing was changed.';

const SOURCE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface Payload extends PayloadOrigin {
  type?: string;
  view?: { private_metadata?: string };
  actions?: { value?: string }[];
}

/** The source ids a payload names. */
export function claimedSources(body: Payload): string[] {
  const claimed = new Set<string>();
  const fromMetadata = decodeMetadata(body.view?.private_metadata)?.sourceId;
  if (fromMetadata) claimed.add(fromMetadata);
  for (const action of body.actions ?? []) if (action.value && SOURCE_ID.test(action.value)) claimed.add(action.value);
  return [...claimed];
}

export function sourceOwnership(deps: ListenerDeps): Middleware<AnyMiddlewareArgs> {
  return async (args) => {
    const body = args.body as Payload;
    const claimed = claimedSources(body);
    const owns = deps.ownsSource;
    if (claimed.length === 0 || !owns) return args.next();
    const installation = installationOf(body);
    const answers = await Promise.all(claimed.map((id) => SOURCE_ID.test(id) && owns(installation, id)));
    if (answers.every(Boolean)) return args.next();
    deps.logger.warn({ installation, kind: body.type }, 'refused a request naming another installation’s source');
    await refuse(args as AnyMiddlewareArgs & AllMiddlewareArgs, body);
  };
}

async function refuse(args: AnyMiddlewareArgs & AllMiddlewareArgs, body: Payload): Promise<void> {
  if (!('ack' in args) || typeof args.ack !== 'function') return;
  if (body.type === 'view_submission') {
    await (args as SlackViewMiddlewareArgs).ack({
      response_action: 'update',
      view: noticeModal('aad-sync', FOREIGN_SOURCE),
    });
    return;
  }
  await (args.ack as () => Promise<void>)();
  if ('respond' in args && typeof args.respond === 'function' && body.type === 'block_actions') {
    await args.respond({ response_type: 'ephemeral', replace_original: false, text: FOREIGN_SOURCE });
  }
}
