import type { App } from '@slack/bolt';
import { adminOnly } from '../../admin.ts';
import type { ListenerDeps } from '../../deps.ts';
import { actionIds, LINK_PREFIX } from '../../ids.ts';
import { decideHeld } from './held.ts';
import { setupBackToSettings, setupOpen, setupRetry } from './setup.ts';
import { disableSync, editGroups, editSettings, enableSync, photoSync, reauthorize, syncNow } from './source.ts';
import { register as registerWhois } from './whois.ts';

const LINK_ACTION = new RegExp(`^${LINK_PREFIX}`);

export function registerActions(app: App, deps: ListenerDeps): void {
  const admin = adminOnly(deps.adminCheck, deps.logger);

  // URL buttons open the browser by themselves, but Slack still posts block_actions and shows a warning unless acked.
  app.action(LINK_ACTION, async ({ ack }) => {
    await ack();
  });

  app.action(actionIds.setupOpen, admin, setupOpen(deps));
  app.action(actionIds.setupRetry, admin, setupRetry(deps));
  app.action(actionIds.setupBackToSettings, admin, setupBackToSettings(deps));
  app.action(actionIds.syncNow, admin, syncNow(deps));
  app.action(actionIds.enable, admin, enableSync(deps));
  app.action(actionIds.disable, admin, disableSync(deps));
  app.action(actionIds.photoSync, admin, photoSync(deps));
  app.action(actionIds.editGroups, admin, editGroups(deps));
  app.action(actionIds.editSettings, admin, editSettings(deps));
  app.action(actionIds.reauthorize, admin, reauthorize(deps));
  app.action(actionIds.approveRemovals, admin, decideHeld(deps, 'approve'));
  app.action(actionIds.rejectRemovals, admin, decideHeld(deps, 'reject'));
  // /whois cards are for everyone: no admin gate.
  if (deps.whois) registerWhois(app, deps.whois, deps.guestCheck);
}
