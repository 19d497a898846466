import type { App, ViewSubmitAction } from '@slack/bolt';
import { adminOnly } from '../../admin.ts';
import type { ListenerDeps } from '../../deps.ts';
import { callbackIds } from '../../ids.ts';
import {
  editGroupsSubmitted,
  editSettingsSubmitted,
  setupGroupsSubmitted,
  setupPreviewSubmitted,
  setupSettingsSubmitted,
} from './setup-steps.ts';

export function registerViews(app: App, deps: ListenerDeps): void {
  const admin = adminOnly(deps.adminCheck, deps.logger);
  app.view<ViewSubmitAction>(callbackIds.setupGroups, admin, setupGroupsSubmitted(deps));
  app.view<ViewSubmitAction>(callbackIds.setupSettings, admin, setupSettingsSubmitted(deps));
  app.view<ViewSubmitAction>(callbackIds.setupPreview, admin, setupPreviewSubmitted(deps));
  app.view<ViewSubmitAction>(callbackIds.editGroups, admin, editGroupsSubmitted(deps));
  app.view<ViewSubmitAction>(callbackIds.editSettings, admin, editSettingsSubmitted(deps));
}
