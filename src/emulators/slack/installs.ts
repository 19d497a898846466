import { randomBytes } from 'node:crypto';
import type { Answer, Args } from './methods.ts';
import type { Workspace } from './workspace.ts';

/**
 * Slack's side of installing an app: the OAuth v2 authorize page, `oauth.v2.access` (code exchange and,
 * with token rotation, refresh), the tokens it hands out and what each token may reach, and uninstalls.
 *
 * Documented behaviour reproduced (docs.slack.dev "Installing with OAuth", "Using token rotation",
 * "oauth.v2.access" method reference, "Organization-ready apps"):
 * - a code is single-use and short-lived (10 minutes); `redirect_uri`, when sent to the authorize page, must
 *   be sent again to `oauth.v2.access` unchanged (`bad_redirect_uri`); wrong credentials are
 *   `invalid_client_id` / `bad_client_secret`; a used code is `invalid_code`.
 * - with token rotation the bot token expires (`expires_in`, 12 hours) and comes with a refresh token; a
 *   refresh returns a new access token AND a new refresh token, and "the refresh token is then revoked" —
 *   using it again is `invalid_refresh_token`. An expired access token is `token_expired`.
 * - an org-wide install (`is_enterprise_install: true`, `team: null`) is made by an org owner or admin and
 *   gives one token for every workspace of the org.
 * - a token answers for its own installation only: a channel, user, trigger or view of another workspace is
 *   `channel_not_found` / `user_not_found` / `invalid_trigger_id` / `not_found`, as for any id the token
 *   cannot see. Uninstalling revokes every token of the installation (`token_revoked`).
 */

export interface OAuthAppOptions {
  clientId: string;
  clientSecret: string;
  /** Redirect URLs configured for the app (the manifest's `oauth_config.redirect_urls`); prefixes match, as Slack's do. */
  redirectUrls?: string[];
  /** Token rotation on (manifest `settings.token_rotation_enabled`): bot tokens expire and come with refresh tokens. */
  tokenRotation?: boolean;
  /** Lifetime of a rotating bot token; Slack's is 12 hours. */
  tokenLifetimeSeconds?: number;
}

export interface Grant {
  space: Workspace;
  /** Who installed: the workspace id, or the org id for an org-wide install. */
  installedIn: string;
  isEnterpriseInstall: boolean;
  scope: string;
  expiresAt?: number;
  revoked: boolean;
}

interface PendingCode {
  space: Workspace;
  installedIn: string;
  isEnterpriseInstall: boolean;
  userId: string;
  scope: string;
  redirectUri?: string;
  expiresAt: number;
  used: boolean;
}

const CODE_TTL_MS = 10 * 60_000;
export const ROTATING_TOKEN_LIFETIME_S = 12 * 3600;

const random = (bytes = 12) => randomBytes(bytes).toString('hex');
const fail = (error: string): Answer => ({ ok: false, error });

export class Installs {
  private readonly codes = new Map<string, PendingCode>();
  private readonly tokens = new Map<string, Grant>();
  private readonly refreshTokens = new Map<string, { grant: Grant; used: boolean }>();
  lifetimeSeconds: number;

  constructor(
    private readonly app: OAuthAppOptions | undefined,
    private readonly spaces: () => Workspace[],
    private readonly now: () => number,
  ) {
    this.lifetimeSeconds = app?.tokenLifetimeSeconds ?? ROTATING_TOKEN_LIFETIME_S;
  }

  /** A token that works without OAuth (the single-workspace mode's pasted `SLACK_BOT_TOKEN`). */
  addStaticToken(token: string, space: Workspace) {
    this.tokens.set(token, {
      space,
      installedIn: space.enterpriseId ?? space.teamId,
      isEnterpriseInstall: Boolean(space.enterpriseId),
      scope: '',
      revoked: false,
    });
  }

  /** The grant behind a Web API token, or Slack's refusal of the token. */
  resolve(token: string): Grant | Answer {
    const grant = this.tokens.get(token);
    if (!grant) return fail('invalid_auth');
    if (grant.revoked) return fail('token_revoked');
    if (grant.expiresAt !== undefined && this.now() >= grant.expiresAt) return fail('token_expired');
    return grant;
  }

  authTest(grant: Grant): Answer {
    const { space } = grant;
    return {
      ok: true,
      url: `https://${grant.installedIn.toLowerCase()}.emulated.slack.invalid/`,
      team: grant.isEnterpriseInstall ? 'Emulated Org' : 'Emulated Workspace',
      user: 'aad-sync',
      team_id: grant.installedIn,
      user_id: space.botUserId,
      bot_id: space.botId,
      ...(space.enterpriseId ? { enterprise_id: space.enterpriseId } : {}),
      is_enterprise_install: grant.isEnterpriseInstall,
    };
  }

  /**
   * The authorize page (`GET /oauth/v2/authorize`), as if `user` clicked "Allow" for `team` (Slack's own `team`
   * parameter preselects the workspace; `user` is the emulator's stand-in for who is signed in). Returns where the
   * browser is sent next, or an error page's text.
   */
  authorize(query: URLSearchParams): { redirect: string } | { status: number; error: string } {
    const app = this.app;
    if (!app || query.get('client_id') !== app.clientId) return { status: 400, error: 'invalid_client_id' };
    const redirectUri = query.get('redirect_uri') ?? undefined;
    const target = redirectUri ?? app.redirectUrls?.[0];
    if (!target || !(app.redirectUrls ?? []).some((allowed) => target.startsWith(allowed)))
      return { status: 400, error: 'bad_redirect_uri' };
    const state = query.get('state');
    const back = (params: Record<string, string>) => {
      const url = new URL(target);
      for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
      if (state !== null) url.searchParams.set('state', state);
      return { redirect: url.toString() };
    };
    if (query.get('deny') === '1') return back({ error: 'access_denied' });

    const team = query.get('team') ?? '';
    const space = this.spaces().find((s) => s.teamId === team || s.enterpriseId === team || s.teams.includes(team));
    if (!space) return { status: 404, error: 'team_not_found' };
    const isEnterpriseInstall = team === space.enterpriseId;
    // The emulator installs Grid orgs org-wide only; a workspace-level install inside an org is not modelled.
    if (space.enterpriseId && !isEnterpriseInstall) return { status: 400, error: 'org_wide_install_only' };
    const userId = query.get('user') ?? [...space.users.values()].find((u) => u.isPrimaryOwner)?.id ?? '';
    const user = space.users.get(userId);
    if (!user) return { status: 400, error: 'user_not_found' };
    // "Only Org Owners and Org Admins can install an app at the org level" (Organization-ready apps).
    if (isEnterpriseInstall && !user.orgRole) return back({ error: 'access_denied' });
    const code = `${Math.floor(this.now() / 1000)}.${random(8)}`;
    this.codes.set(code, {
      space,
      installedIn: team,
      isEnterpriseInstall,
      userId,
      scope: query.get('scope') ?? '',
      redirectUri,
      expiresAt: this.now() + CODE_TTL_MS,
      used: false,
    });
    return back({ code });
  }

  /** `oauth.v2.access`: client credentials in the form or as HTTP Basic, then a code or a refresh token. */
  access(args: Args, basic?: { id: string; secret: string }): Answer {
    const app = this.app;
    const clientId = basic?.id ?? args.client_id;
    const secret = basic?.secret ?? args.client_secret;
    if (!app || clientId !== app.clientId) return fail('invalid_client_id');
    if (secret !== app.clientSecret) return fail('bad_client_secret');
    const grantType = args.grant_type ?? 'authorization_code';
    if (grantType === 'refresh_token') return this.refresh(args.refresh_token);
    if (grantType !== 'authorization_code') return fail('invalid_grant_type');
    const pending = typeof args.code === 'string' ? this.codes.get(args.code) : undefined;
    if (!pending || pending.used || this.now() > pending.expiresAt) return fail('invalid_code');
    if (pending.redirectUri !== undefined && args.redirect_uri !== pending.redirectUri) return fail('bad_redirect_uri');
    pending.used = true;
    const grant = this.issue(pending);
    return {
      ok: true,
      app_id: pending.space.appId,
      authed_user: { id: pending.userId },
      scope: pending.scope,
      token_type: 'bot',
      ...grant.fresh,
      bot_user_id: pending.space.botUserId,
      team: pending.isEnterpriseInstall
        ? null
        : { id: pending.space.teamId, name: `Workspace ${pending.space.teamId}` },
      enterprise: pending.space.enterpriseId
        ? { id: pending.space.enterpriseId, name: `Org ${pending.space.enterpriseId}` }
        : null,
      is_enterprise_install: pending.isEnterpriseInstall,
    };
  }

  private issue(from: Omit<Grant, 'revoked' | 'expiresAt'>) {
    const rotating = Boolean(this.app?.tokenRotation);
    const token = rotating ? `xoxe.xoxb-1-${random()}` : `xoxb-${from.installedIn}-${random()}`;
    const grant: Grant = {
      space: from.space,
      installedIn: from.installedIn,
      isEnterpriseInstall: from.isEnterpriseInstall,
      scope: from.scope,
      revoked: false,
      expiresAt: rotating ? this.now() + this.lifetimeSeconds * 1000 : undefined,
    };
    this.tokens.set(token, grant);
    if (!rotating) return { grant, fresh: { access_token: token } };
    const refreshToken = `xoxe-1-${random(16)}`;
    this.refreshTokens.set(refreshToken, { grant, used: false });
    return { grant, fresh: { access_token: token, refresh_token: refreshToken, expires_in: this.lifetimeSeconds } };
  }

  private refresh(refreshToken: unknown): Answer {
    const entry = typeof refreshToken === 'string' ? this.refreshTokens.get(refreshToken) : undefined;
    if (!entry || entry.used || entry.grant.revoked) return fail('invalid_refresh_token');
    entry.used = true;
    const { grant, fresh } = this.issue(entry.grant);
    return {
      ok: true,
      app_id: grant.space.appId,
      scope: grant.scope,
      token_type: 'bot',
      ...fresh,
      bot_user_id: grant.space.botUserId,
      team: grant.isEnterpriseInstall ? null : { id: grant.space.teamId, name: `Workspace ${grant.space.teamId}` },
      enterprise: grant.space.enterpriseId ? { id: grant.space.enterpriseId } : null,
      is_enterprise_install: grant.isEnterpriseInstall,
    };
  }

  /** The workspace or org removed the app: every token and refresh token of that installation stops working. */
  uninstall(installedIn: string): number {
    let revoked = 0;
    for (const grant of this.tokens.values()) {
      if (grant.installedIn === installedIn && !grant.revoked) {
        grant.revoked = true;
        revoked += 1;
      }
    }
    return revoked;
  }

  /** How many refresh grants were exchanged (for "refreshed once" assertions). */
  refreshesUsed(): number {
    return [...this.refreshTokens.values()].filter((r) => r.used).length;
  }
}
