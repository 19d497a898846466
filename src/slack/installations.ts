import { type Installation, type InstallationQuery, type InstallationStore, webApi } from '@slack/bolt';
import { eq } from 'drizzle-orm';
import { decrypt, encrypt } from '../crypto.ts';
import type { Db, Sql } from '../db/client.ts';
import { type SlackInstallationRow, slackInstallations } from '../db/schema.ts';
import type { Logger } from '../logger.ts';
import { installationKey } from './installation-key.ts';

/**
 * Installations by OAuth, in PostgreSQL (owner of `slack_installations`). Bot and refresh tokens are sealed
 * with AES-256-GCM, the installation key bound as context so a token copied onto another row does not open.
 *
 * Token rotation is done here, not by Bolt: Bolt's InstallProvider refreshes an expiring token in whichever
 * replica sees the next event, and two replicas would both spend the single-use refresh token (Slack revokes it
 * on use: "Using token rotation"), leaving one of them with `invalid_refresh_token`. Here the refresh runs under
 * the row's lock: a second replica waits, then finds the token already fresh. What Bolt gets back has no refresh
 * token, so its own unlocked rotation never starts.
 */

export interface SlackTokens {
  access_token?: string;
  refresh_token?: string;
  expires_in?: number;
}

export interface InstallationStoreOptions {
  db: Db;
  sql: Sql;
  encryptionKey: Buffer;
  /** `oauth.v2.access` with `grant_type=refresh_token`. */
  refresh: (refreshToken: string) => Promise<SlackTokens>;
  logger: Logger;
  /** Refresh when the token expires within this long; Bolt and Slack's SDKs use 2 hours. */
  refreshBeforeMs?: number;
  now?: () => number;
}

export interface BotCredentials {
  installation: string;
  token: string;
  botId: string;
  botUserId: string;
  isEnterpriseInstall: boolean;
  enterpriseId?: string;
}

export interface SlackInstallations extends InstallationStore {
  /** The bot of an installation (by its key: workspace id, or org id for an org-wide install), refreshed if due. */
  botFor(installation: string): Promise<BotCredentials | undefined>;
  /** Deletes the installation's tokens at once; true when there were any. */
  forget(installation: string): Promise<boolean>;
}

const REFRESH_BEFORE_MS = 2 * 3600_000;

/** `oauth.v2.access` with `grant_type=refresh_token`, authenticated by the app's client id and secret. */
export function tokenRefresher(options: { apiUrl: string; clientId: string; clientSecret: string }) {
  const client = new webApi.WebClient(undefined, {
    slackApiUrl: options.apiUrl,
    retryConfig: { retries: 2, factor: 2, minTimeout: 500, maxTimeout: 4_000 },
    timeout: 10_000,
  });
  return (refreshToken: string): Promise<SlackTokens> =>
    client.oauth.v2.access({
      client_id: options.clientId,
      client_secret: options.clientSecret,
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
    });
}

export function createInstallationStore(options: InstallationStoreOptions): SlackInstallations {
  const { db, sql, encryptionKey, logger } = options;
  const now = options.now ?? Date.now;
  const refreshBeforeMs = options.refreshBeforeMs ?? REFRESH_BEFORE_MS;
  const seal = (key: string, value: string) => encrypt(encryptionKey, value, `slack-installation:${key}`);
  const open = (key: string, value: string) => decrypt(encryptionKey, value, `slack-installation:${key}`);
  const due = (row: Pick<SlackInstallationRow, 'botRefreshToken' | 'botExpiresAt'>) =>
    row.botRefreshToken !== null && row.botExpiresAt !== null && row.botExpiresAt.getTime() - now() <= refreshBeforeMs;

  /** Refreshes the bot token under the row lock, unless another replica did while this one waited. */
  async function rotate(key: string): Promise<void> {
    await sql.begin(async (tx) => {
      const [row] = await tx<{ bot_refresh_token: string | null; bot_expires_at: Date | null }[]>`
        select bot_refresh_token, bot_expires_at from slack_installations where id = ${key} for update`;
      if (!row || !due({ botRefreshToken: row.bot_refresh_token, botExpiresAt: row.bot_expires_at })) return;
      const fresh = await options.refresh(open(key, row.bot_refresh_token!));
      if (!fresh.access_token || !fresh.refresh_token || !fresh.expires_in)
        throw new Error('Slack answered a token refresh without a new token');
      await tx`
        update slack_installations
        set bot_token = ${seal(key, fresh.access_token)}, bot_refresh_token = ${seal(key, fresh.refresh_token)},
            bot_expires_at = ${new Date(now() + fresh.expires_in * 1000)}, updated_at = now()
        where id = ${key}`;
      logger.info({ installation: key }, 'Slack bot token refreshed');
    });
  }

  async function load(key: string): Promise<SlackInstallationRow | undefined> {
    const read = () => db.select().from(slackInstallations).where(eq(slackInstallations.id, key));
    let [row] = await read();
    if (row && due(row)) {
      try {
        await rotate(key);
      } catch (error) {
        // The current token may still work until it expires; the next use tries again.
        logger.error({ err: error, installation: key }, 'could not refresh the Slack bot token');
      }
      [row] = await read();
    }
    return row;
  }

  const credentials = (row: SlackInstallationRow): BotCredentials => ({
    installation: row.id,
    token: open(row.id, row.botToken),
    botId: row.botId,
    botUserId: row.botUserId,
    isEnterpriseInstall: row.isEnterpriseInstall,
    enterpriseId: row.enterpriseId ?? undefined,
  });

  return {
    async storeInstallation(installation: Installation) {
      const key = installationKey({
        teamId: installation.team?.id,
        enterpriseId: installation.enterprise?.id,
        isEnterpriseInstall: installation.isEnterpriseInstall,
      });
      const bot = installation.bot;
      if (!key || !bot) throw new Error('an installation without a workspace or org, or without a bot, cannot be kept');
      const values = {
        teamId: installation.isEnterpriseInstall ? null : (installation.team?.id ?? null),
        enterpriseId: installation.enterprise?.id ?? null,
        isEnterpriseInstall: Boolean(installation.isEnterpriseInstall),
        appId: installation.appId ?? null,
        botId: bot.id,
        botUserId: bot.userId,
        botScopes: bot.scopes.join(','),
        botToken: seal(key, bot.token),
        botRefreshToken: bot.refreshToken ? seal(key, bot.refreshToken) : null,
        botExpiresAt: bot.expiresAt ? new Date(bot.expiresAt * 1000) : null,
        installedBy: installation.user.id,
        updatedAt: new Date(now()),
      };
      await db
        .insert(slackInstallations)
        .values({ id: key, ...values })
        .onConflictDoUpdate({ target: slackInstallations.id, set: values });
      logger.info({ installation: key, enterprise: values.isEnterpriseInstall }, 'Slack app installed');
    },

    async fetchInstallation(query: InstallationQuery<boolean>): Promise<Installation<'v2', boolean>> {
      const key = installationKey(query);
      const row = key ? await load(key) : undefined;
      if (!row) throw new Error(`aad-sync is not installed in ${key ?? 'this workspace'}`);
      const bot = credentials(row);
      return {
        team: row.isEnterpriseInstall ? undefined : { id: row.teamId ?? row.id },
        enterprise: row.enterpriseId ? { id: row.enterpriseId } : undefined,
        isEnterpriseInstall: row.isEnterpriseInstall,
        appId: row.appId ?? undefined,
        authVersion: 'v2',
        tokenType: 'bot',
        user: { id: row.installedBy ?? '', token: undefined, scopes: undefined },
        bot: { token: bot.token, id: row.botId, userId: row.botUserId, scopes: row.botScopes.split(',') },
      } as Installation<'v2', boolean>;
    },

    async deleteInstallation(query: InstallationQuery<boolean>) {
      const key = installationKey(query);
      if (key) await db.delete(slackInstallations).where(eq(slackInstallations.id, key));
    },

    async botFor(installation) {
      const row = await load(installation);
      return row ? credentials(row) : undefined;
    },

    async forget(installation) {
      const gone = await db
        .delete(slackInstallations)
        .where(eq(slackInstallations.id, installation))
        .returning({ id: slackInstallations.id });
      return gone.length > 0;
    },
  };
}
