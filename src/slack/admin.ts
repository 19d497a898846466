import type {
  AllMiddlewareArgs,
  AnyMiddlewareArgs,
  BlockAction,
  Middleware,
  SlackActionMiddlewareArgs,
  SlackCommandMiddlewareArgs,
  SlackOptionsMiddlewareArgs,
  SlackViewMiddlewareArgs,
} from '@slack/bolt';
import type { Logger } from '../logger.ts';
import { optionValues } from './ids.ts';
import { option } from './views/kit.ts';
import { notAdminModal } from './views/notice.ts';
import { notAdminMessage } from './views/replies.ts';

/**
 * Who may administer aad-sync: Slack workspace admins and owners (asked of `users.info`) and the ids in
 * `SLACK_ADMIN_USERS`. Every command, button and submission asks Slack again, so a demoted admin loses
 * their rights at their next click (users.info is Tier 4, 100+ calls a minute: clicks are far below it).
 * Only options loads — one per keystroke in a search box, and read-only — and the Home tab's choice of
 * view reuse an answer for 30 seconds. Where the app is installed org-wide on Enterprise Grid the
 * directory is the org's, so it is the org's owners and admins (`enterprise_user`) who administer it,
 * from any workspace of the org — not the admin of one workspace.
 */

export interface UsersInfoClient {
  users: {
    info(args: { user: string }): Promise<{
      user?: {
        is_admin?: boolean;
        is_owner?: boolean;
        is_primary_owner?: boolean;
        is_restricted?: boolean;
        is_ultra_restricted?: boolean;
        is_bot?: boolean;
        deleted?: boolean;
        /** Enterprise Grid: the person's org-level roles. */
        enterprise_user?: { is_admin?: boolean; is_owner?: boolean };
      };
    }>;
  };
}

export interface AdminCheck {
  /**
   * `orgWide`: the installation is an org-wide Grid install (see `isOrgInstallation`). `recent`: an answer
   * from the last ADMIN_CACHE_TTL_MS will do (options loads and the Home tab's view only).
   */
  isAdmin(client: UsersInfoClient, userId: string, options?: { orgWide?: boolean; recent?: boolean }): Promise<boolean>;
}

export interface AdminCheckOptions {
  /** `SLACK_ADMIN_USERS`: admins regardless of their Slack role. */
  adminUsers: readonly string[];
  ttlMs?: number;
  now?: () => number;
  logger: Logger;
}

export const ADMIN_CACHE_TTL_MS = 30_000;

export function createAdminCheck(options: AdminCheckOptions): AdminCheck {
  const listed = new Set(options.adminUsers);
  const ttl = options.ttlMs ?? ADMIN_CACHE_TTL_MS;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { at: number; answer: Promise<boolean> }>();

  async function ask(client: UsersInfoClient, userId: string, orgWide: boolean): Promise<boolean> {
    const { user } = await client.users.info({ user: userId });
    if (!user || user.deleted || user.is_bot || user.is_restricted) return false;
    if (orgWide) return Boolean(user.enterprise_user?.is_admin || user.enterprise_user?.is_owner);
    return Boolean(user.is_admin || user.is_owner || user.is_primary_owner);
  }

  return {
    async isAdmin(client, userId, { orgWide = false, recent = false } = {}) {
      if (listed.has(userId)) return true;
      const key = `${orgWide ? 'org' : 'workspace'}:${userId}`;
      const hit = cache.get(key);
      if (recent && hit && now() - hit.at < ttl) return hit.answer;
      // Concurrent clicks share one lookup; a failed lookup is not remembered, so a Slack hiccup does not lock anyone out.
      const answer = ask(client, userId, orgWide).catch((error: unknown) => {
        cache.delete(key);
        options.logger.warn({ err: error, userId }, 'could not check whether a Slack user is an admin; refusing');
        return false;
      });
      cache.set(key, { at: now(), answer });
      return answer;
    },
  };
}

type Args = AnyMiddlewareArgs & AllMiddlewareArgs;
type Body = { type?: string; command?: string; user_id?: string; user?: { id?: string } };

function actingUser(body: Body): string | undefined {
  return body.user_id ?? body.user?.id;
}

/** Answers a non-admin on whatever surface they used; nothing else runs. */
async function refuse(args: Args): Promise<void> {
  const body = args.body as Body;
  if (typeof body.command === 'string') {
    await (args as SlackCommandMiddlewareArgs).ack({ response_type: 'ephemeral', ...notAdminMessage() });
    return;
  }
  switch (body.type) {
    case 'block_actions': {
      const { ack, respond } = args as unknown as SlackActionMiddlewareArgs<BlockAction>;
      const action = args.body as BlockAction;
      await ack();
      if (action.container?.type === 'message') {
        await respond({ response_type: 'ephemeral', replace_original: false, ...notAdminMessage() });
      } else if (action.trigger_id) {
        await args.client.views.open({ trigger_id: action.trigger_id, view: notAdminModal() });
      }
      return;
    }
    case 'view_submission':
      await (args as SlackViewMiddlewareArgs).ack({ response_action: 'update', view: notAdminModal() });
      return;
    case 'block_suggestion':
      await (args as SlackOptionsMiddlewareArgs<'block_suggestion'>).ack({
        options: [option('Only workspace admins can search', optionValues.notAllowed)],
      });
      return;
    default:
      if ('ack' in args && typeof args.ack === 'function') await (args.ack as () => Promise<void>)();
  }
}

/** Listener middleware for every admin command, button, submission and options load. */
export function adminOnly(check: AdminCheck, logger: Logger): Middleware<AnyMiddlewareArgs> {
  return async (args) => {
    const userId = actingUser(args.body as Body);
    const recent = (args.body as Body).type === 'block_suggestion';
    const orgWide = Boolean(args.context.isEnterpriseInstall);
    if (userId && (await check.isAdmin(args.client, userId, { orgWide, recent }))) {
      await args.next();
      return;
    }
    logger.info({ userId, kind: (args.body as Body).type ?? (args.body as Body).command }, 'refused a non-admin');
    await refuse(args);
  };
}
