import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SLACK_EVENTS_PATH } from '../../src/slack/app.ts';
import { BOT_SCOPES, SLACK_OAUTH_REDIRECT_PATH } from '../../src/slack/install.ts';

const root = new URL('../../', import.meta.url);
const schema = JSON.parse(readFileSync(new URL('manifests/slack-app-manifest.schema.json', root), 'utf8'));
const validate = new Ajv({ allErrors: true, strict: false, validateFormats: false }).compile(schema);
const manifest = parse(readFileSync(new URL('slack-app-manifest.yml', root), 'utf8'));

const errorsOf = (candidate: unknown) => {
  validate(candidate);
  return (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
};

describe('slack-app-manifest.yml', () => {
  it("is valid against Slack's manifest schema", () => {
    expect(errorsOf(manifest)).toEqual([]);
  });

  it('is checked by a schema strict enough to fail a broken manifest', () => {
    const broken = structuredClone(manifest);
    broken.features.slash_commands[0].command = 'aad';
    broken.settings.interactivity.is_enabled = 'yes';
    broken.setings = {};
    expect(errorsOf(broken)).toEqual(
      expect.arrayContaining([
        '/features/slash_commands/0/command must match pattern "^\\/"',
        '/settings/interactivity/is_enabled must be boolean',
        ' must NOT have additional properties',
      ]),
    );
  });

  it('has both commands, /whois escaping mentions, all pointed at the events endpoint', () => {
    const commands = manifest.features.slash_commands;
    expect(commands.map((c: { command: string }) => c.command)).toEqual(['/aad', '/whois']);
    expect(commands.find((c: { command: string }) => c.command === '/whois').should_escape).toBe(true);
    const urls = [
      ...commands.map((c: { url: string }) => c.url),
      manifest.settings.event_subscriptions.request_url,
      manifest.settings.interactivity.request_url,
      manifest.settings.interactivity.message_menu_options_url,
    ];
    for (const url of urls) expect(new URL(url).pathname).toBe(SLACK_EVENTS_PATH);
  });

  it('enables the Home tab with app_home_opened and asks for the least scopes', () => {
    expect(manifest.features.app_home.home_tab_enabled).toBe(true);
    expect(manifest.settings.event_subscriptions.bot_events).toEqual([
      'app_home_opened',
      'app_uninstalled',
      'tokens_revoked',
    ]);
    expect(manifest.oauth_config.scopes.bot).toEqual([
      'commands',
      'chat:write',
      'users:read',
      'users:read.email',
      'channels:join',
    ]);
    // What the OAuth installer asks for is what the manifest declares.
    expect(manifest.oauth_config.scopes.bot).toEqual(BOT_SCOPES);
    expect(manifest.oauth_config.scopes.user).toBeUndefined();
  });

  it('declares the OAuth redirect, token rotation and org-wide installs', () => {
    const [redirect] = manifest.oauth_config.redirect_urls;
    expect(new URL(redirect).pathname).toBe(SLACK_OAUTH_REDIRECT_PATH);
    expect(new URL(redirect).host).toBe(new URL(manifest.settings.event_subscriptions.request_url).host);
    expect(manifest.settings.token_rotation_enabled).toBe(true);
    expect(manifest.settings.org_deploy_enabled).toBe(true);
    const broken = structuredClone(manifest);
    broken.oauth_config.redirect_urls = 'https://aad-sync.example.com/slack/oauth_redirect';
    expect(errorsOf(broken)).toContain('/oauth_config/redirect_urls must be array');
  });
});
