import { randomBytes } from 'node:crypto';

/**
 * The emulated Slack workspace: people, channels, messages, modal stacks, Home tabs, triggers and
 * response URLs. Pure state; `methods.ts` answers Web API calls against it.
 */

export interface EmulatedUser {
  id: string;
  name: string;
  realName?: string;
  email?: string;
  isAdmin?: boolean;
  isOwner?: boolean;
  isPrimaryOwner?: boolean;
  isBot?: boolean;
  /** A multi-channel guest (users.info `is_restricted`). */
  isRestricted?: boolean;
  /** A single-channel guest: Slack reports both `is_restricted` and `is_ultra_restricted`. */
  isUltraRestricted?: boolean;
  deleted?: boolean;
  tz?: string;
  /** In an Enterprise Grid org: the workspace the person belongs to (default: the org's first). */
  teamId?: string;
  /** In an Enterprise Grid org: an org-level role (users.info `enterprise_user.is_owner` / `is_admin`). */
  orgRole?: 'owner' | 'admin';
}

export interface EmulatedChannel {
  id: string;
  name: string;
  isPrivate: boolean;
  /** User ids in the channel; the bot posts only where its own user id is listed. */
  members: string[];
  isArchived?: boolean;
}

export interface EmulatedMessage {
  channel: string;
  ts: string;
  threadTs?: string;
  text: string;
  blocks: unknown[];
  user: string;
  /** chat.postEphemeral: the only person who sees it. */
  ephemeralTo?: string;
  edited?: boolean;
}

export interface EmulatedView {
  id: string;
  team_id: string;
  /** Whose screen shows it. */
  user_id: string;
  type: 'modal' | 'home';
  hash: string;
  callback_id: string;
  private_metadata: string;
  external_id: string;
  title?: unknown;
  submit?: unknown;
  close?: unknown;
  notify_on_close?: boolean;
  clear_on_close?: boolean;
  blocks: Record<string, unknown>[];
  state: { values: Record<string, Record<string, unknown>> };
  root_view_id: string | null;
  previous_view_id: string | null;
  app_id: string;
  bot_id: string;
  /** False once the modal was closed (or, for Home, never). */
  open: boolean;
}

export interface ResponseTarget {
  userId: string;
  channel?: string;
  /** The message a button was clicked on; `replace_original` edits it. */
  messageTs?: string;
}

export interface RecordedResponse {
  id: string;
  target: ResponseTarget;
  body: Record<string, unknown>;
  at: Date;
}

export const RESPONSE_URL_USES = 5;

const id = (prefix: string, length = 10) => prefix + randomBytes(length).toString('hex').slice(0, length).toUpperCase();

/** A standalone workspace, or an Enterprise Grid org: its workspaces share people, channels and ids. */
export interface SpaceIds {
  teamId: string;
  botUserId: string;
  botId: string;
  appId: string;
  /** Set for a Grid org: the org's id (E…); `teams` lists its workspaces, the first being `teamId`. */
  enterpriseId?: string;
  teams?: string[];
}

export class Workspace {
  readonly teamId: string;
  readonly botUserId: string;
  readonly botId: string;
  readonly appId: string;
  readonly enterpriseId?: string;
  readonly teams: string[];
  users = new Map<string, EmulatedUser>();
  channels = new Map<string, EmulatedChannel>();
  messages: EmulatedMessage[] = [];
  views = new Map<string, EmulatedView>();
  /** Modal stacks by root view id, bottom first. */
  stacks = new Map<string, string[]>();
  homes = new Map<string, string>();
  triggers = new Map<string, { userId: string; expiresAt: number; used: boolean }>();
  responseUrls = new Map<string, { target: ResponseTarget; uses: number }>();
  responses: RecordedResponse[] = [];
  private tsCounter = 0;

  constructor(
    ids: SpaceIds,
    private readonly triggerTtlMs: number,
    private readonly now: () => number,
  ) {
    this.teamId = ids.teamId;
    this.botUserId = ids.botUserId;
    this.botId = ids.botId;
    this.appId = ids.appId;
    this.enterpriseId = ids.enterpriseId;
    this.teams = ids.teams ?? [ids.teamId];
  }

  /** The workspace a person acts in: their own in a Grid org, else this one. */
  teamOf(userId: string): string {
    return this.users.get(userId)?.teamId ?? this.teamId;
  }

  nextTs(): string {
    this.tsCounter += 1;
    return `${Math.floor(this.now() / 1000)}.${String(this.tsCounter).padStart(6, '0')}`;
  }

  nextHash(): string {
    return `${Math.floor(this.now() / 1000)}.${randomBytes(6).toString('hex')}`;
  }

  newViewId = () => id('V');

  issueTrigger(userId: string): string {
    const trigger = `${Math.floor(this.now() / 1000)}.${randomBytes(4).readUInt32BE()}.${randomBytes(16).toString('hex')}`;
    this.triggers.set(trigger, { userId, expiresAt: this.now() + this.triggerTtlMs, used: false });
    return trigger;
  }

  /** Slack's answer to using `trigger`, or null when it may open a view (it is then used up). */
  useTrigger(trigger: unknown): string | null {
    const entry = typeof trigger === 'string' ? this.triggers.get(trigger) : undefined;
    if (!entry) return 'invalid_trigger_id';
    if (entry.used) return 'exchanged_trigger_id';
    if (this.now() > entry.expiresAt) return 'expired_trigger_id';
    entry.used = true;
    return null;
  }

  triggerUser(trigger: string): string | undefined {
    return this.triggers.get(trigger)?.userId;
  }

  expireTriggers() {
    for (const entry of this.triggers.values()) entry.expiresAt = 0;
  }

  issueResponseUrl(target: ResponseTarget): string {
    const key = randomBytes(12).toString('hex');
    this.responseUrls.set(key, { target, uses: 0 });
    return key;
  }

  /** Channel id a message to `channel` lands in: user ids become their direct-message channel with the bot. */
  resolveChannel(channel: string): EmulatedChannel | undefined {
    if (/^[UW]/.test(channel) && this.users.has(channel)) {
      const dm = `D${channel.slice(1)}`;
      if (!this.channels.has(dm)) {
        this.channels.set(dm, { id: dm, name: dm, isPrivate: true, members: [channel, this.botUserId] });
      }
      return this.channels.get(dm);
    }
    return this.channels.get(channel);
  }

  /** The top view of the stack `viewId` belongs to. */
  topOf(viewId: string): EmulatedView | undefined {
    const view = this.views.get(viewId);
    if (!view) return undefined;
    const stack = this.stacks.get(view.root_view_id ?? view.id);
    const top = stack?.[stack.length - 1];
    return top ? this.views.get(top) : view;
  }

  closeStack(rootId: string) {
    for (const viewId of this.stacks.get(rootId) ?? []) {
      const v = this.views.get(viewId);
      if (v) v.open = false;
    }
    this.stacks.set(rootId, []);
  }

  /** Closes the top view of the stack `viewId` is in, as the close button or an empty submission ack does. */
  pop(viewId: string) {
    const view = this.views.get(viewId);
    if (!view) return;
    const rootId = view.root_view_id ?? view.id;
    if (view.clear_on_close) {
      this.closeStack(rootId);
      return;
    }
    const stack = this.stacks.get(rootId) ?? [];
    const top = stack.pop();
    const closed = top ? this.views.get(top) : undefined;
    if (closed) closed.open = false;
  }
}
