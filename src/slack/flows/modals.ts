import type { webApi } from '@slack/bolt';
import type { Logger } from '../../logger.ts';
import type { ModalView } from '../views/kit.ts';
import { slackErrorCode } from '../web-errors.ts';

export type ViewsClient = Pick<webApi.WebClient, 'views'>;

/**
 * Opens `loading` at once (a trigger lasts 3 s and is used up by the first view) and returns its id and
 * hash, so slower work can then replace it with `replaceView`.
 */
export async function openLoading(
  client: ViewsClient,
  triggerId: string,
  loading: ModalView,
): Promise<{ id: string; hash: string }> {
  const opened = await client.views.open({ trigger_id: triggerId, view: loading });
  return { id: opened.view!.id!, hash: opened.view!.hash! };
}

/** `views.update`, tolerating a modal that was closed or has moved on since. */
export async function replaceView(
  client: ViewsClient,
  logger: Logger,
  view: { id: string; hash?: string },
  next: ModalView,
): Promise<boolean> {
  try {
    await client.views.update({ view_id: view.id, ...(view.hash ? { hash: view.hash } : {}), view: next });
    return true;
  } catch (error) {
    const code = slackErrorCode(error);
    if (code !== 'not_found' && code !== 'hash_conflict') throw error;
    logger.info({ viewId: view.id, reason: code }, 'the modal was closed or moved on before it could be updated');
    return false;
  }
}
