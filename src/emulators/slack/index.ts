/** The Slack Web API emulator and the signed client that plays Slack towards the app. */
export {
  type CommandReply,
  createSlackClient,
  type SlackClientOptions,
  type SlackReply,
  type SlackTestClient,
  signature,
} from './client.ts';
export { type OAuthAppOptions, ROTATING_TOKEN_LIFETIME_S } from './installs.ts';
export { type FormInput, formValues, type StateValues } from './payloads.ts';
export {
  DEFAULT_CHANNELS,
  DEFAULT_USERS,
  EMULATOR_DEFAULTS,
  type RecordedCall,
  type SlackEmulator,
  type SlackEmulatorOptions,
  type SpaceSpec,
  startSlackEmulator,
} from './server.ts';
export type {
  EmulatedChannel,
  EmulatedMessage,
  EmulatedUser,
  EmulatedView,
  RecordedResponse,
  Workspace,
} from './workspace.ts';
