import type { Middleware, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import type { Actor } from '../../../services/model.ts';
import type { ListenerDeps } from '../../deps.ts';
import { afterAck } from '../../flows/background.ts';
import { publishHome } from '../../flows/home.ts';
import { replaceView } from '../../flows/modals.ts';
import { settingsStep } from '../../flows/setup.ts';
import { enableWithProgress } from '../../flows/sync.ts';
import {
  blockErrors,
  readGroups,
  readSettings,
  type SettingsForm,
  type StateValues,
  settingsErrors,
} from '../../forms.ts';
import { blockIds } from '../../ids.ts';
import { decodeMetadata } from '../../metadata.ts';
import { noticeModal } from '../../views/notice.ts';
import { refusalText } from '../../views/refusals.ts';
import { doneModal, previewModal } from '../../views/setup.ts';
import { actorOf } from '../surface.ts';

/** Submissions of the wizard's steps and of the edit modals. */

type Handler = Middleware<SlackViewMiddlewareArgs<ViewSubmitAction>>;
type Ack = SlackViewMiddlewareArgs<ViewSubmitAction>['ack'];

export const PREVIEW_FAILED = 'The preview could not be computed. Try again in a moment; nothing was imported.';

const valuesOf = (view: ViewSubmitAction['view']) => view.state.values as unknown as StateValues;

/** Saves the chosen groups; false (after showing why on the groups field) when they could not be saved. */
async function saveGroups(
  deps: ListenerDeps,
  actor: Actor,
  view: ViewSubmitAction['view'],
  ack: Ack,
): Promise<boolean> {
  const groups = readGroups(valuesOf(view));
  if (!groups.ok) {
    await ack({ response_action: 'errors', errors: { [blockIds.groups]: groups.error } });
    return false;
  }
  const saved = await deps.services.saveGroups(actor, groups.groupIds);
  if (!saved.ok) await ack({ response_action: 'errors', errors: { [blockIds.groups]: refusalText(saved.refusal) } });
  return saved.ok;
}

/** Validates and saves mappings and settings; false (after showing each problem on its field) when refused. */
async function saveSettings(deps: ListenerDeps, actor: Actor, form: SettingsForm, ack: Ack): Promise<boolean> {
  const local = settingsErrors(form);
  if (Object.keys(local).length > 0) {
    await ack({ response_action: 'errors', errors: local });
    return false;
  }
  const saved = await deps.services.saveSettings(actor, { ...form, adminChannel: form.adminChannel! });
  if (saved.ok) return true;
  const errors =
    'errors' in saved ? blockErrors(saved.errors) : { [blockIds.adminChannel]: refusalText(saved.refusal) };
  await ack({ response_action: 'errors', errors });
  return false;
}

export const setupGroupsSubmitted =
  (deps: ListenerDeps): Handler =>
  async ({ ack, body, view }) => {
    const actor = actorOf(body);
    if (!(await saveGroups(deps, actor, view, ack))) return;
    const metadata = decodeMetadata(view.private_metadata) ?? {};
    await ack({ response_action: 'update', view: await settingsStep(deps, actor, metadata, 'setup') });
  };

export const setupSettingsSubmitted =
  (deps: ListenerDeps): Handler =>
  async ({ ack, body, view, client }) => {
    const actor = actorOf(body);
    const form = readSettings(valuesOf(view));
    if (!(await saveSettings(deps, actor, form, ack))) return;
    const metadata = decodeMetadata(view.private_metadata) ?? {};
    const draft = await deps.services.draft(actor);
    const summary = {
      groups: draft.ok ? draft.draft.groups : [],
      hourlySync: form.hourlySync,
      syncEvery: draft.ok ? draft.draft.syncEvery : 'hour',
      metadata,
    };
    await ack({ response_action: 'update', view: previewModal({ report: null, ...summary }) });
    afterAck(deps.logger, 'the setup preview', async () => {
      const report = await deps.services.preview(actor).catch((error: unknown) => {
        deps.logger.error({ err: error }, 'preview failed');
        return { ok: false as const, refusal: { code: 'preview_failed', detail: PREVIEW_FAILED } as const };
      });
      await replaceView(client, deps.logger, { id: view.id }, previewModal({ report, ...summary }));
    });
  };

export const setupPreviewSubmitted =
  (deps: ListenerDeps): Handler =>
  async ({ ack, body, client }) => {
    const actor = actorOf(body);
    const { outcome: enabled, shown } = await enableWithProgress(deps, client, actor);
    if (!enabled.ok) {
      await ack({ response_action: 'update', view: noticeModal('Set up aad-sync', refusalText(enabled.refusal)) });
      return;
    }
    const { source } = enabled;
    await ack({
      response_action: 'update',
      view: doneModal({
        adminChannel: source.adminChannel,
        hourlySync: source.syncEnabled,
        syncEvery: source.syncEvery,
        people: null,
      }),
    });
    afterAck(deps.logger, 'refreshing the Home tab', () => publishHome(deps, client, actor.teamId, actor.userId));
    afterAck(deps.logger, 'showing the first sync', () => shown);
  };

export const editGroupsSubmitted =
  (deps: ListenerDeps): Handler =>
  async ({ ack, body, view, client }) => {
    const actor = actorOf(body);
    if (!(await saveGroups(deps, actor, view, ack))) return;
    await ack();
    afterAck(deps.logger, 'refreshing the Home tab', () => publishHome(deps, client, actor.teamId, actor.userId));
  };

export const editSettingsSubmitted =
  (deps: ListenerDeps): Handler =>
  async ({ ack, body, view, client }) => {
    const actor = actorOf(body);
    if (!(await saveSettings(deps, actor, readSettings(valuesOf(view)), ack))) return;
    await ack();
    afterAck(deps.logger, 'refreshing the Home tab', () => publishHome(deps, client, actor.teamId, actor.userId));
  };
