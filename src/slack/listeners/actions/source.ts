import type { BlockAction, Middleware, RespondArguments, SlackActionMiddlewareArgs, webApi } from '@slack/bolt';
import type { Outcome } from '../../../services/contract.ts';
import type { ListenerDeps } from '../../deps.ts';
import { publishHome } from '../../flows/home.ts';
import { openLoading, replaceView } from '../../flows/modals.ts';
import { groupsStep, openSignIn, settingsStep } from '../../flows/setup.ts';
import { enableWithProgress, homeButtonReplies, messageButtonReplies, startSync } from '../../flows/sync.ts';
import { toggleValues } from '../../ids.ts';
import type { MessagePayload } from '../../views/kit.ts';
import { noticeModal } from '../../views/notice.ts';
import { refusalText } from '../../views/refusals.ts';
import { disabledMessage, problemMessage } from '../../views/replies.ts';
import { actorOf, buttonValue, metadataFrom, surfaceOf } from '../surface.ts';

/** The source's buttons, on the Home dashboard and on alerts. */

type Handler = Middleware<SlackActionMiddlewareArgs<BlockAction>>;
type Args = SlackActionMiddlewareArgs<BlockAction> & { client: webApi.WebClient };

/** After a change: refresh the dashboard, or answer on the message; a refusal is shown where the admin is. */
async function afterChange(deps: ListenerDeps, args: Args, outcome: Outcome, done: MessagePayload | null) {
  const { body, client, respond } = args;
  const actor = actorOf(body);
  if (surfaceOf(body) === 'message') {
    const reply = outcome.ok ? done : problemMessage(refusalText(outcome.refusal));
    if (reply) await respond({ response_type: 'ephemeral', replace_original: false, ...reply } as RespondArguments);
    return;
  }
  if (!outcome.ok)
    await client.views.open({
      trigger_id: body.trigger_id,
      view: noticeModal('Not changed', refusalText(outcome.refusal)),
    });
  if (surfaceOf(body) === 'home') await publishHome(deps, client, actor.teamId, actor.userId);
}

export const syncNow =
  (deps: ListenerDeps): Handler =>
  async (args) => {
    const { ack, body, client, respond } = args;
    await ack();
    const actor = actorOf(body);
    const home = surfaceOf(body) === 'home';
    const replies = home ? homeButtonReplies(client, body.trigger_id, deps.logger) : messageButtonReplies(respond);
    await startSync(deps, client, actor, replies);
    // The dashboard shows the run now going and who started it, whether this press started it or not.
    if (home) await publishHome(deps, client, actor.teamId, actor.userId);
  };

export const enableSync =
  (deps: ListenerDeps): Handler =>
  async (args) => {
    await args.ack();
    const { outcome, shown } = await enableWithProgress(deps, args.client, actorOf(args.body));
    await afterChange(deps, args as Args, outcome, null);
    await shown;
  };

export const disableSync =
  (deps: ListenerDeps): Handler =>
  async (args) => {
    await args.ack();
    const outcome = await deps.services.disable(actorOf(args.body));
    await afterChange(deps, args as Args, outcome, disabledMessage());
  };

export const photoSync =
  (deps: ListenerDeps): Handler =>
  async (args) => {
    await args.ack();
    const on = buttonValue(args.body) === toggleValues.on;
    const outcome = await deps.services.setPhotoSync(actorOf(args.body), on);
    await afterChange(deps, args as Args, outcome, null);
  };

const LOADING = ':hourglass_flowing_sand: Loading…';

/** Edit groups / Edit mappings: a modal at once, filled with the saved settings. */
const editModal =
  (deps: ListenerDeps, title: string, step: typeof groupsStep): Handler =>
  async ({ ack, body, client }) => {
    await ack();
    const view = await openLoading(client, body.trigger_id, noticeModal(title, LOADING));
    await replaceView(client, deps.logger, view, await step(deps, actorOf(body), metadataFrom(body), 'edit'));
  };

export const editGroups = (deps: ListenerDeps) => editModal(deps, 'Edit groups', groupsStep);
export const editSettings = (deps: ListenerDeps) => editModal(deps, 'Mappings & settings', settingsStep);

export const reauthorize =
  (deps: ListenerDeps): Handler =>
  async ({ ack, body, client }) => {
    await ack();
    const actor = actorOf(body);
    await openSignIn(deps, client, {
      triggerId: body.trigger_id,
      actor,
      purpose: 'reauthorize',
      metadata: metadataFrom(body),
    });
  };
