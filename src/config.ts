import { z } from 'zod';

/**
 * Every environment variable of the product, parsed once. This is the only module that reads
 * `process.env`; everything else is handed the pieces of `Config` it needs.
 */

const WHERE = {
  DATABASE_URL: 'a postgres:// URL of your database (leave unset to use the embedded PostgreSQL in .data/postgres)',
  MONGODB_URL: 'a mongodb:// URL (leave unset to keep scheduled jobs in PostgreSQL)',
  SLACK_BOT_TOKEN:
    'Slack app settings → OAuth & Permissions → Bot User OAuth Token (starts with xoxb-); or, to install by OAuth in any number of workspaces, set SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_STATE_SECRET instead',
  SLACK_SIGNING_SECRET: 'Slack app settings → Basic Information → App Credentials → Signing Secret',
  SLACK_APP_TOKEN:
    'Slack app settings → Basic Information → App-Level Tokens, scope connections:write (starts with xapp-)',
  SLACK_API_URL: 'leave unset for https://slack.com/api/',
  SLACK_CLIENT_ID: 'Slack app settings → Basic Information → App Credentials → Client ID',
  SLACK_CLIENT_SECRET: 'Slack app settings → Basic Information → App Credentials → Client Secret',
  SLACK_STATE_SECRET:
    'any random text of 32 characters or more, e.g. from: node -e "console.log(crypto.randomBytes(32).toString(\'base64\'))"',
  SLACK_ADMIN_USERS: 'comma-separated Slack user ids such as U012ABCDEF',
  AZURE_CLIENT_ID: 'Entra admin center → App registrations → your app → Application (client) ID',
  AZURE_CLIENT_SECRET:
    'Entra admin center → App registrations → your app → Certificates & secrets → New client secret (the Value)',
  AZURE_TENANT_ID: 'Entra admin center → Overview → Tenant ID, or "organizations" to allow any work tenant',
  AZURE_AUTH_MODE: '"delegated" (an admin signs in) or "application" (admin consent + client credentials)',
  AZURE_AUTHORITY_HOST: 'leave unset for https://login.microsoftonline.com',
  GRAPH_BASE_URL: 'leave unset for https://graph.microsoft.com',
  PUBLIC_URL: 'the https:// address Slack and browsers reach this app at, e.g. https://aad-sync.example.com',
  ENCRYPTION_KEY: 'generate one with: node -e "console.log(crypto.randomBytes(32).toString(\'base64\'))"',
  PORT: 'a TCP port number such as 3000',
  METRICS_PORT: 'a TCP port for Prometheus only, such as 9464, never the public PORT',
  METRICS_TOKEN: 'a random secret of 16+ characters that Prometheus sends as "Authorization: Bearer …"',
  SYNC_INTERVAL: 'a duration such as "60 minutes" or "2 hours"',
  SYNC_STALL_AFTER: 'a duration such as "15 minutes": a run without progress for this long is stopped',
  SYNC_DEADLINE: 'a duration such as "6 hours": no run lasts longer',
  LOG_LEVEL: 'one of fatal, error, warn, info, debug, trace, silent',
} as const;

export type EnvName = keyof typeof WHERE;

const optionalText = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

const url = (protocols: string[]) =>
  z
    .string()
    .trim()
    .refine(
      (v) => {
        try {
          return protocols.includes(new URL(v).protocol);
        } catch {
          return false;
        }
      },
      `must be a ${protocols.map((p) => `${p}//`).join(' or ')} URL`,
    );

const DURATION = /^(\d+)\s*(seconds?|minutes?|hours?|s|m|h)$/i;

export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2].toLowerCase()[0];
  const ms = unit === 's' ? 1_000 : unit === 'm' ? 60_000 : 3_600_000;
  return n > 0 ? n * ms : undefined;
}

const schema = z.object({
  DATABASE_URL: url(['postgres:', 'postgresql:']).optional(),
  MONGODB_URL: url(['mongodb:', 'mongodb+srv:']).optional(),
  SLACK_BOT_TOKEN: z.string().trim().startsWith('xoxb-', 'must start with xoxb-').optional(),
  SLACK_SIGNING_SECRET: z.string().trim().min(8, 'is too short to be a signing secret').optional(),
  SLACK_APP_TOKEN: z.string().trim().startsWith('xapp-', 'must start with xapp-').optional(),
  SLACK_API_URL: url(['https:', 'http:']).default('https://slack.com/api/'),
  SLACK_CLIENT_ID: z
    .string()
    .trim()
    .regex(/^\d+\.\d+$/, 'must look like 1234567890.1234567890')
    .optional(),
  SLACK_CLIENT_SECRET: z.string().trim().min(16, 'is too short to be a client secret').optional(),
  SLACK_STATE_SECRET: z.string().trim().min(32, 'must be at least 32 characters').optional(),
  SLACK_ADMIN_USERS: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .refine((ids) => ids.every((id) => /^[UW][A-Z0-9]{2,}$/.test(id)), 'must list Slack user ids like U012ABCDEF'),
  AZURE_CLIENT_ID: z.string().trim().min(1).optional(),
  AZURE_CLIENT_SECRET: z.string().trim().min(1).optional(),
  AZURE_TENANT_ID: z
    .string()
    .trim()
    .regex(
      /^(organizations|common|[0-9a-fA-F-]{36}|[a-zA-Z0-9.-]+\.[a-zA-Z]{2,})$/,
      'must be a tenant GUID, a domain or "organizations"',
    )
    .default('organizations'),
  AZURE_AUTH_MODE: z.enum(['delegated', 'application']).default('delegated'),
  AZURE_AUTHORITY_HOST: url(['https:']).default('https://login.microsoftonline.com'),
  GRAPH_BASE_URL: url(['https:']).default('https://graph.microsoft.com'),
  PUBLIC_URL: url(['https:', 'http:']).optional(),
  ENCRYPTION_KEY: z
    .string()
    .trim()
    .refine((v) => Buffer.from(v, 'base64').length === 32, 'must be 32 bytes encoded as base64 (44 characters)')
    .optional(),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  METRICS_TOKEN: z.string().trim().min(16, 'is too short for a bearer token').optional(),
  SYNC_INTERVAL: z
    .string()
    .default('60 minutes')
    .refine((v) => parseDuration(v) !== undefined, 'must be a duration such as "60 minutes"'),
  SYNC_STALL_AFTER: z
    .string()
    .default('15 minutes')
    .refine((v) => parseDuration(v) !== undefined, 'must be a duration such as "15 minutes"'),
  SYNC_DEADLINE: z
    .string()
    .default('6 hours')
    .refine((v) => parseDuration(v) !== undefined, 'must be a duration such as "6 hours"'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export interface Config {
  databaseUrl?: string;
  mongodbUrl?: string;
  slack: {
    botToken?: string;
    signingSecret?: string;
    appToken?: string;
    apiUrl: string;
    adminUsers: string[];
    /** Install by OAuth (any number of workspaces and Grid orgs) instead of one pasted bot token. */
    oauth?: { clientId: string; clientSecret: string; stateSecret: string };
  };
  azure: {
    clientId?: string;
    clientSecret?: string;
    tenantId: string;
    authMode: 'delegated' | 'application';
    authorityHost: string;
    graphBaseUrl: string;
  };
  publicUrl: string;
  encryptionKey?: Buffer;
  port: number;
  /** /metrics: on this port of its own, or (when unset) on PORT behind `metricsToken`, or not at all. */
  metricsPort?: number;
  metricsToken?: string;
  syncIntervalMs: number;
  syncInterval: string;
  /**
   * A run that made no progress for `stallAfterMs`, or ran for `deadlineMs`, is stopped as `stalled`: Graph
   * may ask for a 300 s wait per call, so the first bound is well above that by default.
   */
  runBounds: { stallAfterMs: number; deadlineMs: number };
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

/** Parses `env` (blank values count as unset) and insists that every name in `required` is present. */
export function parseConfig(env: Record<string, string | undefined>, required: readonly EnvName[] = []): Config {
  const cleaned: Record<string, string | undefined> = {};
  for (const name of Object.keys(WHERE)) cleaned[name] = optionalText.parse(env[name]);

  const problems: string[] = [];
  const oauthNames = ['SLACK_CLIENT_ID', 'SLACK_CLIENT_SECRET', 'SLACK_STATE_SECRET'] as const;
  const oauthSet = oauthNames.filter((name) => cleaned[name] !== undefined);
  const installsByOAuth = oauthSet.length === oauthNames.length;
  for (const name of required) {
    // The OAuth install mode takes the place of a pasted bot token.
    if (name === 'SLACK_BOT_TOKEN' && installsByOAuth) continue;
    if (cleaned[name] === undefined) problems.push(`${name} is missing: ${WHERE[name]}.`);
  }
  if (oauthSet.length > 0 && !installsByOAuth)
    problems.push(
      `${oauthNames.filter((n) => !oauthSet.includes(n)).join(' and ')} ${oauthSet.length === 2 ? 'is' : 'are'} missing: SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_STATE_SECRET go together (install by OAuth), or leave all three unset (one workspace with SLACK_BOT_TOKEN).`,
    );
  if (installsByOAuth && cleaned.SLACK_BOT_TOKEN !== undefined)
    problems.push(
      'SLACK_BOT_TOKEN is set together with SLACK_CLIENT_ID: choose one install mode — unset SLACK_BOT_TOKEN to install by OAuth, or unset the SLACK_CLIENT_* variables to serve one workspace.',
    );
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const name = String(issue.path[0]) as EnvName;
      problems.push(`${name} ${issue.message}: ${WHERE[name] ?? 'see README'}.`);
    }
  }
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);

  const e = result.data;
  return {
    databaseUrl: e.DATABASE_URL,
    mongodbUrl: e.MONGODB_URL,
    slack: {
      botToken: e.SLACK_BOT_TOKEN,
      signingSecret: e.SLACK_SIGNING_SECRET,
      appToken: e.SLACK_APP_TOKEN,
      apiUrl: e.SLACK_API_URL.endsWith('/') ? e.SLACK_API_URL : `${e.SLACK_API_URL}/`,
      adminUsers: e.SLACK_ADMIN_USERS,
      oauth:
        e.SLACK_CLIENT_ID && e.SLACK_CLIENT_SECRET && e.SLACK_STATE_SECRET
          ? { clientId: e.SLACK_CLIENT_ID, clientSecret: e.SLACK_CLIENT_SECRET, stateSecret: e.SLACK_STATE_SECRET }
          : undefined,
    },
    azure: {
      clientId: e.AZURE_CLIENT_ID,
      clientSecret: e.AZURE_CLIENT_SECRET,
      tenantId: e.AZURE_TENANT_ID,
      authMode: e.AZURE_AUTH_MODE,
      authorityHost: e.AZURE_AUTHORITY_HOST.replace(/\/+$/, ''),
      graphBaseUrl: e.GRAPH_BASE_URL.replace(/\/+$/, ''),
    },
    publicUrl: (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
    encryptionKey: e.ENCRYPTION_KEY ? Buffer.from(e.ENCRYPTION_KEY, 'base64') : undefined,
    port: e.PORT,
    metricsPort: e.METRICS_PORT,
    metricsToken: e.METRICS_TOKEN,
    syncIntervalMs: parseDuration(e.SYNC_INTERVAL)!,
    syncInterval: e.SYNC_INTERVAL,
    runBounds: { stallAfterMs: parseDuration(e.SYNC_STALL_AFTER)!, deadlineMs: parseDuration(e.SYNC_DEADLINE)! },
    logLevel: e.LOG_LEVEL,
  };
}

/** The variables `aad-sync serve` cannot start without (SLACK_BOT_TOKEN, unless the three SLACK_CLIENT_* install by OAuth). */
export const SERVE_REQUIRES: readonly EnvName[] = [
  'SLACK_BOT_TOKEN',
  'SLACK_SIGNING_SECRET',
  'AZURE_CLIENT_ID',
  'AZURE_CLIENT_SECRET',
  'ENCRYPTION_KEY',
];

export const ENV_NAMES = Object.keys(WHERE) as EnvName[];

export function loadConfig(required: readonly EnvName[] = []): Config {
  return parseConfig(process.env, required);
}

/** Process-level facts that are not product configuration but that commands need to decide how to run. */
export function processFacts() {
  return {
    extraCaCerts: process.env.NODE_EXTRA_CA_CERTS,
    isTty: Boolean(process.stdout.isTTY),
    ci: process.env.CI === 'true',
  };
}

/**
 * This process's environment plus `extra`, for re-running the program in a child: the demo and the
 * benchmarks do so to trust the emulator's certificate (Node reads NODE_EXTRA_CA_CERTS at start-up only).
 */
export function childEnvironment(extra: Record<string, string>): Record<string, string | undefined> {
  return { ...process.env, ...extra };
}
