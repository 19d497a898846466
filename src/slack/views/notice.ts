import { callbackIds } from '../ids.ts';
import { type ModalView, modal, section } from './kit.ts';

/** A one-message modal: refusals, windows that went out of date, short confirmations. */
export function noticeModal(title: string, text: string): ModalView {
  return modal({ callbackId: callbackIds.notice, title, blocks: [section(text)] });
}

export const NOT_ADMIN_TEXT =
  ':lock: Only Slack workspace admins and owners, and people your administrators allowed, can do this. Nothing was changed.';

export const notAdminModal = () => noticeModal('Admins only', NOT_ADMIN_TEXT);
