import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmulatedTenant } from '../../src/emulators/entra/index.ts';
import type { CommandReply } from '../../src/emulators/slack/index.ts';
import { actionIds, callbackIds } from '../../src/slack/ids.ts';
import { FOREIGN_SOURCE } from '../../src/slack/listeners/ownership.ts';
import { encodeMetadata } from '../../src/slack/metadata.ts';
import { expectWithinSlackLimits, finishedRuns, setUpSource, viewText } from '../helpers/app.ts';
import { type InstallFixture, startInstallFixture } from '../helpers/installs.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * One deployment, installed by OAuth in two workspaces (Alpha, Beta) and org-wide in a Grid org (two workspaces).
 * Each sets up its own source: Alpha and the org against Contoso's emulated Entra tenant, Beta against Fabrikam's
 * (another tenant of the same emulator, signing in to the same multi-tenant app registration); syncs, /whois, alerts and Home stay apart;
 * cross-installation attempts change nothing; a rotated token is refreshed once across two replicas; an uninstall
 * removes that installation's everything and nothing of the others.
 */

const ALPHA = { team: 'T0ALPHA', admin: 'U0ALPHAADM', channel: 'C0ALPHA' };
const BETA = { team: 'T0BETA', admin: 'U0BETAADM', channel: 'C0BETA' };
const ORG = { team: 'E0GRID', admin: 'W0ORGADM', channel: 'C0GRID2', member: 'W0MEMBER2', wsAdmin: 'W0WSADM2' };

let f: InstallFixture;
const sourceOf: Record<string, string> = {};
let alphaOnly: { email: string };
let betaOnly: { email: string; group: string };

/** A group of the tenant with people in it (not the biggest, so the org's everyone differs from it). */
function groupWithPeople(directory: EmulatedTenant) {
  const sized = [...directory.groups.values()]
    .map((g) => ({ g, people: [...g.members].filter((m) => directory.users.has(m)).length }))
    .filter((x) => x.people > 0)
    .sort((a, b) => a.people - b.people);
  const { g } = sized[Math.floor(sized.length / 2)];
  return { id: g.id, name: g.displayName };
}

const contoso = () => f.entra.emulator.tenants[0];
const fabrikam = () => f.entra.emulator.tenants[1];

const emailsOf = async (sourceId: string) =>
  (await f.db.sql<{ email: string }[]>`select email from profiles where source_id = ${sourceId} and active`).map((r) =>
    r.email.toLowerCase(),
  );

/** What the app answered a command: its ack body, or what it posted to the command's response URL. */
function answerTo(reply: CommandReply): string {
  const posted = f.slack.responses().findLast((r) => r.id === reply.responseUrl.split('/').pop());
  return JSON.stringify(posted?.body ?? reply.body);
}

const NOBODY = /No one in the directory matches/;

async function whois(userId: string, text: string, client = f.client) {
  const reply = await client.command('/whois', text, { userId });
  expect(reply.status).toBe(200);
  return answerTo(reply);
}

/** Everything of every installation a refused or foreign action must leave alone. */
async function snapshot() {
  return f.db.sql`
    select s.slack_team_id, s.status, s.sync_enabled, s.admin_channel, s.mapping, s.alert_code,
      (select count(*)::int from source_groups g where g.source_id = s.id) as groups,
      (select count(*)::int from sync_runs r where r.source_id = s.id) as runs,
      (select count(*)::int from profiles p where p.source_id = s.id and p.active) as people
    from sources s order by s.slack_team_id`;
}

beforeAll(async () => {
  f = await startInstallFixture({
    tenants: [{ company: 'Fabrikam', seed: 'installs-fabrikam', users: 40, groups: 6 }],
  });
  for (const [team, user] of [
    [ALPHA.team, ALPHA.admin],
    [BETA.team, BETA.admin],
    [ORG.team, ORG.admin],
  ]) {
    const page = await f.install(team, user);
    expect(page.status, page.text).toBe(200);
  }
  sourceOf[ALPHA.team] = await setUpSource(f, {
    admin: ALPHA.admin,
    adminChannel: ALPHA.channel,
    installation: ALPHA.team,
    groups: [groupWithPeople(contoso().tenant)],
  });
  // Beta's Entra admin signs in from Fabrikam: the browser's account is in that tenant.
  const small = groupWithPeople(fabrikam().tenant);
  await f.entra.control('POST', `${fabrikam().controlPrefix}signin`, {});
  sourceOf[BETA.team] = await setUpSource(f, {
    admin: BETA.admin,
    adminChannel: BETA.channel,
    installation: BETA.team,
    groups: [small],
  });
  await f.entra.control('POST', 'signin', {});
  sourceOf[ORG.team] = await setUpSource(f, { admin: ORG.admin, adminChannel: ORG.channel, installation: ORG.team });
  const [alphaEmails, betaEmails] = [await emailsOf(sourceOf[ALPHA.team]), await emailsOf(sourceOf[BETA.team])];
  alphaOnly = { email: alphaEmails.find((e) => !betaEmails.includes(e))! };
  betaOnly = {
    email: betaEmails.find((e) => e.endsWith('@fabrikam.com') && !alphaEmails.includes(e))!,
    group: small.id,
  };
  expect(alphaOnly.email && betaOnly.email).toBeTruthy();
}, 120_000);
afterAll(() => f?.stop());

describe('installing by OAuth', () => {
  it('keeps one installation per workspace and one for the org, tokens sealed', async () => {
    const rows = await f.db.sql<
      {
        id: string;
        team_id: string | null;
        enterprise_id: string | null;
        is_enterprise_install: boolean;
        bot_token: string;
      }[]
    >`select * from slack_installations order by id`;
    expect(rows.map((r) => [r.id, r.team_id, r.enterprise_id, r.is_enterprise_install])).toEqual([
      ['E0GRID', null, 'E0GRID', true],
      ['T0ALPHA', 'T0ALPHA', null, false],
      ['T0BETA', 'T0BETA', null, false],
    ]);
    for (const row of rows) expect(row.bot_token).toMatch(/^v1\./);
    expect(f.logs.join('')).not.toMatch(/xoxe\.xoxb-|xoxe-1-/);
  });

  it('explains a cancelled install in one sentence, and refuses an org install by a non-admin', async () => {
    const page = await f.install(ALPHA.team, ALPHA.admin, { deny: '1' });
    expect([page.status, page.text]).toEqual([400, expect.stringContaining('cancelled in Slack')]);
    const refused = await f.install(ORG.team, ORG.member);
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('cancelled in Slack');
    expect(refused.text).not.toMatch(/Error:|at .*\.js/);
  });

  it('gives each installation its own source, the org one source for both its workspaces', async () => {
    const rows = await f.db.sql<{ slack_team_id: string; admin_channel: string }[]>`
      select slack_team_id, admin_channel from sources order by slack_team_id`;
    expect(rows).toEqual([
      { slack_team_id: 'E0GRID', admin_channel: ORG.channel },
      { slack_team_id: 'T0ALPHA', admin_channel: ALPHA.channel },
      { slack_team_id: 'T0BETA', admin_channel: BETA.channel },
    ]);
    expect(f.slack.messagesIn(ALPHA.channel).every((m) => !m.text.includes(BETA.channel))).toBe(true);
    // Each installation's calls carried its own token.
    for (const install of [ALPHA, BETA]) {
      const posted = f.slack.calls('chat.postMessage').filter((c) => c.args.channel === install.channel);
      expect(posted.length).toBeGreaterThan(0);
      expect(new Set(posted.map((c) => c.installation))).toEqual(new Set([install.team]));
    }
    expectWithinSlackLimits(f.slack);
  });
});

describe('isolation', () => {
  it('each installation syncs from its own tenant, and no one from another tenant reaches its directory', async () => {
    const tenants = await f.db.sql<{ slack_team_id: string; tenant_id: string }[]>`
      select slack_team_id, tenant_id from sources order by slack_team_id`;
    expect(tenants).toEqual([
      { slack_team_id: ORG.team, tenant_id: contoso().tenantId },
      { slack_team_id: ALPHA.team, tenant_id: contoso().tenantId },
      { slack_team_id: BETA.team, tenant_id: fabrikam().tenantId },
    ]);
    const graphIds = async (team: string) =>
      (await f.db.sql<{ graph_id: string }[]>`select graph_id from profiles where source_id = ${sourceOf[team]}`).map(
        (r) => r.graph_id,
      );
    for (const [team, own, other] of [
      [ALPHA.team, contoso(), fabrikam()],
      [ORG.team, contoso(), fabrikam()],
      [BETA.team, fabrikam(), contoso()],
    ] as const) {
      const ids = await graphIds(team);
      expect(ids.length).toBeGreaterThan(0);
      expect(ids.filter((id) => !own.tenant.users.has(id))).toEqual([]);
      expect(ids.filter((id) => other.tenant.users.has(id))).toEqual([]);
    }
    expect(betaOnly.email).toMatch(/@fabrikam\.com$/);
  });

  it('/whois in one workspace never shows people of another', async () => {
    expect(await whois(ALPHA.admin, alphaOnly.email)).not.toMatch(NOBODY);
    expect(await whois(ALPHA.admin, betaOnly.email)).toMatch(NOBODY);
    expect(await whois(BETA.admin, betaOnly.email)).not.toMatch(NOBODY);
    expect(await whois(BETA.admin, alphaOnly.email)).toMatch(NOBODY);
  });

  it('the org answers /whois in each of its workspaces from its one directory', async () => {
    const [someone] = await emailsOf(sourceOf[ORG.team]);
    expect(await whois(ORG.member, someone)).not.toMatch(NOBODY);
    expect(await whois(ORG.admin, someone)).not.toMatch(NOBODY);
  });

  it('the org is administered by its owners and admins, not by the admin of one workspace', async () => {
    const refused = await f.client.command('/aad', 'status', { userId: ORG.wsAdmin });
    expect(refused.body).toMatchObject({ text: expect.stringContaining('Only workspace admins') });
    const allowed = await f.client.command('/aad', 'status', { userId: ORG.admin, channelId: 'C0GRID1' });
    expect(answerTo(allowed)).toContain('aad-sync status: active');
  });

  it('each Home tab shows its own installation', async () => {
    await f.client.appHomeOpened(ALPHA.admin);
    await f.client.appHomeOpened(BETA.admin);
    await f.client.appHomeOpened(ORG.member);
    const alphaHome = viewText(f.slack.homeOf(ALPHA.admin));
    const betaHome = viewText(f.slack.homeOf(BETA.admin));
    expect(alphaHome).toContain(`<#${ALPHA.channel}>`);
    expect(alphaHome).not.toContain(BETA.channel);
    expect(betaHome).toContain(`<#${BETA.channel}>`);
    expect(viewText(f.slack.homeOf(ORG.member))).not.toMatch(/Set up|admin/i);
  });

  it('refuses a button value, private_metadata or held run of another installation, changing nothing', async () => {
    const before = await snapshot();
    const home = f.slack.homeOf(ALPHA.admin)!;
    // Beta's admin presses Alpha's buttons, carrying Alpha's source id, and submits a modal with Alpha's metadata.
    for (const actionId of [actionIds.disable, actionIds.syncNow]) {
      const reply = await f.client.blockAction({
        userId: BETA.admin,
        actionId,
        view: home,
        value: sourceOf[ALPHA.team],
      });
      expect(reply.status).toBe(200);
    }
    const forged = { ...home, private_metadata: encodeMetadata({ sourceId: sourceOf[ALPHA.team] }) };
    const submitted = await f.client.viewSubmission(
      { ...forged, type: 'modal', callback_id: callbackIds.setupGroups },
      {},
      BETA.admin,
    );
    expect(submitted.body).toMatchObject({ response_action: 'update', view: { blocks: [expect.anything()] } });
    expect(JSON.stringify(submitted.body)).toContain(FOREIGN_SOURCE);
    const [run] = await f.db.sql<{ id: number }[]>`
      select id from sync_runs where source_id = ${sourceOf[ALPHA.team]} order by id desc limit 1`;
    await f.client.blockAction({ userId: BETA.admin, actionId: actionIds.approveRemovals, value: String(run.id) });
    await waitFor(async () => (await f.db.sql`select 1 from sync_runs where status = 'running'`).length === 0, {
      what: 'no run in progress',
    });
    expect(await snapshot()).toEqual(before);
    expect(f.logs.filter((l) => l.includes('another installation’s source'))).toHaveLength(3);
  });

  it("an alert goes to the failing installation's channel only", async () => {
    const before = f.slack.messagesIn(ALPHA.channel).length;
    await f.entra.control('DELETE', `${fabrikam().controlPrefix}groups/${betaOnly.group}`);
    await f.client.command('/aad', 'sync', { userId: BETA.admin, channelId: BETA.channel });
    await waitFor(
      async () => {
        const [row] = await f.db.sql`select alert_code from sources where id = ${sourceOf[BETA.team]}`;
        return row.alert_code === 'group_missing';
      },
      { what: "Beta's alert" },
    );
    expect(f.slack.messagesIn(BETA.channel).some((m) => /group/i.test(m.text))).toBe(true);
    expect(f.slack.messagesIn(ALPHA.channel)).toHaveLength(before);
    const [alpha] = await f.db.sql`select alert_code from sources where id = ${sourceOf[ALPHA.team]}`;
    expect(alpha.alert_code).toBeNull();
  });
});

describe('token rotation across replicas', () => {
  it('refreshes an expiring token once, however many replicas need it at the same moment', async () => {
    const second = await f.replica();
    const [before] = await f.db.sql<{ bot_token: string }[]>`
      select bot_token from slack_installations where id = ${ALPHA.team}`;
    const refreshesBefore = f.slack.refreshes();
    // Time passes: the token now expires within the refresh window.
    await f.db
      .sql`update slack_installations set bot_expires_at = now() + interval '10 minutes' where id = ${ALPHA.team}`;
    const replies = await Promise.all(
      [f.client, second.client, f.client, second.client].map((client) =>
        client.command('/whois', alphaOnly.email, { userId: ALPHA.admin }),
      ),
    );
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(f.slack.refreshes() - refreshesBefore).toBe(1);
    const [after] = await f.db.sql<{ bot_token: string; bot_expires_at: Date }[]>`
      select bot_token, bot_expires_at from slack_installations where id = ${ALPHA.team}`;
    expect(after.bot_token).not.toBe(before.bot_token);
    expect(after.bot_expires_at.getTime()).toBeGreaterThan(Date.now() + 11 * 3600_000);
    expect(f.logs.join('')).not.toContain('invalid_refresh_token');
  });
});

describe('uninstall', () => {
  it('ignores a tokens_revoked that names only user tokens: the bot keeps working', async () => {
    const before = await snapshot();
    const event = {
      type: 'event_callback',
      team_id: ALPHA.team,
      api_app_id: f.slack.appId,
      event_id: 'Ev0USERTOKENS',
      event_time: Math.floor(Date.now() / 1000),
      event: { type: 'tokens_revoked', tokens: { oauth: [ALPHA.admin], bot: [] } },
      authorizations: [
        {
          enterprise_id: null,
          team_id: ALPHA.team,
          user_id: 'U0BOTT0ALPHA',
          is_bot: true,
          is_enterprise_install: false,
        },
      ],
    };
    expect((await f.client.send(JSON.stringify(event), 'application/json')).status).toBe(200);
    expect(await snapshot()).toEqual(before);
    expect(await f.db.sql`select id from slack_installations where id = ${ALPHA.team}`).toHaveLength(1);
  });

  it("deletes that installation's tokens, schedule, people, photos, runs and settings, and nothing else", async () => {
    const others = (await snapshot()).filter((s) => s.slack_team_id !== BETA.team);
    const replies = await f.client.uninstall(BETA.team);
    expect(replies.map((r) => r.status)).toEqual([200, 200]);
    await waitFor(
      async () => (await f.db.sql`select 1 from slack_installations where id = ${BETA.team}`).length === 0,
      {
        what: 'the tokens gone',
      },
    );
    expect(await f.db.sql`select 1 from sources where slack_team_id = ${BETA.team}`).toEqual([]);
    expect(await f.db.sql`select 1 from profiles where source_id = ${sourceOf[BETA.team]}`).toEqual([]);
    expect(await f.db.sql`select 1 from sync_runs where source_id = ${sourceOf[BETA.team]}`).toEqual([]);
    expect(
      await f.db.sql`select 1 from agenda_jobs where data::text like ${`%${sourceOf[BETA.team]}%`}`.catch(() => []),
    ).toEqual([]);
    expect((await snapshot()).filter((s) => s.slack_team_id !== BETA.team)).toEqual(others);
    const audit = f.logs.filter((l) => l.includes('slack_uninstall'));
    expect(audit).toHaveLength(1);
    expect(JSON.parse(audit[0])).toMatchObject({ installation: BETA.team, tokens: true, sources: 1 });
    expect(audit[0]).not.toContain(betaOnly.email);
    expect((await f.db.sql`select count(*)::int as n from slack_installations`)[0].n).toBe(2);
  });

  it('starts clean when the workspace installs again', async () => {
    expect((await f.install(BETA.team, BETA.admin)).status).toBe(200);
    const reply = await f.client.command('/aad', 'status', { userId: BETA.admin, channelId: BETA.channel });
    expect(answerTo(reply)).toContain('not set up');
    expect(await whois(BETA.admin, betaOnly.email)).toMatch(NOBODY);
    await finishedRuns(f.db, sourceOf[ALPHA.team], 1);
  });
});
