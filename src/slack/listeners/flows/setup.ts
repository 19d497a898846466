import type { webApi } from '@slack/bolt';
import type { ModalMetadata } from '../../metadata.ts';
import type { Actor } from '../../model.ts';
import { authorizeStep } from '../../views/setup.ts';
import { slackErrorCode } from '../../web-errors.ts';
import type { ListenerDeps } from '../deps.ts';

/** Step 1 of the wizard: open the modal at once (the trigger lasts 3 s), then fill in the personal sign-in link. */

type ViewsClient = Pick<webApi.WebClient, 'views'>;

export const LINK_FAILED =
  'aad-sync could not prepare a sign-in link. Try again in a moment; if it keeps failing, ask whoever runs aad-sync to look at its logs.';

export async function openSetupWizard(
  deps: ListenerDeps,
  client: ViewsClient,
  input: { triggerId: string; actor: Actor; channelId?: string },
): Promise<void> {
  const metadata: ModalMetadata = input.channelId ? { channelId: input.channelId } : {};
  const opened = await client.views.open({
    trigger_id: input.triggerId,
    view: authorizeStep({ state: 'preparing', authMode: 'delegated', link: null, metadata }),
  });
  await showSignInLink(deps, client, input.actor, { id: opened.view!.id!, hash: opened.view!.hash! }, metadata);
}

/** Asks for a fresh single-use link bound to this admin and modal, and shows it (or why it failed). */
export async function showSignInLink(
  deps: ListenerDeps,
  client: ViewsClient,
  actor: Actor,
  view: { id: string; hash: string },
  metadata: ModalMetadata,
): Promise<void> {
  let next: ReturnType<typeof authorizeStep>;
  try {
    const link = await deps.services.beginAuthorization(actor, { viewId: view.id, purpose: 'setup' });
    next = authorizeStep({
      state: 'ready',
      authMode: link.authMode,
      link: { url: link.url, expiresAt: link.expiresAt },
      metadata: { ...metadata, sourceId: link.sourceId, requestId: link.requestId },
    });
  } catch (error) {
    deps.logger.error({ err: error, userId: actor.userId }, 'could not prepare a sign-in link');
    next = authorizeStep({ state: 'error', authMode: 'delegated', link: null, error: LINK_FAILED, metadata });
  }
  try {
    await client.views.update({ view_id: view.id, hash: view.hash, view: next });
  } catch (error) {
    // The admin closed the modal, or it already moved on: nothing to show the link in.
    if (!['not_found', 'hash_conflict'].includes(slackErrorCode(error) ?? '')) throw error;
    deps.logger.info(
      { viewId: view.id, reason: slackErrorCode(error) },
      'setup modal was gone before its link was ready',
    );
  }
}
