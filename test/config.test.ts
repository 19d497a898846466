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
    expect(config.logLevel).toBe('info');
  });

  it('parses a complete serve configuration', () => {
    const config = parseConfig(
      {
        ...complete,
        SLACK_ADMIN_USERS: 'U1ABC, W2DEF',
        PORT: '8080',
        SYNC_INTERVAL: '2 hours',
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
