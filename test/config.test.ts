import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, parseDuration, SERVE_REQUIRES } from '../src/config.ts';

const KEY = Buffer.alloc(32, 7).toString('base64');
const complete = {
  SLACK_BOT_TOKEN: 'xoxb-1-2-3',
  SLACK_SIGNING_SECRET: 'abcdef0123456789',
  AZURE_CLIENT_ID: '00000000-0000-0000-0000-000000000001',
  AZURE_CLIENT_SECRET: 'shh',
  ENCRYPTION_KEY: KEY,
};

function problems(env: Record<string, string | undefined>, required = SERVE_REQUIRES): string[] {
  try {
    parseConfig(env, required);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

const OAUTH = {
  SLACK_CLIENT_ID: '1234567890.0987654321',
  SLACK_CLIENT_SECRET: '0123456789abcdef0123456789abcdef',
  SLACK_STATE_SECRET: 'a-state-secret-of-at-least-32-characters',
};

describe('install modes', () => {
  it('installs by OAuth when the three SLACK_CLIENT_* are set, without a bot token', () => {
    const { SLACK_BOT_TOKEN: _token, ...rest } = complete;
    const config = parseConfig({ ...rest, ...OAUTH }, SERVE_REQUIRES);
    expect(config.slack.oauth).toEqual({
      clientId: OAUTH.SLACK_CLIENT_ID,
      clientSecret: OAUTH.SLACK_CLIENT_SECRET,
      stateSecret: OAUTH.SLACK_STATE_SECRET,
    });
    expect(config.slack.botToken).toBeUndefined();
    expect(parseConfig(complete, SERVE_REQUIRES).slack.oauth).toBeUndefined();
  });

  it('names the missing part of an incomplete OAuth setup, and refuses both modes at once', () => {
    const { SLACK_BOT_TOKEN: _token, ...rest } = complete;
    expect(problems({ ...rest, SLACK_CLIENT_ID: OAUTH.SLACK_CLIENT_ID })).toEqual([
      expect.stringMatching(
        /^SLACK_BOT_TOKEN is missing: .*SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_STATE_SECRET/,
      ),
      expect.stringMatching(/^SLACK_CLIENT_SECRET and SLACK_STATE_SECRET are missing: .* go together/),
    ]);
    expect(problems({ ...complete, ...OAUTH })).toEqual([expect.stringMatching(/^SLACK_BOT_TOKEN is set together/)]);
    expect(problems({ ...rest, ...OAUTH, SLACK_STATE_SECRET: 'short' })).toEqual([
      expect.stringMatching(/^SLACK_STATE_SECRET must be at least 32 characters/),
    ]);
  });
});

describe('parseConfig', () => {
  it('applies the documented defaults', () => {
    const config = parseConfig({});
    expect(config.databaseUrl).toBeUndefined();
    expect(config.slack.apiUrl).toBe('https://slack.com/api/');
    expect(config.azure).toMatchObject({
      tenantId: 'organizations',
      authMode: 'delegated',
      authorityHost: 'https://login.microsoftonline.com',
      graphBaseUrl: 'https://graph.microsoft.com',
    });
    expect(config.port).toBe(3000);
    expect(config.publicUrl).toBe('http://localhost:3000');
    expect(config.syncIntervalMs).toBe(3_600_000);
    expect(config.runBounds).toEqual({ stallAfterMs: 15 * 60_000, deadlineMs: 6 * 3_600_000 });
    expect(config.logLevel).toBe('info');
  });

  it('parses a complete serve configuration', () => {
    const config = parseConfig(
      {
        ...complete,
        SLACK_ADMIN_USERS: 'U1ABC, W2DEF',
        PORT: '8080',
        SYNC_INTERVAL: '2 hours',
        SYNC_STALL_AFTER: '30 minutes',
        SYNC_DEADLINE: '12h',
        SLACK_API_URL: 'http://127.0.0.1:9/api',
      },
      SERVE_REQUIRES,
    );
    expect(config.slack.adminUsers).toEqual(['U1ABC', 'W2DEF']);
    expect(config.slack.apiUrl).toBe('http://127.0.0.1:9/api/');
    expect(config.encryptionKey).toEqual(Buffer.alloc(32, 7));
    expect(config.port).toBe(8080);
    expect(config.publicUrl).toBe('http://localhost:8080');
    expect(config.syncIntervalMs).toBe(7_200_000);
    expect(config.runBounds).toEqual({ stallAfterMs: 30 * 60_000, deadlineMs: 12 * 3_600_000 });
  });

  it('names every missing variable with where to get it', () => {
    const found = problems({});
    expect(found).toHaveLength(SERVE_REQUIRES.length);
    for (const name of SERVE_REQUIRES) expect(found.some((p) => p.startsWith(`${name} is missing: `))).toBe(true);
    expect(found.find((p) => p.startsWith('SLACK_SIGNING_SECRET'))).toContain('Basic Information');
  });

  it('treats empty and blank values as missing', () => {
    const found = problems({ ...complete, SLACK_BOT_TOKEN: '', AZURE_CLIENT_SECRET: '   ' });
    expect(found).toEqual([
      expect.stringMatching(/^SLACK_BOT_TOKEN is missing/),
      expect.stringMatching(/^AZURE_CLIENT_SECRET is missing/),
    ]);
  });

  it.each([
    ['SLACK_BOT_TOKEN', 'xoxp-user-token', 'must start with xoxb-'],
    ['ENCRYPTION_KEY', 'short', 'must be 32 bytes'],
    ['DATABASE_URL', 'mysql://x', 'postgres'],
    ['AZURE_AUTH_MODE', 'both', 'AZURE_AUTH_MODE'],
    ['AZURE_AUTHORITY_HOST', 'http://login.example', 'https://'],
    ['PORT', 'eighty', 'PORT'],
    ['SYNC_INTERVAL', 'hourly', 'duration'],
    ['SYNC_STALL_AFTER', 'soon', 'duration'],
    ['SYNC_DEADLINE', '-1 hours', 'duration'],
    ['SLACK_ADMIN_USERS', 'alice,bob', 'Slack user ids'],
    ['LOG_LEVEL', 'loud', 'LOG_LEVEL'],
  ])('rejects a malformed %s', (name, value, fragment) => {
    const found = problems({ ...complete, [name]: value });
    expect(found).toHaveLength(1);
    expect(found[0].startsWith(name)).toBe(true);
    expect(found[0]).toContain(fragment);
  });
});

describe('parseDuration', () => {
  it.each([
    ['60 minutes', 3_600_000],
    ['90s', 90_000],
    ['1 hour', 3_600_000],
    ['5m', 300_000],
  ])('%s', (text, ms) => expect(parseDuration(text)).toBe(ms));
  it.each(['', '0 minutes', 'soon', '-5 minutes'])('refuses %j', (text) => expect(parseDuration(text)).toBeUndefined());
});
