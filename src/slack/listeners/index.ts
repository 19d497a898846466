import type { App } from '@slack/bolt';
import type { ListenerDeps } from '../deps.ts';
import { registerActions } from './actions/index.ts';
import { registerCommands } from './commands/index.ts';
import { registerEvents } from './events/index.ts';
import { registerOptions } from './options/index.ts';
import { sourceOwnership } from './ownership.ts';
import { registerViews } from './views/index.ts';

export type { ListenerDeps };

/** Every listener of the app, by surface. */
export function registerListeners(app: App, deps: ListenerDeps): void {
  app.use(sourceOwnership(deps));
  registerCommands(app, deps);
  registerActions(app, deps);
  registerEvents(app, deps);
  registerOptions(app, deps);
  registerViews(app, deps);
}
