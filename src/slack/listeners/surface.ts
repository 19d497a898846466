import type { BlockAction } from '@slack/bolt';
import type { Actor } from '../../services/model.ts';
import { installationOf, type PayloadOrigin } from '../installation-key.ts';
import type { ModalMetadata } from '../metadata.ts';

/** Who acted and where the button was, read from a `block_actions` payload. */

export const actorOf = (body: PayloadOrigin & { user: { id: string } }): Actor => ({
  teamId: installationOf(body),
  userId: body.user.id,
});

export type Surface = 'home' | 'modal' | 'message';

export function surfaceOf(body: BlockAction): Surface {
  if (body.container?.type === 'message' || body.message) return 'message';
  return body.view?.type === 'home' ? 'home' : 'modal';
}

export const buttonValue = (body: BlockAction): string | undefined => {
  const action = body.actions[0];
  return action && 'value' in action ? action.value : undefined;
};

/** Metadata for a modal opened from this button: the source it names. */
export function metadataFrom(body: BlockAction): ModalMetadata {
  const sourceId = buttonValue(body);
  return sourceId ? { sourceId } : {};
}
