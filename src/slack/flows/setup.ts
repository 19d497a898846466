import type { CompletedAuthorization } from '../../services/authorization.ts';
import type { AuthorizationLink, SetupDraft } from '../../services/contract.ts';
import type { Actor } from '../../services/model.ts';
import type { ListenerDeps } from '../deps.ts';
import type { ModalMetadata } from '../metadata.ts';
import type { ModalView } from '../views/kit.ts';
import { noticeModal } from '../views/notice.ts';
import { reauthorizeModal } from '../views/reauthorize.ts';
import { refusalText } from '../views/refusals.ts';
import { authorizeStep, type GroupsData, groupsModal, type SettingsData, settingsModal } from '../views/setup.ts';
import { openLoading, replaceView, type ViewsClient } from './modals.ts';

/**
 * Signing in with Microsoft from Slack: the wizard's step 1 and the Reauthorize modal open at once,
 * then show a personal single-use link bound to that modal; the `/azure/callback` route finishes with
 * `showAuthorizationResult`, which moves the same modal on.
 */

export type SignInPurpose = 'setup' | 'reauthorize';

export const LINK_FAILED =
  'aad-sync could not prepare a sign-in link. Try again in a moment; if it keeps failing, ask whoever runs aad-sync to look at its logs.';

/** What the Reauthorize modal says about why it is needed. */
export interface ReauthorizeContext {
  reason: string | null;
  previousUpn: string | null;
}

const NO_CONTEXT: ReauthorizeContext = { reason: null, previousUpn: null };

type SignInState =
  | { state: 'preparing' }
  | { state: 'ready'; link: AuthorizationLink }
  | { state: 'error'; error: string; authMode?: AuthorizationLink['authMode'] }
  | { state: 'done' };

function signInView(
  purpose: SignInPurpose,
  s: SignInState,
  metadata: ModalMetadata,
  why: ReauthorizeContext,
): ModalView {
  const link = s.state === 'ready' ? { url: s.link.url, expiresAt: s.link.expiresAt } : null;
  const authMode =
    s.state === 'ready' ? s.link.authMode : s.state === 'error' ? (s.authMode ?? 'delegated') : 'delegated';
  const meta = s.state === 'ready' ? { ...metadata, sourceId: s.link.sourceId } : metadata;
  const error = s.state === 'error' ? s.error : undefined;
  if (purpose === 'reauthorize')
    return reauthorizeModal({ state: s.state, authMode, link, error, metadata: meta, ...why });
  if (s.state === 'done') return noticeModal('Set up aad-sync', ':white_check_mark: Signed in.');
  return authorizeStep({ state: s.state, authMode, link, error, metadata: meta });
}

/** Asks for a fresh link bound to this admin and modal, and shows it (or why there is none). */
export async function showSignInLink(
  deps: ListenerDeps,
  client: ViewsClient,
  actor: Actor,
  view: { id: string; hash?: string },
  purpose: SignInPurpose,
  metadata: ModalMetadata,
  why: ReauthorizeContext = NO_CONTEXT,
): Promise<void> {
  let state: SignInState;
  try {
    state = { state: 'ready', link: await deps.services.beginAuthorization(actor, { viewId: view.id, purpose }) };
  } catch (error) {
    deps.logger.error({ err: error, userId: actor.userId }, 'could not prepare a sign-in link');
    state = { state: 'error', error: LINK_FAILED };
  }
  await replaceView(client, deps.logger, view, signInView(purpose, state, metadata, why));
}

/** Why a reauthorization is needed and who signed in last, for the Reauthorize modal's text. */
export async function reauthorizeContext(
  deps: ListenerDeps,
  actor: Actor,
  purpose: SignInPurpose,
): Promise<ReauthorizeContext> {
  if (purpose !== 'reauthorize') return NO_CONTEXT;
  const source = await deps.services.status(actor.teamId);
  return { reason: source?.recentRuns[0]?.errorMessage ?? null, previousUpn: source?.authorizedBy.upn ?? null };
}

export async function openSignIn(
  deps: ListenerDeps,
  client: ViewsClient,
  input: { triggerId: string; actor: Actor; purpose: SignInPurpose; metadata: ModalMetadata },
): Promise<void> {
  const view = await openLoading(
    client,
    input.triggerId,
    signInView(input.purpose, { state: 'preparing' }, input.metadata, NO_CONTEXT),
  );
  const why = await reauthorizeContext(deps, input.actor, input.purpose);
  await showSignInLink(deps, client, input.actor, view, input.purpose, input.metadata, why);
}

export const groupsData = (draft: SetupDraft, metadata: ModalMetadata): GroupsData => ({
  selected: draft.groups,
  tenantPeople: draft.tenantPeople,
  signedInAs: draft.signedInAs,
  metadata: { ...metadata, sourceId: draft.sourceId },
});

export const settingsData = (draft: SetupDraft, metadata: ModalMetadata): SettingsData => ({
  mapping: draft.mapping,
  adminChannel: draft.adminChannel,
  photoSync: draft.photoSync,
  hourlySync: draft.hourlySync,
  syncEvery: draft.syncEvery,
  metadata: { ...metadata, sourceId: draft.sourceId },
});

/** How the sign-in ended, as the `/azure/callback` route knows it. */
export type AuthorizationResult =
  | { ok: true; actor: Actor; viewId: string; purpose: SignInPurpose }
  /** `message`: plain words for the admin, e.g. "The account that signed in cannot grant these permissions…". */
  | { ok: false; actor: Actor; viewId: string; purpose: SignInPurpose; message: string };

/**
 * Moves the modal that waited for the sign-in on: setup goes to step 2 (Groups), Reauthorize says it is
 * restored; a failure is shown in plain words with a way to try again. Returns false when the modal was
 * gone (the callback page still tells the admin).
 */
export async function showAuthorizationResult(
  deps: ListenerDeps,
  client: ViewsClient,
  result: AuthorizationResult,
): Promise<boolean> {
  const view = { id: result.viewId };
  if (!result.ok) {
    const failed = signInView(result.purpose, { state: 'error', error: result.message }, {}, NO_CONTEXT);
    return replaceView(client, deps.logger, view, failed);
  }
  if (result.purpose === 'reauthorize') {
    return replaceView(client, deps.logger, view, signInView('reauthorize', { state: 'done' }, {}, NO_CONTEXT));
  }
  const draft = await deps.services.draft(result.actor, { countPeople: true });
  const next = draft.ok
    ? groupsModal(groupsData(draft.draft, {}), 'setup')
    : signInView('setup', { state: 'error', error: refusalText(draft.refusal) }, {}, NO_CONTEXT);
  return replaceView(client, deps.logger, view, next);
}

/**
 * The `/azure/callback` route's outcome, shown in the modal that waited for it with the client of the
 * admin's installation; false when there is no modal or no installation.
 */
export function authorizationShower(
  deps: ListenerDeps,
  clientFor: (installation: string) => Promise<ViewsClient | undefined>,
) {
  return async (result: CompletedAuthorization): Promise<boolean> => {
    const request = result.request;
    if (!request?.viewId) return false;
    const actor = { teamId: request.teamId, userId: request.slackUserId };
    const { viewId, purpose } = request;
    const installed = await clientFor(request.teamId);
    if (!installed) return false;
    return showAuthorizationResult(
      deps,
      installed,
      result.ok ? { ok: true, actor, viewId, purpose } : { ok: false, actor, viewId, purpose, message: result.message },
    );
  };
}

/** The settings step again (from the preview's "Change settings"), or the reason it cannot be shown. */
export async function settingsStep(deps: ListenerDeps, actor: Actor, metadata: ModalMetadata, mode: 'setup' | 'edit') {
  const draft = await deps.services.draft(actor);
  return draft.ok
    ? settingsModal(settingsData(draft.draft, metadata), mode)
    : noticeModal('Mappings & settings', refusalText(draft.refusal));
}

export async function groupsStep(deps: ListenerDeps, actor: Actor, metadata: ModalMetadata, mode: 'setup' | 'edit') {
  const draft = await deps.services.draft(actor, { countPeople: true });
  return draft.ok
    ? groupsModal(groupsData(draft.draft, metadata), mode)
    : noticeModal('Edit groups', refusalText(draft.refusal));
}
