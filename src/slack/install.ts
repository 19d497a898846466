import type { HTTPReceiverOptions } from '@slack/bolt';
import type { SlackInstallations } from './installations.ts';

/**
 * Install by OAuth ("Installing with OAuth"; Bolt "Authenticating with OAuth"): Bolt's InstallProvider serves
 * `GET /slack/install` (sets a signed state cookie and sends the browser to Slack's authorize page) and
 * `GET /slack/oauth_redirect` (checks the state against the cookie, exchanges the code with `oauth.v2.access`,
 * keeps the installation in PostgreSQL). Every request afterwards is authorized from the stored installation.
 */

type InstallerOptions = NonNullable<HTTPReceiverOptions['installerOptions']>;
export type CallbackOptions = NonNullable<InstallerOptions['callbackOptions']>;

export const SLACK_INSTALL_PATH = '/slack/install';
export const SLACK_OAUTH_REDIRECT_PATH = '/slack/oauth_redirect';

/** What the installer asks for; the manifest declares the same (test/slack/manifest.test.ts). */
export const BOT_SCOPES = ['commands', 'chat:write', 'users:read', 'users:read.email', 'channels:join'];

export interface InstallMode {
  clientId: string;
  clientSecret: string;
  stateSecret: string;
  installations: SlackInstallations;
  /** e.g. https://aad-sync.example.com — the redirect URL is this plus SLACK_OAUTH_REDIRECT_PATH. */
  publicUrl: string;
  /** The Web API base; Slack's authorize page sits beside it (https://slack.com/oauth/v2/authorize). */
  apiUrl: string;
  /** The pages the installer's browser sees after Slack sends it back. */
  callbackOptions: CallbackOptions;
}

/** Slack's authorize page for a Web API base: https://slack.com/api/ → https://slack.com/oauth/v2/authorize. */
export function authorizationUrlFor(apiUrl: string): string {
  return new URL('../oauth/v2/authorize', apiUrl).toString();
}

/** The receiver options that turn Bolt's installer on. */
export function installerReceiverOptions(
  mode: InstallMode,
  clientOptions: InstallerOptions['clientOptions'],
): Pick<
  HTTPReceiverOptions,
  'clientId' | 'clientSecret' | 'stateSecret' | 'redirectUri' | 'installationStore' | 'scopes' | 'installerOptions'
> {
  return {
    clientId: mode.clientId,
    clientSecret: mode.clientSecret,
    stateSecret: mode.stateSecret,
    redirectUri: `${mode.publicUrl}${SLACK_OAUTH_REDIRECT_PATH}`,
    installationStore: mode.installations,
    scopes: BOT_SCOPES,
    installerOptions: {
      installPath: SLACK_INSTALL_PATH,
      redirectUriPath: SLACK_OAUTH_REDIRECT_PATH,
      // "Add to Slack" goes straight to Slack's page; the state cookie is set on the way.
      directInstall: true,
      stateVerification: true,
      authorizationUrl: authorizationUrlFor(mode.apiUrl),
      // oauth.v2.access goes to the same Web API base as every other call (the emulator in tests).
      clientOptions,
      callbackOptions: mode.callbackOptions,
    },
  };
}
