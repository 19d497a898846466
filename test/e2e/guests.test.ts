import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { actionIds, blockIds, callbackIds, WHOIS_ACTIONS } from '../../src/slack/ids.ts';
import { ADMIN, type AppFixture, MEMBER, setUpSource, startAppFixture } from '../helpers/app.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * Slack guests and /whois, through the real Bolt app on signed requests and the Slack emulator (whose
 * users.info reports `is_restricted` for a multi-channel guest and also `is_ultra_restricted` for a
 * single-channel one): refused by default; an admin may allow a reduced card or the full card in
 * Mappings & settings; members are never affected.
 */

const GUEST = 'U0GUEST';
const SINGLE_CHANNEL_GUEST = 'U0SCGUEST';
const REFUSED = '/whois is for members of this workspace, not guests: ask a workspace admin if you need it.';

let f: AppFixture;
let sourceId: string;
/** Someone with every detail: phones, office and a manager. */
let person: { email: string; display_name: string; business_phone: string; office: string };

beforeAll(async () => {
  f = await startAppFixture({ mode: 'delegated', seed: 'app-guests' });
  sourceId = await setUpSource(f);
  [person] = await f.db.sql`
    select p.email, p.display_name, p.business_phone, p.office from profiles p
    where p.source_id = ${sourceId} and p.active and p.business_phone is not null and p.office is not null
      and p.manager_external_id is not null
    order by p.id limit 1`;
});
afterAll(() => f?.stop());
beforeEach(() => f.slack.reset());

/** The ephemeral answer `userId` gets to `/whois text`. */
async function whois(userId: string, text = person.email) {
  const before = f.slack.responses().length;
  await f.client.command('/whois', text, { userId });
  const reply = await waitFor(() => f.slack.responses().slice(before).at(-1), {
    what: `the /whois reply to ${userId}`,
  });
  return { body: reply.body as { text: string; blocks: unknown[] }, json: JSON.stringify(reply.body) };
}

/** What an admin chooses under "/whois for Slack guests", saved through the Edit mappings modal. */
async function allowGuests(choice: 'none' | 'reduced' | 'full', userId = ADMIN) {
  await f.client.appHomeOpened(ADMIN);
  await f.client.blockAction({ userId: ADMIN, actionId: actionIds.editSettings, view: f.slack.homeOf(ADMIN)! });
  const edit = await waitFor(
    () => {
      const view = f.slack.lastView();
      return view?.callback_id === callbackIds.editSettings ? view : undefined;
    },
    { what: 'the Mappings & settings modal' },
  );
  return f.client.viewSubmission(edit, { [blockIds.guestWhois]: choice }, userId);
}

const guestSetting = async () =>
  (await f.db.sql`select guest_whois from sources where id = ${sourceId}`)[0].guest_whois;

describe('/whois for Slack guests', () => {
  it('is refused to multi- and single-channel guests by default, with one sentence and no data', async () => {
    expect(await guestSetting()).toBe('none');
    for (const guest of [GUEST, SINGLE_CHANNEL_GUEST]) {
      const reply = await whois(guest);
      expect(reply.body.text, guest).toBe(REFUSED);
      expect(reply.json).not.toContain(person.email);
      expect(reply.json).not.toContain(person.display_name);
    }
    // A member sees the full card.
    const member = await whois(MEMBER);
    expect(member.json).toContain(person.email);
    expect(member.json).toContain(person.business_phone);
  });

  it('shows guests the reduced card once an admin allows it: no email, phones, office or manager', async () => {
    await allowGuests('reduced');
    expect(await guestSetting()).toBe('reduced');
    for (const guest of [GUEST, SINGLE_CHANNEL_GUEST]) {
      const reply = await whois(guest);
      expect(reply.json, guest).toContain(person.display_name);
      for (const hidden of [person.email, person.business_phone, person.office, '*Manager*', '*Email*']) {
        expect(reply.json, `${guest}: ${hidden}`).not.toContain(hidden);
      }
      expect(reply.json).toContain('Guests see a reduced card');
      expect(reply.json).not.toContain(WHOIS_ACTIONS.showPerson + ':manager');
    }
    // Members still see everything.
    expect((await whois(MEMBER)).json).toContain(person.business_phone);
  });

  it('checks every card button too: a guest opening another card gets the reduced one', async () => {
    const profileId = String(
      (await f.db.sql`select id from profiles where source_id = ${sourceId} and email = ${person.email}`)[0].id,
    );
    const card = { channel: 'C0GENERAL', ts: '1.000001', text: 'a card', blocks: [], user: f.slack.botUserId };
    await f.client.blockAction({
      userId: GUEST,
      actionId: `${WHOIS_ACTIONS.showPerson}:0`,
      value: profileId,
      message: card,
    });
    const reply = await waitFor(() => f.slack.responses().at(-1), { what: 'the card' });
    const json = JSON.stringify(reply.body);
    expect(json).toContain(person.display_name);
    expect(json).not.toContain(person.email);
    expect(json).not.toContain(person.business_phone);
  });

  it('shows guests the full card when an admin allows that', async () => {
    await allowGuests('full');
    const reply = await whois(SINGLE_CHANNEL_GUEST);
    expect(reply.json).toContain(person.email);
    expect(reply.json).toContain(person.business_phone);
  });

  it('lets only admins change the setting, and refuses guests again when set back', async () => {
    const refused = await allowGuests('none', MEMBER);
    expect(JSON.stringify(refused.body)).toContain('Only Slack workspace admins');
    expect(await guestSetting()).toBe('full');
    await allowGuests('none');
    expect((await whois(SINGLE_CHANNEL_GUEST)).body.text).toBe(REFUSED);
  });

  it('shows nothing when Slack cannot say who is asking', async () => {
    await allowGuests('reduced');
    f.slack.space(f.slack.teamId).users.set('U0NEWCOMER', { id: 'U0NEWCOMER', name: 'new.comer', isRestricted: true });
    f.slack.failNext('users.info', 'ratelimited');
    const reply = await whois('U0NEWCOMER');
    expect(reply.body.text).toBe(
      'Slack could not confirm your account just now, so /whois cannot answer: try again in a minute.',
    );
    expect(reply.json).not.toContain(person.display_name);
  });
});
