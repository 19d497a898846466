import type { BlockAction, Middleware, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { ListenerDeps } from '../../deps.ts';
import { replaceView } from '../../flows/modals.ts';
import { openSignIn, reauthorizeContext, settingsStep, showSignInLink } from '../../flows/setup.ts';
import { callbackIds } from '../../ids.ts';
import { decodeMetadata } from '../../metadata.ts';
import { actorOf } from '../surface.ts';

/** Buttons of the setup wizard itself. */

type Handler = Middleware<SlackActionMiddlewareArgs<BlockAction>>;

/** "Set up aad-sync" on the Home tab of a workspace without a source. */
export const setupOpen =
  (deps: ListenerDeps): Handler =>
  async ({ ack, body, client }) => {
    await ack();
    await openSignIn(deps, client, {
      triggerId: body.trigger_id,
      actor: actorOf(body),
      purpose: 'setup',
      metadata: {},
    });
  };

/** "Try again" when no sign-in link could be made: a new one, bound to the same modal. */
export const setupRetry =
  (deps: ListenerDeps): Handler =>
  async ({ ack, body, client }) => {
    await ack();
    if (!body.view) return;
    const metadata = decodeMetadata(body.view.private_metadata) ?? {};
    const actor = actorOf(body);
    const purpose = body.view.callback_id === callbackIds.reauthorize ? 'reauthorize' : 'setup';
    const why = await reauthorizeContext(deps, actor, purpose);
    await showSignInLink(deps, client, actor, { id: body.view.id, hash: body.view.hash }, purpose, metadata, why);
  };

/** "Change settings" on the preview: back to step 3 with what was saved. */
export const setupBackToSettings =
  (deps: ListenerDeps): Handler =>
  async ({ ack, body, client }) => {
    await ack();
    if (!body.view) return;
    const metadata = decodeMetadata(body.view.private_metadata) ?? {};
    const next = await settingsStep(deps, actorOf(body), metadata, 'setup');
    await replaceView(client, deps.logger, { id: body.view.id }, next);
  };
