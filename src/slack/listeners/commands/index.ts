import type { App } from '@slack/bolt';
import { adminOnly } from '../../admin.ts';
import type { ListenerDeps } from '../../deps.ts';
import { aadCommand } from './aad.ts';
import { register as registerWhois } from './whois.ts';

export function registerCommands(app: App, deps: ListenerDeps): void {
  app.command('/aad', adminOnly(deps.adminCheck, deps.logger), aadCommand(deps));
  if (deps.whois) registerWhois(app, deps.whois, deps.guestCheck);
}
