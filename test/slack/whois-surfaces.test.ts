import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { photoSigningKey, photoVersion, verifyPhotoToken } from '../../src/directory/photo-links.ts';
import type { SlackIdentityLookup } from '../../src/directory/slack-identity.ts';
import type { WhoisDeps } from '../../src/services/whois.ts';
import { validateSurface } from '../../src/slack/views/limits.ts';
import type { SlackMessage } from '../../src/slack/views/whois.ts';
import { answerWhois, personCardReply, sharedCardReply, unescapeSlackText } from '../../src/slack/whois-replies.ts';
import { changeFeedState } from '../../src/sync/notifications/subscriptions.ts';
import { insertPeople, seedDirectory } from '../fixtures/people.ts';
import { runCli } from '../helpers/cli.ts';
import { startTestDatabase, type TestDatabase } from '../helpers/database.ts';

/** The two faces of the search: the Slack replies the listeners send, and `aad-sync whois` in a terminal. */

let database: TestDatabase;
let directory: Awaited<ReturnType<typeof seedDirectory>>;
const key = photoSigningKey(Buffer.alloc(32, 3));

beforeAll(async () => {
  database = await startTestDatabase();
  directory = await seedDirectory(database, 'T0CONTOSO', 60);
  await insertPeople(database, directory.sourceId, [
    { externalId: 'evil', firstName: 'Evil', lastName: 'Escape', displayName: 'Evil \u001b[2J\u001b[31mEscape\u0007' },
  ]);
});
afterAll(async () => {
  await database?.stop();
});

function slackFake(emails: Record<string, string>, failWith?: Error) {
  const warnings: string[] = [];
  const identity: SlackIdentityLookup = {
    lookupSlackUserEmail: async (id) => Object.entries(emails).find(([, u]) => u === id)?.[0],
    lookupByEmail: async (email) => {
      if (failWith) throw failWith;
      return emails[email];
    },
  };
  return { context: { teamId: 'T0CONTOSO', identity, warn: (m: string) => warnings.push(m) }, warnings };
}

const deps = (overrides: Partial<WhoisDeps> = {}): WhoisDeps => ({
  sql: database.sql,
  publicUrl: 'https://dir.example.com',
  photoSigningKey: key,
  ...overrides,
});

const imageUrlOf = (message: SlackMessage) =>
  (message.blocks[0] as { accessory?: { image_url?: string } }).accessory?.image_url;

function expectWithinLimits(message: SlackMessage) {
  expect(validateSurface('message', message)).toEqual([]);
}

describe('Slack replies', () => {
  it('answers /whois with the card, a signed photo link and the Slack mention', async () => {
    const { context } = slackFake({ 'adele.vance@contoso.com': 'U0ADELE01' });
    const message = await answerWhois(deps(), context, 'adele vance');
    expectWithinLimits(message);
    expect(message.text).toBe('Adele Vance, Retail Manager · Retail (adele.vance@contoso.com)');
    expect(JSON.stringify(message.blocks)).toContain('<@U0ADELE01>');
    const url = imageUrlOf(message)!;
    expect(url.startsWith('https://dir.example.com/photos/')).toBe(true);
    expect(verifyPhotoToken(key, url.split('/photos/')[1])).toMatchObject({
      profileId: directory.id('adele'),
      version: photoVersion('W/"adele-photo-1"'),
    });
  });

  it('leaves the photo out when Slack cannot reach PUBLIC_URL or there is no signing key', async () => {
    const { context } = slackFake({});
    expect(
      imageUrlOf(await answerWhois(deps({ publicUrl: 'http://localhost:3000' }), context, 'adele')),
    ).toBeUndefined();
    expect(imageUrlOf(await answerWhois(deps({ photoSigningKey: undefined }), context, 'adele'))).toBeUndefined();
  });

  it('still answers when Slack cannot be asked, and says why in the log', async () => {
    const { context, warnings } = slackFake({}, new Error('ratelimited'));
    const message = await answerWhois(deps(), context, 'megan bowen');
    expect(message.text).toContain('Megan Bowen');
    expect(warnings.join('\n')).toContain('ratelimited');
  });

  it('reads Slack-escaped text and mentions', async () => {
    expect(unescapeSlackText('&lt;@U1&gt; &amp;lt;')).toBe('<@U1> &lt;');
    const { context } = slackFake({ 'lee.gu@contoso.com': 'U0LEEGU01' });
    expect((await answerWhois(deps(), context, '<@U0LEEGU01|lee>')).text).toContain('Lee Gu');
    expect((await answerWhois(deps(), context, '&lt;lee gu&gt;')).text).toContain('Lee Gu');
  });

  it('answers usage, no match and a broken database with a message, never an exception', async () => {
    const { context, warnings } = slackFake({});
    const usage = await answerWhois(deps(), context, '   ');
    expect(usage.text).toContain('/whois followed by');
    const none = await answerWhois(deps(), context, 'adelaide vanderbilt');
    expectWithinLimits(none);
    expect(none.text).toContain('Did you mean Adele Vance');
    const broken = postgres('postgres://nobody:x@127.0.0.1:9/nothing', { max: 1, connect_timeout: 2 });
    try {
      const down = await answerWhois(deps({ sql: broken }), context, 'adele');
      expect(down.text).toContain('could not be searched');
      expect(warnings.length).toBeGreaterThan(0);
    } finally {
      await broken.end();
    }
  });

  it('opens another card from a button, within the workspace only', async () => {
    const { context } = slackFake({});
    const miriam = await personCardReply(deps(), context, String(directory.id('miriam')));
    expectWithinLimits(miriam);
    expect(miriam.text).toContain('Miriam Graham');
    for (const value of [String(directory.id('diego')), '', 'abc', '-1', '999999999']) {
      expect((await personCardReply(deps(), context, value)).text).toBe('That person is no longer in the directory.');
    }
    const otherTeam = { ...context, teamId: 'T0ELSEWHERE' };
    expect((await personCardReply(deps(), otherTeam, String(directory.id('miriam')))).text).toContain('no longer');
  });

  it('shares a card with the channel, or tells the clicker why not', async () => {
    const { context } = slackFake({});
    const shared = await sharedCardReply(deps(), context, String(directory.id('adele')), 'U0ASKER01');
    expect(shared.visibleTo).toBe('channel');
    expectWithinLimits(shared.message);
    expect(JSON.stringify(shared.message.blocks)).toContain('Shared by <@U0ASKER01>');
    expect(shared.message.blocks.some((b) => b.type === 'actions')).toBe(false);
    const gone = await sharedCardReply(deps(), context, String(directory.id('diego')), 'U0ASKER01');
    expect(gone).toMatchObject({
      visibleTo: 'clicker',
      message: { text: 'That person is no longer in the directory.' },
    });
  });

  it('says how fresh the card is: nothing before a first sync, "as of the sync", then "Live" with change notifications', async () => {
    const { context } = slackFake({});
    const adele = String(directory.id('adele'));
    const fresh = async () => {
      const texts = [
        await answerWhois(deps(), context, 'adele vance'),
        await personCardReply(deps(), context, adele),
        (await sharedCardReply(deps(), context, adele, 'U0ASKER01')).message,
      ].map((m) => JSON.stringify(m.blocks));
      const lines = texts.map((t) => /(:zap: Live from|From) Microsoft Entra ID[^"]*/.exec(t)?.[0] ?? null);
      expect(new Set(lines).size, 'the same line on every face of the card').toBe(1);
      return lines[0];
    };
    const sql = database.sql;
    try {
      expect(await fresh()).toBeNull();
      await sql`update sources set last_success_at = '2026-12-03T10:00:00Z' where id = ${directory.sourceId}`;
      expect(await fresh()).toBe(
        'From Microsoft Entra ID as of the sync <!date^1796292000^{date_short_pretty} at {time}|3 Dec 2026, 10:00 UTC>',
      );
      // A users subscription still being made is not live yet; once active, the card says so.
      await sql`insert into graph_subscriptions (source_id, resource, status) values (${directory.sourceId}, 'users', 'pending')`;
      expect(await fresh()).toMatch(/^From Microsoft Entra ID as of the sync/);
      await sql`update graph_subscriptions set status = 'active', subscription_id = 'sub-1' where source_id = ${directory.sourceId}`;
      expect(await fresh()).toBe(
        ':zap: Live from Microsoft Entra ID, updated <!date^1796292000^{ago}|3 Dec 2026, 10:00 UTC>',
      );
      // A /groups subscription refused for want of Group.Read.All (optional): people are still live.
      await sql`insert into graph_subscriptions (source_id, resource, status, problem)
        values (${directory.sourceId}, 'groups', 'forbidden', 'grant Group.Read.All')`;
      expect(await fresh()).toMatch(/^:zap: Live from Microsoft Entra ID/);
      expect(await changeFeedState(sql, directory.sourceId)).toMatchObject({
        state: 'live',
        membershipScheduled: true,
      });
      // Near-real-time updates refused for people (e.g. PUBLIC_URL unreachable): back to "as of the sync".
      await sql`update graph_subscriptions set status = 'unreachable' where source_id = ${directory.sourceId}`;
      expect(await fresh()).toMatch(/^From Microsoft Entra ID as of the sync/);
      expect(await changeFeedState(sql, directory.sourceId)).toMatchObject({
        state: 'problem',
        membershipScheduled: false,
      });
    } finally {
      await sql`delete from graph_subscriptions where source_id = ${directory.sourceId}`;
      await sql`update sources set last_success_at = null where id = ${directory.sourceId}`;
    }
  });
});

describe('aad-sync whois', () => {
  const cli = (...args: string[]) => runCli(['whois', ...args], { env: { DATABASE_URL: database.url } });

  it('prints the card of the best match', async () => {
    const { code, stdout, stderr } = await cli('adele', 'vance');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain('Adele Vance\n');
    expect(stdout).toContain('  Title      Retail Manager\n');
    expect(stdout).toContain('  Email      adele.vance@contoso.com\n');
    expect(stdout).toContain('  Phone      +1 425 555 0109\n');
    expect(stdout).toContain('  Office     18/2111\n');
    expect(stdout).toContain('  Manager    Miriam Graham (Director, Sales & Marketing) <miriam.graham@contoso.com>\n');
  });

  it('lists other matches when the query is ambiguous', async () => {
    const { code, stdout } = await cli('alex');
    expect(code).toBe(0);
    expect(stdout).toMatch(/\nOther matches:\n {2}Alex/);
    expect(stdout).toContain('Alexandra Chen');
  });

  it('exits 1 with suggestions when nobody matches', async () => {
    const close = await cli('adelaide', 'vanderbilt');
    expect(close.code).toBe(1);
    expect(close.stdout).toContain(
      'No one in the directory matches "adelaide vanderbilt".\nDid you mean:\n  Adele Vance',
    );
    const far = await cli('zqxwv');
    expect(far).toMatchObject({ code: 1, stdout: 'No one in the directory matches "zqxwv".\n' });
  });

  it('exits 2 with usage when the query is missing', async () => {
    const { code, stderr } = await cli();
    expect(code).toBe(2);
    expect(stderr).toContain('Usage: aad-sync whois <query>');
  });

  it('never prints control characters from the directory', async () => {
    const { code, stdout } = await cli('evil', 'escape');
    expect(code).toBe(0);
    expect(stdout).toContain('Evil [2J[31mEscape');
    expect(/[\u0000-\u0008\u000b-\u001f\u007f]/.test(stdout)).toBe(false);
  });
});
