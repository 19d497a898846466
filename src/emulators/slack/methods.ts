import { refuseMessageBlocks, refuseView, SLACK_LIMITS } from './block-kit.ts';
import type { EmulatedChannel, EmulatedMessage, EmulatedUser, EmulatedView, Workspace } from './workspace.ts';

/**
 * Web API methods the app uses, answered the way Slack answers them: same success shapes, same error
 * codes, and Slack's refusal of payloads that break Block Kit limits.
 */

export type Args = Record<string, unknown>;
export type Answer = Record<string, unknown> & { ok: boolean };

const fail = (error: string, extra: Record<string, unknown> = {}): Answer => ({ ok: false, error, ...extra });
const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

function userObject(ws: Workspace, u: EmulatedUser) {
  return {
    id: u.id,
    team_id: u.teamId ?? ws.teamId,
    name: u.name,
    real_name: u.realName ?? u.name,
    deleted: Boolean(u.deleted),
    is_admin: Boolean(u.isAdmin),
    is_owner: Boolean(u.isOwner),
    is_primary_owner: Boolean(u.isPrimaryOwner),
    // Guests, as the user object reference (docs.slack.dev/reference/objects/user-object) describes them:
    // `is_restricted` "whether or not the user is a guest user. Use in combination with the is_ultra_restricted
    // field to check if the user is a single-channel guest"; `is_ultra_restricted` "a single-channel guest".
    is_restricted: Boolean(u.isRestricted || u.isUltraRestricted),
    is_ultra_restricted: Boolean(u.isUltraRestricted),
    is_bot: Boolean(u.isBot),
    tz: u.tz ?? 'Europe/London',
    // Grid users carry their org roles apart from their workspace roles (users.info, "Enterprise Grid" fields).
    ...(ws.enterpriseId
      ? {
          enterprise_user: {
            id: u.id,
            enterprise_id: ws.enterpriseId,
            enterprise_name: `Org ${ws.enterpriseId}`,
            is_admin: u.orgRole !== undefined,
            is_owner: u.orgRole === 'owner',
            teams: [u.teamId ?? ws.teamId],
          },
        }
      : {}),
    profile: {
      real_name: u.realName ?? u.name,
      display_name: u.name,
      ...(u.email ? { email: u.email } : {}),
      image_72: `https://avatars.example.invalid/${u.id}_72.png`,
    },
  };
}

function channelObject(ws: Workspace, c: EmulatedChannel) {
  return {
    id: c.id,
    name: c.name,
    is_channel: !c.isPrivate,
    is_group: c.isPrivate,
    is_im: c.id.startsWith('D'),
    is_private: c.isPrivate,
    is_archived: Boolean(c.isArchived),
    is_member: c.members.includes(ws.botUserId),
    num_members: c.members.length,
  };
}

function messageObject(ws: Workspace, m: EmulatedMessage) {
  return {
    type: 'message',
    user: m.user,
    bot_id: ws.botId,
    app_id: ws.appId,
    team: ws.teamId,
    text: m.text,
    blocks: m.blocks,
    ts: m.ts,
    ...(m.threadTs ? { thread_ts: m.threadTs } : {}),
  };
}

/** The channel a bot message may go to, or Slack's refusal. */
function postable(ws: Workspace, channel: unknown): EmulatedChannel | Answer {
  const c = typeof channel === 'string' ? ws.resolveChannel(channel) : undefined;
  if (!c) return fail('channel_not_found');
  if (c.isArchived) return fail('is_archived');
  if (!c.members.includes(ws.botUserId)) return fail('not_in_channel');
  return c;
}

/** Checks text and blocks as Slack does before storing a message (block-kit.ts has the limits and sources). */
function messageContent(args: Args, textLimit: number): { text: string; blocks: unknown[] } | Answer {
  const text = str(args.text) ?? '';
  const blocks = Array.isArray(args.blocks) ? args.blocks : [];
  if (text === '' && blocks.length === 0) return fail('no_text');
  if ([...text].length > textLimit) return fail('msg_too_long');
  const refused = refuseMessageBlocks(blocks);
  if (refused) {
    // Slack lists the problems twice: bare in `errors`, and prefixed with [ERROR] in response_metadata.
    const errors = refused.messages.map((m) => m.replace(/^\[ERROR\] /, ''));
    return fail(
      refused.error,
      refused.messages.length ? { errors, response_metadata: { messages: refused.messages } } : {},
    );
  }
  return { text, blocks };
}

const isAnswer = (v: unknown): v is Answer => typeof v === 'object' && v !== null && 'ok' in v;

function viewObject(view: EmulatedView) {
  const { open: _open, ...visible } = view;
  return visible;
}

/** Builds the stored view from `args.view`, or Slack's refusal. */
function acceptView(raw: unknown, type: 'modal' | 'home'): Record<string, unknown> | Answer {
  if (typeof raw !== 'object' || raw === null)
    return fail('invalid_arguments', { response_metadata: { messages: ['[ERROR] missing required field: view'] } });
  const refused = refuseView(raw as Record<string, unknown>, type);
  if (refused)
    return fail(refused.error, refused.messages.length ? { response_metadata: { messages: refused.messages } } : {});
  return raw as Record<string, unknown>;
}

function storeView(
  ws: Workspace,
  spec: Record<string, unknown>,
  into: { id?: string; userId: string; rootId: string | null; previousId: string | null },
): EmulatedView {
  const existing = into.id ? ws.views.get(into.id) : undefined;
  const view: EmulatedView = {
    id: into.id ?? ws.newViewId(),
    team_id: ws.teamId,
    user_id: into.userId,
    type: spec.type === 'home' ? 'home' : 'modal',
    hash: ws.nextHash(),
    callback_id: str(spec.callback_id) ?? '',
    private_metadata: str(spec.private_metadata) ?? '',
    external_id: str(spec.external_id) ?? existing?.external_id ?? '',
    title: spec.title,
    submit: spec.submit,
    close: spec.close,
    notify_on_close: Boolean(spec.notify_on_close),
    clear_on_close: Boolean(spec.clear_on_close),
    blocks: (spec.blocks as Record<string, unknown>[]) ?? [],
    state: { values: {} },
    root_view_id: into.rootId,
    previous_view_id: into.previousId,
    app_id: ws.appId,
    bot_id: ws.botId,
    open: true,
  };
  ws.views.set(view.id, view);
  return view;
}

function externalIdTaken(ws: Workspace, externalId: unknown, except?: string): boolean {
  if (typeof externalId !== 'string' || externalId === '') return false;
  return [...ws.views.values()].some((v) => v.external_id === externalId && v.id !== except);
}

export const methods: Record<string, (ws: Workspace, args: Args) => Answer> = {
  'users.info': (ws, args) => {
    const user = ws.users.get(str(args.user) ?? '');
    return user ? { ok: true, user: userObject(ws, user) } : fail('user_not_found');
  },

  'users.lookupByEmail': (ws, args) => {
    const email = (str(args.email) ?? '').toLowerCase();
    const user = [...ws.users.values()].find((u) => u.email?.toLowerCase() === email && !u.deleted);
    return user ? { ok: true, user: userObject(ws, user) } : fail('users_not_found');
  },

  'conversations.info': (ws, args) => {
    const c = ws.channels.get(str(args.channel) ?? '');
    if (!c || (c.isPrivate && !c.members.includes(ws.botUserId))) return fail('channel_not_found');
    return { ok: true, channel: channelObject(ws, c) };
  },

  'conversations.join': (ws, args) => {
    const c = ws.channels.get(str(args.channel) ?? '');
    if (!c) return fail('channel_not_found');
    if (c.isPrivate) return fail('method_not_supported_for_channel_type');
    if (c.isArchived) return fail('is_archived');
    const already = c.members.includes(ws.botUserId);
    if (!already) c.members.push(ws.botUserId);
    return { ok: true, channel: channelObject(ws, c), ...(already ? { warning: 'already_in_channel' } : {}) };
  },

  'chat.postMessage': (ws, args) => {
    const channel = postable(ws, args.channel);
    if (isAnswer(channel)) return channel;
    const content = messageContent(args, SLACK_LIMITS.postedText.max);
    if (isAnswer(content)) return content;
    const threadTs = str(args.thread_ts);
    if (threadTs && !ws.messages.some((m) => m.channel === channel.id && m.ts === threadTs))
      return fail('thread_not_found');
    const message: EmulatedMessage = { channel: channel.id, ts: ws.nextTs(), user: ws.botUserId, ...content, threadTs };
    ws.messages.push(message);
    return { ok: true, channel: channel.id, ts: message.ts, message: messageObject(ws, message) };
  },

  'chat.update': (ws, args) => {
    const message = ws.messages.find((m) => m.channel === args.channel && m.ts === args.ts && !m.ephemeralTo);
    if (!message) return fail(ws.channels.has(str(args.channel) ?? '') ? 'message_not_found' : 'channel_not_found');
    const content = messageContent(args, SLACK_LIMITS.updatedText.max);
    if (isAnswer(content)) return content;
    Object.assign(message, content, { edited: true });
    return {
      ok: true,
      channel: message.channel,
      ts: message.ts,
      text: message.text,
      message: messageObject(ws, message),
    };
  },

  'chat.postEphemeral': (ws, args) => {
    const channel = postable(ws, args.channel);
    if (isAnswer(channel)) return channel;
    const user = str(args.user) ?? '';
    if (!ws.users.has(user)) return fail('user_not_found');
    if (!channel.members.includes(user)) return fail('user_not_in_channel');
    const content = messageContent(args, SLACK_LIMITS.postedText.max);
    if (isAnswer(content)) return content;
    const message: EmulatedMessage = {
      channel: channel.id,
      ts: ws.nextTs(),
      user: ws.botUserId,
      ephemeralTo: user,
      ...content,
    };
    ws.messages.push(message);
    return { ok: true, message_ts: message.ts };
  },

  'views.open': (ws, args) => {
    const spec = acceptView(args.view, 'modal');
    if (isAnswer(spec)) return spec;
    if (externalIdTaken(ws, spec.external_id)) return fail('duplicate_external_id');
    const userId = ws.triggerUser(str(args.trigger_id) ?? '');
    const refused = ws.useTrigger(args.trigger_id);
    if (refused) return fail(refused);
    const view = storeView(ws, spec, { userId: userId!, rootId: null, previousId: null });
    view.root_view_id = view.id;
    ws.stacks.set(view.id, [view.id]);
    return { ok: true, view: viewObject(view) };
  },

  'views.push': (ws, args) => {
    const spec = acceptView(args.view, 'modal');
    if (isAnswer(spec)) return spec;
    const userId = ws.triggerUser(str(args.trigger_id) ?? '');
    const refused = ws.useTrigger(args.trigger_id);
    if (refused) return fail(refused);
    const open = [...ws.stacks.entries()].filter(
      ([, stack]) => stack.length > 0 && ws.views.get(stack[0])?.user_id === userId,
    );
    const [rootId, stack] = open[open.length - 1] ?? [];
    if (!rootId || !stack) return fail('not_found');
    if (stack.length >= 3) return fail('push_limit_reached');
    const view = storeView(ws, spec, { userId: userId!, rootId, previousId: stack[stack.length - 1] });
    stack.push(view.id);
    return { ok: true, view: viewObject(view) };
  },

  'views.update': (ws, args) => {
    const spec = acceptView(args.view, 'modal');
    if (isAnswer(spec)) return spec;
    const current =
      typeof args.view_id === 'string'
        ? ws.views.get(args.view_id)
        : [...ws.views.values()].find((v) => v.external_id !== '' && v.external_id === args.external_id);
    if (!current?.open) return fail('not_found');
    if (typeof args.hash === 'string' && args.hash !== current.hash) return fail('hash_conflict');
    if (externalIdTaken(ws, spec.external_id, current.id)) return fail('duplicate_external_id');
    const view = storeView(ws, spec, {
      id: current.id,
      userId: current.user_id,
      rootId: current.root_view_id,
      previousId: current.previous_view_id,
    });
    return { ok: true, view: viewObject(view) };
  },

  'views.publish': (ws, args) => {
    const spec = acceptView(args.view, 'home');
    if (isAnswer(spec)) return spec;
    const userId = str(args.user_id) ?? '';
    if (!ws.users.has(userId)) return fail('user_not_found');
    const currentId = ws.homes.get(userId);
    const current = currentId ? ws.views.get(currentId) : undefined;
    if (current && typeof args.hash === 'string' && args.hash !== current.hash) return fail('hash_conflict');
    const view = storeView(ws, spec, { id: currentId, userId, rootId: null, previousId: null });
    ws.homes.set(userId, view.id);
    return { ok: true, view: viewObject(view) };
  },
};
