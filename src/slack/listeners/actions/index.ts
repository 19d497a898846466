import type { App } from '@slack/bolt';
import { LINK_PREFIX } from '../../ids.ts';
import type { ListenerDeps } from '../deps.ts';

const LINK_ACTION = new RegExp(`^${LINK_PREFIX}`);

export function registerActions(app: App, _deps: ListenerDeps): void {
  // URL buttons open the browser by themselves, but Slack still posts block_actions and shows a warning unless acked.
  app.action(LINK_ACTION, async ({ ack }) => {
    await ack();
  });
}
