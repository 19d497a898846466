import { actionIds, callbackIds } from '../ids.ts';
import { encodeMetadata, type ModalMetadata } from '../metadata.ts';
import { context, escapeText, type KnownBlock, type ModalView, modal, section } from './kit.ts';
import { type AuthorizeData, signInBlocks } from './setup.ts';

/** The small modal behind every Reauthorize button: a personal, one-time sign-in link. */

export interface ReauthorizeData {
  /** `done` once the callback has stored the new sign-in (the modal then says a sync is running). */
  state: AuthorizeData['state'] | 'done';
  authMode: AuthorizeData['authMode'];
  link: AuthorizeData['link'];
  /** Why syncing stopped, in plain words (the failed run's message). */
  reason: string | null;
  /** Who authorized last time, so the admin knows whether to sign in as someone else. */
  previousUpn: string | null;
  error?: string;
  metadata: ModalMetadata;
}

export function reauthorizeModal(data: ReauthorizeData): ModalView {
  const base = {
    callbackId: callbackIds.reauthorize,
    title: 'Reauthorize',
    privateMetadata: encodeMetadata(data.metadata),
  };
  if (data.state === 'done') {
    return modal({
      ...base,
      blocks: [
        section(':white_check_mark: *Authorization restored.* A sync is running now; the alert is marked resolved.'),
      ],
      close: 'Done',
    });
  }
  const why = data.reason
    ? `Syncing stopped: ${escapeText(data.reason)}`
    : 'Microsoft no longer accepts the last sign-in.';
  const previous = data.previousUpn
    ? `Last authorized by ${escapeText(data.previousUpn)}. If that account was removed or lost its admin role, sign in as another administrator.`
    : 'Sign in as an administrator who can consent for your organization.';
  const blocks: KnownBlock[] = [section(`${why}\n\n${previous}`)];
  if (data.state === 'error') {
    blocks.push(section(`:warning: *Sign-in did not work.*\n${escapeText(data.error ?? 'Please try again.')}`));
  }
  blocks.push(...signInBlocks(data.state, data.link, actionIds.setupRetry));
  if (data.state === 'waiting') {
    blocks.push(context(':hourglass_flowing_sand: Waiting for you to finish signing in in your browser…'));
  }
  blocks.push(
    context('Nothing in the directory changed while syncing was stopped; the next sync brings every change.'),
  );
  return modal({ ...base, blocks, close: 'Cancel' });
}
