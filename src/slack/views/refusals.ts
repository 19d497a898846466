import type { Refusal } from '../../services/model.ts';

/**
 * A refusal in plain words: what went wrong and what to do, one or two sentences. `detail` (Graph's or a
 * failed run's own explanation) is quoted as given; views escape the result like any other text.
 */
export function refusalText(refusal: Refusal): string {
  switch (refusal.code) {
    case 'not_signed_in':
      return 'aad-sync is not connected to Entra ID yet: run /aad setup and sign in with Microsoft.';
    case 'finish_setup':
      return 'Finish /aad setup first: choose the groups, the mappings and the admin channel.';
    case 'not_set_up':
      return 'aad-sync is not set up yet: run /aad setup.';
    case 'reauth_first':
      return 'Microsoft no longer accepts the saved sign-in, so aad-sync cannot sync. Reauthorize first (the button on the alert or the Home tab).';
    case 'not_started_yet':
      return 'The sync is queued but has not started yet (every aad-sync process is busy). It runs as soon as one is free; /aad status shows it.';
    case 'turned_off_meanwhile':
      return 'The sync did not run: aad-sync is not set up, or syncing was turned off meanwhile.';
    case 'run_in_progress':
      return 'A sync is running right now. Try again when it has finished (see /aad status).';
    case 'alert_out_of_date':
      return 'This alert is out of date: the sync it asks about is no longer waiting for an answer.';
    case 'search_slow':
      return 'Entra ID is slow to answer: type again';
    case 'groups_unconfirmed':
      return 'Entra ID did not answer in time: submit again.';
    case 'search_failed':
      return SEARCH_FAILED[refusal.cause];
    case 'groups_gone':
      return `No longer in Entra ID: ${refusal.names.join(', ')}. Remove it and search again.`;
    case 'held_again':
      return `Nobody was removed: the people the sync would remove now (${refusal.removals ?? 'several'}) are not the ones you approved, so it was held again. Check the names in the new alert and answer it.`;
    case 'approved_but_failed':
      return `Approved, but the sync that applies it failed: ${refusal.detail ?? 'see /aad status'} Nobody was removed.`;
    case 'preview_failed':
      return refusal.detail ?? 'The preview could not be computed.';
    case 'held_refused':
      return refusal.detail ?? 'This sync is no longer waiting for an answer.';
    case 'could_not_run':
      return `The sync could not run: ${refusal.detail ?? 'see the logs'}`;
  }
}

/** Short enough for an option text (75 characters): the group search's answer when it has no groups. */
const SEARCH_FAILED: Record<Extract<Refusal, { code: 'search_failed' }>['cause'], string> = {
  reauth_required: 'The Microsoft sign-in expired: Reauthorize first',
  app_misconfigured: 'Microsoft refused the app: see the alert',
  unavailable: 'Entra ID is not answering: try again in a moment',
  unknown: 'Search failed: try again',
};

/** The words for a type-ahead option (75 characters): the short form where one exists. */
export function optionRefusalText(refusal: Refusal): string {
  return refusal.code === 'not_signed_in' ? 'Sign in with Microsoft first' : refusalText(refusal);
}

/** The settings form's word for an admin channel left empty. */
export const ADMIN_CHANNEL_MISSING = 'Choose the channel where alerts should go.';
