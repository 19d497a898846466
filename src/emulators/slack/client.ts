import { createHmac } from 'node:crypto';
import {
  appHomeOpened,
  blockActionPayload,
  commandForm,
  eventEnvelope,
  type FormInput,
  formValues,
  optionsLoadPayload,
  viewClosedPayload,
  viewSubmissionPayload,
  type Who,
} from './payloads.ts';
import type { SlackEmulator } from './server.ts';
import type { Envelope } from './socket-mode.ts';
import type { EmulatedMessage, EmulatedView, Workspace } from './workspace.ts';

/**
 * Sends what Slack sends to the app: signed slash commands, block actions, view submissions, options
 * loads and events, with trigger ids and response URLs issued by the emulator so the app's answers
 * land there. Variants send a wrong signature or an old timestamp. With `socketMode`, the same payloads
 * travel as Socket Mode envelopes over the app's WebSocket instead, and the acknowledgement is the reply.
 */

export interface SlackReply {
  status: number;
  /** Parsed JSON when the app answered JSON, else the text (often empty: a plain ack). */
  body: unknown;
  text: string;
}

export interface CommandReply extends SlackReply {
  triggerId: string;
  responseUrl: string;
}

export interface SlackClientOptions {
  /** The app's events URL, e.g. `http://127.0.0.1:3000/slack/events`. */
  appUrl: string;
  signingSecret: string;
  emulator: SlackEmulator;
  /** Deliver over the app's Socket Mode connection instead of signed HTTP requests. */
  socketMode?: boolean;
}

export interface SlackTestClient {
  command(
    command: string,
    text: string,
    who: { userId: string; teamId?: string; channelId?: string },
  ): Promise<CommandReply>;
  blockAction(input: {
    userId: string;
    actionId: string;
    value?: string;
    view?: EmulatedView;
    message?: EmulatedMessage;
    selectedValue?: string;
  }): Promise<SlackReply>;
  /** Submits `view` with its initial values plus `inputs` (by block id), and does to the modal what the ack asks. */
  viewSubmission(view: EmulatedView, inputs?: Record<string, FormInput>, userId?: string): Promise<SlackReply>;
  /** Closes the modal; sends `view_closed` (and returns the app's answer) only when the view has `notify_on_close`. */
  viewClosed(view: EmulatedView, userId?: string): Promise<SlackReply | null>;
  optionsLoad(actionId: string, value: string, view: EmulatedView, userId?: string): Promise<SlackReply>;
  /** An event in the workspace of `event.user` (the default workspace when there is none). */
  event(event: Record<string, unknown>): Promise<SlackReply>;
  /**
   * The workspace or org (by team or enterprise id) removes the app: the emulator revokes its tokens and Slack
   * sends `tokens_revoked` and `app_uninstalled`, in either order (Events API reference), here in `order`.
   */
  uninstall(installedIn: string, order?: 'revoked-first' | 'uninstalled-first'): Promise<SlackReply[]>;
  appHomeOpened(userId: string): Promise<SlackReply>;
  /** A signed request with any body and content type, for malformed input. */
  send(body: string, contentType: string): Promise<SlackReply>;
  withBadSignature(): SlackTestClient;
  /** Signs with a timestamp `seconds` away from now (negative = in the past; Slack apps refuse > 5 min old). */
  withTimestampOffset(seconds: number): SlackTestClient;
}

export const FORM = 'application/x-www-form-urlencoded';

export function signature(secret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

export function createSlackClient(
  options: SlackClientOptions,
  variant: { offset?: number; bad?: boolean } = {},
): SlackTestClient {
  const em = options.emulator;
  const whoFor = (userId: string, teamId?: string): Who => {
    const space = em.spaceOf(userId);
    return { userId, teamId: teamId ?? space.teamOf(userId), enterpriseId: space.enterpriseId };
  };
  const eventIn = (space: Workspace, event: Record<string, unknown>, teamId = space.teamId) => {
    const envelope = eventEnvelope(event, teamId, em.appId, space.botUserId, space.enterpriseId);
    return options.socketMode
      ? deliver({ type: 'events_api', payload: envelope })
      : send(JSON.stringify(envelope), 'application/json');
  };

  async function send(body: string, contentType: string): Promise<SlackReply> {
    const timestamp = Math.floor(Date.now() / 1000) + (variant.offset ?? 0);
    const secret = variant.bad ? `${options.signingSecret}-wrong` : options.signingSecret;
    const res = await fetch(options.appUrl, {
      method: 'POST',
      // A string body: URLSearchParams would add "; charset=UTF-8", which Bolt's strict content-type check refuses.
      body,
      headers: {
        'content-type': contentType,
        'x-slack-request-timestamp': String(timestamp),
        'x-slack-signature': signature(secret, timestamp, body),
      },
    });
    const text = await res.text();
    let parsed: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('json') && text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    return { status: res.status, body: parsed, text };
  }

  async function deliver(envelope: Envelope): Promise<SlackReply> {
    const ack = await em.socketMode.deliver(envelope);
    return { status: 200, body: ack, text: JSON.stringify(ack) };
  }

  const interactive = (payload: Record<string, unknown>) =>
    options.socketMode
      ? deliver({ type: 'interactive', payload })
      : send(new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), FORM);

  const client: SlackTestClient = {
    async command(command, text, who) {
      const triggerId = em.issueTrigger(who.userId);
      const channelId = who.channelId ?? 'C0GENERAL';
      const responseUrl = em.issueResponseUrl({ userId: who.userId, channel: channelId });
      const form = commandForm({
        command,
        text,
        who: whoFor(who.userId, who.teamId),
        channelId,
        appId: em.appId,
        responseUrl,
        triggerId,
      });
      const reply = options.socketMode
        ? await deliver({ type: 'slash_commands', payload: form })
        : await send(new URLSearchParams(form).toString(), FORM);
      return { ...reply, triggerId, responseUrl };
    },

    blockAction(input) {
      const responseUrl = input.message
        ? em.issueResponseUrl({ userId: input.userId, channel: input.message.channel, messageTs: input.message.ts })
        : undefined;
      return interactive(
        blockActionPayload({
          ...input,
          who: whoFor(input.userId),
          appId: em.appId,
          triggerId: em.issueTrigger(input.userId),
          responseUrl,
        }),
      );
    },

    async viewSubmission(view, inputs = {}, userId = view.user_id) {
      const values = formValues(view, inputs);
      const reply = await interactive(
        viewSubmissionPayload(view, values, whoFor(userId), em.appId, em.issueTrigger(userId)),
      );
      if (reply.status === 200) em.applySubmissionAck(view.id, reply.body);
      return reply;
    },

    async viewClosed(view, userId = view.user_id) {
      em.closeView(view.id);
      // Slack tells the app only about modals that asked for it.
      if (!view.notify_on_close) return null;
      return interactive(viewClosedPayload(view, whoFor(userId), em.appId));
    },

    optionsLoad(actionId, value, view, userId = view.user_id) {
      return interactive(optionsLoadPayload(actionId, value, view, whoFor(userId), em.appId));
    },

    event(event) {
      const user = typeof event.user === 'string' ? event.user : '';
      const space = em.spaceOf(user);
      return eventIn(space, event, space.teamOf(user));
    },

    async uninstall(installedIn, order = 'revoked-first') {
      const space = em.space(installedIn);
      em.uninstall(installedIn);
      const revoked = { type: 'tokens_revoked', tokens: { oauth: [], bot: [space.botUserId] } };
      const uninstalled = { type: 'app_uninstalled' };
      const events = order === 'revoked-first' ? [revoked, uninstalled] : [uninstalled, revoked];
      const replies: SlackReply[] = [];
      for (const event of events) replies.push(await eventIn(space, event));
      return replies;
    },

    appHomeOpened(userId) {
      return client.event(appHomeOpened(userId, em.homeOf(userId)));
    },

    send,
    withBadSignature: () => createSlackClient(options, { ...variant, bad: true }),
    withTimestampOffset: (seconds) => createSlackClient(options, { ...variant, offset: seconds }),
  };
  return client;
}
