import type { App } from '@slack/bolt';
import type { ListenerDeps } from '../deps.ts';
import { createGuestCheck } from '../guests.ts';
import { registerActions } from './actions/index.ts';
import { registerCommands } from './commands/index.ts';
import { registerEvents } from './events/index.ts';
import { registerOptions } from './options/index.ts';
import { sourceOwnership } from './ownership.ts';
import { registerViews } from './views/index.ts';

export type { ListenerDeps };

/** Every listener of the app, by surface. */
export function registerListeners(app: App, given: ListenerDeps): void {
  // One guest check for the /whois command and its card buttons, so they share its cache.
  const deps = { ...given, guestCheck: given.guestCheck ?? createGuestCheck() };
  app.use(sourceOwnership(deps));
  registerCommands(app, deps);
  registerActions(app, deps);
  registerEvents(app, deps);
  registerOptions(app, deps);
  registerViews(app, deps);
}
