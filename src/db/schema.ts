import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  check,
  customType,
  foreignKey,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  real,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' });
const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const SOURCE_STATUSES = ['setup', 'active', 'disabled', 'needs_reauth', 'failing', 'held'] as const;
export type SourceStatus = (typeof SOURCE_STATUSES)[number];
export const RUN_TRIGGERS = ['schedule', 'manual', 'setup', 'cli', 'notification'] as const;
export type RunTrigger = (typeof RUN_TRIGGERS)[number];
export const RUN_MODES = ['full', 'delta', 'preview'] as const;
export type RunMode = (typeof RUN_MODES)[number];
export const RUN_STATUSES = ['running', 'succeeded', 'failed', 'held'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
/** What `/whois` shows Slack guests: nothing (the default), a reduced card, or the full card. */
export const GUEST_WHOIS = ['none', 'reduced', 'full'] as const;
export type GuestWhois = (typeof GUEST_WHOIS)[number];
export const AUTHORIZATION_PURPOSES = ['setup', 'reauthorize'] as const;
export type AuthorizationPurpose = (typeof AUTHORIZATION_PURPOSES)[number];

const inList = (column: string, values: readonly string[]) =>
  sql.raw(`${column} in (${values.map((v) => `'${v}'`).join(', ')})`);

/** One Entra ID connection of one Slack installation. */
export const sources = pgTable(
  'sources',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** The installation it belongs to: the workspace id, or the org id (E…) for an org-wide Grid install. */
    slackTeamId: text('slack_team_id').notNull(),
    tenantId: text('tenant_id'),
    authMode: text('auth_mode').$type<'delegated' | 'application'>().notNull().default('delegated'),
    authorizedByUpn: text('authorized_by_upn'),
    authorizedBySlackUser: text('authorized_by_slack_user'),
    authorizedAt: ts('authorized_at'),
    /** MSAL `homeAccountId` of the admin who signed in (delegated mode). */
    homeAccountId: text('home_account_id'),
    /** MSAL token cache, AES-256-GCM encrypted (see src/crypto.ts). */
    tokenCache: text('token_cache'),
    status: text('status').$type<SourceStatus>().notNull().default('setup'),
    syncEnabled: boolean('sync_enabled').notNull().default(false),
    /**
     * The wizard's "sync automatically" choice, kept until setup ends: only then does it become `sync_enabled`,
     * so a restart never schedules a half-configured source.
     */
    autoSync: boolean('auto_sync').notNull().default(true),
    photoSync: boolean('photo_sync').notNull().default(false),
    guestWhois: text('guest_whois').$type<GuestWhois>().notNull().default('none'),
    adminChannel: text('admin_channel'),
    mapping: jsonb('mapping').$type<Record<string, string>>().notNull().default({}),
    /** Fraction of active profiles one run may remove without an admin's approval. */
    deletionThreshold: real('deletion_threshold').notNull().default(0.1),
    usersDeltaLink: text('users_delta_link'),
    /** Hash of the groups and mapping the delta link was taken under; a change forces a full run. */
    deltaScope: text('delta_scope'),
    lastFullSyncAt: ts('last_full_sync_at'),
    lastSuccessAt: ts('last_success_at'),
    alertChannel: text('alert_channel'),
    alertTs: text('alert_ts'),
    alertCode: text('alert_code'),
    alertCount: integer('alert_count').notNull().default(0),
    alertLastAt: ts('alert_last_at'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    index('sources_team_idx').on(t.slackTeamId),
    check('sources_status_check', inList('status', SOURCE_STATUSES)),
    check('sources_auth_mode_check', inList('auth_mode', ['delegated', 'application'])),
    check('sources_guest_whois_check', inList('guest_whois', GUEST_WHOIS)),
    check('sources_deletion_threshold_check', sql`deletion_threshold > 0 and deletion_threshold <= 1`),
  ],
);

export const sourceGroups = pgTable(
  'source_groups',
  {
    sourceId: uuid('source_id')
      .notNull()
      .references(() => sources.id, { onDelete: 'cascade' }),
    groupId: text('group_id').notNull(),
    displayName: text('display_name').notNull(),
  },
  (t) => [primaryKey({ columns: [t.sourceId, t.groupId] })],
);

/**
 * A group-scoped source's membership tree: the `/groups/delta` link that follows the chosen groups and the
 * groups nested in them (`tracked`, at most 50: Graph's filter limit), and the direct members it reported.
 * `chosen` (the chosen group ids, sorted) tells a tree of another choice of groups. Owned by src/db/group-trees.ts.
 */
export const groupTrees = pgTable('group_trees', {
  sourceId: uuid('source_id')
    .primaryKey()
    .references(() => sources.id, { onDelete: 'cascade' }),
  chosen: text('chosen').notNull(),
  tracked: text('tracked').array().notNull(),
  deltaLink: text('delta_link').notNull(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

export const groupTreeMembers = pgTable(
  'group_tree_members',
  {
    sourceId: uuid('source_id')
      .notNull()
      .references(() => sources.id, { onDelete: 'cascade' }),
    groupId: text('group_id').notNull(),
    memberId: text('member_id').notNull(),
    memberIsGroup: boolean('member_is_group').notNull(),
  },
  (t) => [primaryKey({ columns: [t.sourceId, t.groupId, t.memberId] })],
);

export const profiles = pgTable(
  'profiles',
  {
    /** From one global sequence: unique on its own, though the key (partitioned by source) is (id, source_id). */
    id: bigserial('id', { mode: 'number' }).notNull(),
    sourceId: uuid('source_id')
      .notNull()
      .references(() => sources.id, { onDelete: 'cascade' }),
    externalId: text('external_id').notNull(),
    /** Entra object id; delta removals name people by it even when the unique identifier is mapped elsewhere. */
    graphId: text('graph_id').notNull(),
    firstName: text('first_name').notNull(),
    lastName: text('last_name').notNull(),
    displayName: text('display_name').notNull(),
    email: text('email').notNull(),
    jobTitle: text('job_title'),
    department: text('department'),
    office: text('office'),
    businessPhone: text('business_phone'),
    mobilePhone: text('mobile_phone'),
    employeeId: text('employee_id'),
    managerExternalId: text('manager_external_id'),
    extra: jsonb('extra').$type<Record<string, string>>().notNull().default({}),
    contentHash: text('content_hash').notNull(),
    photoEtag: text('photo_etag'),
    slackUserId: text('slack_user_id'),
    slackCheckedAt: ts('slack_checked_at'),
    active: boolean('active').notNull().default(true),
    firstSyncedAt: ts('first_synced_at').notNull().defaultNow(),
    lastSyncedAt: ts('last_synced_at').notNull().defaultNow(),
    removedAt: ts('removed_at'),
    /**
     * What /whois compares, computed by PostgreSQL (migration 0008, collation "C"): names, title and department
     * folded by `whois_key` (accents and case dropped, punctuation as spaces); spaces around the words let "a
     * word starts with w" be the pattern '% w%' and "w is a word" '% w %'. Never written by the app.
     */
    searchDisplay: text('search_display').generatedAlwaysAs(sql`whois_key(display_name)`),
    searchNames: text('search_names').generatedAlwaysAs(
      sql`' ' || whois_key(first_name || ' ' || last_name || ' ' || display_name) || ' '`,
    ),
    searchRole: text('search_role').generatedAlwaysAs(
      sql`' ' || whois_key(coalesce(job_title, '')) || ' | ' || whois_key(coalesce(department, '')) || ' '`,
    ),
    searchDoc: text('search_doc').generatedAlwaysAs(
      sql`' ' || whois_key(first_name || ' ' || last_name || ' ' || display_name || ' ' || email || ' ' || coalesce(job_title, '') || ' ' || coalesce(department, '')) || ' '`,
    ),
    searchEmail: text('search_email').generatedAlwaysAs(sql`lower(email)`),
    searchInitials: text('search_initials').generatedAlwaysAs(
      sql`whois_fold(left(first_name, 1) || left(last_name, 1))`,
    ),
  },
  // LIST-partitioned by source_id (migration 0011): one partition per source, built by its first import.
  (t) => [
    primaryKey({ name: 'profiles_pkey', columns: [t.id, t.sourceId] }),
    uniqueIndex('profiles_source_external_uq').on(t.sourceId, t.externalId),
    index('profiles_source_graph_idx').on(t.sourceId, t.graphId),
    // The /whois indexes (migration 0008): each leads with the source, so that a search reads its own source only.
    index('profiles_search_display_idx').on(t.sourceId, t.searchDisplay, t.id).where(sql`active`),
    index('profiles_search_email_idx').on(t.sourceId, t.searchEmail).where(sql`active`),
    /** `/whois av` finds Adele Vance. */
    index('profiles_search_initials_idx').on(t.sourceId, t.searchInitials, t.searchDisplay).where(sql`active`),
    // The title and the department of search_role apart, in name order (exact title/department tier).
    index('profiles_search_title_idx')
      .on(t.sourceId, sql`(btrim(split_part(${t.searchRole}, '|', 1)))`, t.searchDisplay, t.id)
      .where(sql`active`),
    index('profiles_search_department_idx')
      .on(t.sourceId, sql`(btrim(split_part(${t.searchRole}, '|', 2)))`, t.searchDisplay, t.id)
      .where(sql`active`),
    index('profiles_search_names_trgm').using('gin', t.sourceId, sql`${t.searchNames} gin_trgm_ops`).where(sql`active`),
    index('profiles_search_role_trgm').using('gin', t.sourceId, sql`${t.searchRole} gin_trgm_ops`).where(sql`active`),
    index('profiles_search_doc_trgm').using('gin', t.sourceId, sql`${t.searchDoc} gin_trgm_ops`).where(sql`active`),
    /** Direct reports of a person, counted on every /whois card. */
    index('profiles_manager_idx').on(t.sourceId, t.managerExternalId),
    index('profiles_slack_user_idx').on(t.slackUserId),
  ],
);

export const profilePhotos = pgTable(
  'profile_photos',
  {
    profileId: bigint('profile_id', { mode: 'number' }).primaryKey(),
    sourceId: uuid('source_id').notNull(),
    contentType: text('content_type').notNull(),
    bytes: bytea('bytes').notNull(),
    etag: text('etag').notNull(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    foreignKey({
      name: 'profile_photos_profile_fk',
      columns: [t.profileId, t.sourceId],
      foreignColumns: [profiles.id, profiles.sourceId],
    }).onDelete('cascade'),
  ],
);

export const syncRuns = pgTable(
  'sync_runs',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    sourceId: uuid('source_id')
      .notNull()
      .references(() => sources.id, { onDelete: 'cascade' }),
    trigger: text('trigger').$type<RunTrigger>().notNull(),
    requestedBy: text('requested_by'),
    mode: text('mode').$type<RunMode>().notNull(),
    status: text('status').$type<RunStatus>().notNull().default('running'),
    startedAt: ts('started_at').notNull().defaultNow(),
    finishedAt: ts('finished_at'),
    heartbeatAt: ts('heartbeat_at').notNull().defaultNow(),
    readCount: integer('read_count').notNull().default(0),
    createdCount: integer('created_count').notNull().default(0),
    updatedCount: integer('updated_count').notNull().default(0),
    unchangedCount: integer('unchanged_count').notNull().default(0),
    removedCount: integer('removed_count').notNull().default(0),
    ignoredCount: integer('ignored_count').notNull().default(0),
    photosCount: integer('photos_count').notNull().default(0),
    ignoredExamples: jsonb('ignored_examples')
      .$type<{ reason: string; count: number; examples: string[] }[]>()
      .notNull()
      .default([]),
    /** Run-specific facts: held removals awaiting approval, graph request counts, the approver, … */
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
  },
  (t) => [
    uniqueIndex('sync_runs_one_running_per_source').on(t.sourceId).where(sql`status = 'running'`),
    index('sync_runs_source_started_idx').on(t.sourceId, t.startedAt),
    check('sync_runs_trigger_check', inList('trigger', RUN_TRIGGERS)),
    check('sync_runs_mode_check', inList('mode', RUN_MODES)),
    check('sync_runs_status_check', inList('status', RUN_STATUSES)),
  ],
);

export const oauthRequests = pgTable(
  'oauth_requests',
  {
    /** Random, URL-safe; appears in /azure/authorize/:requestId. */
    id: text('id').primaryKey(),
    sourceId: uuid('source_id')
      .notNull()
      .references(() => sources.id, { onDelete: 'cascade' }),
    slackUserId: text('slack_user_id').notNull(),
    slackTeamId: text('slack_team_id').notNull(),
    viewId: text('view_id'),
    authMode: text('auth_mode').$type<'delegated' | 'application'>().notNull(),
    /** Which Slack surface waits for the result: the setup wizard or the Reauthorize modal. */
    purpose: text('purpose').$type<AuthorizationPurpose>().notNull().default('setup'),
    /** OAuth `state`, random; the callback finds the request by it. */
    state: text('state').notNull(),
    /** Encrypted (context: the request id). Set when the link is opened; application mode has none. */
    pkceVerifier: text('pkce_verifier'),
    nonce: text('nonce'),
    /**
     * Application mode: the tenant Microsoft's consent redirect named. Set between the consent and the
     * sign-in that proves it; the request's `state`, nonce and verifier are then the sign-in's.
     */
    consentTenantId: text('consent_tenant_id'),
    createdAt: ts('created_at').notNull().defaultNow(),
    expiresAt: ts('expires_at').notNull(),
    openedAt: ts('opened_at'),
    consumedAt: ts('consumed_at'),
  },
  (t) => [
    uniqueIndex('oauth_requests_state_uq').on(t.state),
    index('oauth_requests_source_idx').on(t.sourceId),
    check('oauth_requests_purpose_check', inList('purpose', AUTHORIZATION_PURPOSES)),
  ],
);

export const SUBSCRIPTION_RESOURCES = ['users', 'groups'] as const;
export type SubscriptionResource = (typeof SUBSCRIPTION_RESOURCES)[number];
/** `pending`: not tried yet; `unreachable`: Graph could not validate PUBLIC_URL; `forbidden`: a permission is missing. */
export const SUBSCRIPTION_STATUSES = ['pending', 'active', 'unreachable', 'forbidden', 'failing'] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];

/** Graph change-notification subscriptions: one per source and resource (owner: src/sync/notifications/subscriptions.ts). */
export const graphSubscriptions = pgTable(
  'graph_subscriptions',
  {
    sourceId: uuid('source_id')
      .notNull()
      .references(() => sources.id, { onDelete: 'cascade' }),
    resource: text('resource').$type<SubscriptionResource>().notNull(),
    /** Graph's subscription id; null while none exists. */
    subscriptionId: text('subscription_id'),
    /** The random secret Graph echoes in each notification, AES-256-GCM encrypted (context: the subscription id). */
    clientState: text('client_state'),
    expiresAt: ts('expires_at'),
    status: text('status').$type<SubscriptionStatus>().notNull().default('pending'),
    /** Why there is no working subscription, in an admin's words. */
    problem: text('problem'),
    lastAttemptAt: ts('last_attempt_at'),
    lastNotifiedAt: ts('last_notified_at'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.sourceId, t.resource] }),
    uniqueIndex('graph_subscriptions_subscription_uq').on(t.subscriptionId),
    check('graph_subscriptions_resource_check', inList('resource', SUBSCRIPTION_RESOURCES)),
    check('graph_subscriptions_status_check', inList('status', SUBSCRIPTION_STATUSES)),
  ],
);

/**
 * One install of the app by OAuth (install mode with SLACK_CLIENT_ID …): a workspace, or a Grid org installed
 * org-wide. `id` is the installation key every source is scoped by (`sources.slack_team_id`). Tokens are
 * AES-256-GCM encrypted with the row id as context (src/crypto.ts); owned by src/slack/installations.ts.
 */
export const slackInstallations = pgTable(
  'slack_installations',
  {
    id: text('id').primaryKey(),
    teamId: text('team_id'),
    enterpriseId: text('enterprise_id'),
    isEnterpriseInstall: boolean('is_enterprise_install').notNull().default(false),
    appId: text('app_id'),
    botId: text('bot_id').notNull(),
    botUserId: text('bot_user_id').notNull(),
    botScopes: text('bot_scopes').notNull().default(''),
    botToken: text('bot_token').notNull(),
    /** Token rotation: the single-use refresh token (encrypted) and when the bot token expires. */
    botRefreshToken: text('bot_refresh_token'),
    botExpiresAt: ts('bot_expires_at'),
    installedBy: text('installed_by'),
    installedAt: ts('installed_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    index('slack_installations_enterprise_idx').on(t.enterpriseId),
    check(
      'slack_installations_key_check',
      sql`(is_enterprise_install and id = enterprise_id) or (not is_enterprise_install and id = team_id)`,
    ),
  ],
);

export type Source = typeof sources.$inferSelect;
export type SlackInstallationRow = typeof slackInstallations.$inferSelect;
export type Profile = typeof profiles.$inferSelect;
export type SyncRun = typeof syncRuns.$inferSelect;
export type OAuthRequest = typeof oauthRequests.$inferSelect;
