import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HTTPReceiverOptions } from '@slack/bolt';
import type { Logger } from '../logger.ts';
import { type PageContent, sendPage } from './html-page.ts';

/** Bolt's success/failure hooks of the OAuth redirect (the HTTP layer renders the pages; slack/ wires them). */
type CallbackOptions = NonNullable<NonNullable<HTTPReceiverOptions['installerOptions']>['callbackOptions']>;

/**
 * The pages the installer's browser sees when Slack sends it back to `/slack/oauth_redirect`: installed (and what
 * to do next), or why not, in one sentence — never a stack trace. Same page style as the Microsoft sign-in's.
 */

const TRY_AGAIN = 'Start again from "Add to Slack" in the same browser.';

function failurePage(code: string | undefined): PageContent {
  const problem = (message: string, next = TRY_AGAIN): PageContent => ({
    tone: 'problem',
    title: 'aad-sync was not installed',
    message,
    next,
  });
  switch (code) {
    case 'slack_oauth_installer_authorization_error':
      return problem('The installation was cancelled in Slack, or Slack did not accept it.');
    case 'slack_oauth_invalid_state':
    case 'slack_oauth_missing_state':
      return problem('This link does not belong to an installation started in this browser, or it has expired.');
    case 'slack_oauth_missing_code':
      return problem('Slack sent the browser back without the installation code.');
    default:
      return problem(
        'Something went wrong while finishing the installation.',
        `${TRY_AGAIN} If it keeps failing, tell whoever runs aad-sync.`,
      );
  }
}

export function installPages(logger: Logger): CallbackOptions {
  return {
    success(installation, _options, _req: IncomingMessage, res: ServerResponse) {
      sendPage(res, 200, {
        tone: 'success',
        title: 'aad-sync is installed',
        message: installation.isEnterpriseInstall
          ? 'aad-sync is installed for your whole organization: /whois works in every workspace of the org, from one directory.'
          : 'aad-sync is installed in your workspace.',
        next: 'In Slack, type /aad setup to connect Microsoft Entra ID (workspace or org admins only).',
      });
    },
    failure(error, _options, _req: IncomingMessage, res: ServerResponse) {
      logger.warn({ code: error.code, reason: error.message }, 'a Slack installation did not complete');
      sendPage(res, 400, failurePage(error.code));
    },
  };
}
