import { describe, expect, it } from 'vitest';
import type { PersonCard, PersonSummary } from '../../../src/directory/people.ts';
import { SHOW_PERSON_ACTION, WHOIS_ACTIONS } from '../../../src/slack/ids.ts';
import { escapeText } from '../../../src/slack/views/kit.ts';
import { validateSurface } from '../../../src/slack/views/limits.ts';
import {
  freshnessText,
  whoisCardMessage,
  whoisGoneMessage,
  whoisNoMatchMessage,
  whoisResultMessage,
  whoisSharedCardMessage,
  whoisUnavailableMessage,
  whoisUsageMessage,
} from '../../../src/slack/views/whois.ts';

const manager: PersonSummary = {
  id: 2,
  displayName: 'Miriam Graham',
  jobTitle: 'Director',
  department: 'Sales & Marketing',
  email: 'miriam.graham@contoso.com',
};

const adele: PersonCard = {
  sourceId: '0b5e0b5e-0000-4000-8000-000000000001',
  id: 3,
  displayName: 'Adele Vance',
  firstName: 'Adele',
  lastName: 'Vance',
  jobTitle: 'Retail Manager',
  department: 'Retail',
  email: 'adele.vance@contoso.com',
  office: '18/2111',
  businessPhone: '+1 425 555 0109',
  mobilePhone: '+1 206 555 0142',
  manager,
  directReports: 4,
  slackUserId: 'U0ADELE01',
  photo: { etag: 'W/"1"', contentType: 'image/png' },
};

const long = (n: number) => 'Ω'.repeat(n);
const hostile: PersonCard = {
  sourceId: '0b5e0b5e-0000-4000-8000-000000000001',
  id: 9,
  displayName: `<!channel> ${long(5000)}`,
  firstName: long(3000),
  lastName: long(3000),
  jobTitle: `<@U999> & ${long(3000)}`,
  department: long(3000),
  email: `x${long(2500)}@contoso.com`,
  office: long(2500),
  businessPhone: long(2500),
  mobilePhone: long(2500),
  manager: { ...manager, displayName: long(3000), jobTitle: long(3000) },
  directReports: 12_345,
  slackUserId: 'U0HOSTILE',
};

const others: PersonSummary[] = Array.from({ length: 9 }, (_, i) => ({
  id: 100 + i,
  displayName: i === 0 ? long(500) : `Alex Person${i}`,
  jobTitle: i % 2 ? 'Payroll Manager' : undefined,
  email: `alex${i}@contoso.com`,
}));

const PHOTO = 'https://aad-sync.example.com/photos/3.1900000000.VyIxIg.0123456789012345678901234567890123456789abc';

const SYNCED = new Date('2026-12-03T10:00:00Z');
const LIVE = { live: true, asOf: SYNCED };
const HOURLY = { live: false, asOf: SYNCED };

const allMessages = {
  card: whoisCardMessage(adele, { query: 'alex', others: others.slice(0, 5), photoUrl: PHOTO }),
  cardLive: whoisCardMessage(adele, { query: 'alex', others: others.slice(0, 5), photoUrl: PHOTO, freshness: LIVE }),
  cardHourly: whoisCardMessage(adele, { freshness: HOURLY }),
  sharedLive: whoisSharedCardMessage(hostile, { sharedBy: 'U0ASKER', freshness: LIVE }),
  cardAlone: whoisCardMessage({ ...adele, manager: undefined, directReports: 0, slackUserId: undefined }),
  hostileCard: whoisCardMessage(hostile, { query: long(5000), others, photoUrl: PHOTO }),
  shared: whoisSharedCardMessage(adele, { sharedBy: 'U0ASKER', photoUrl: PHOTO }),
  sharedHostile: whoisSharedCardMessage(hostile, { sharedBy: 'U0ASKER' }),
  noMatch: whoisNoMatchMessage('zqxw', []),
  noMatchSuggest: whoisNoMatchMessage('adelaide vanderbilt', others),
  noMatchHostile: whoisNoMatchMessage(`<!here> ${long(5000)}`, others),
  usage: whoisUsageMessage(),
  unavailable: whoisUnavailableMessage(),
  gone: whoisGoneMessage(),
};

describe('/whois views', () => {
  it.each(Object.entries(allMessages))('%s stays within the Block Kit limits', (_name, message) => {
    expect(validateSurface('message', message)).toEqual([]);
  });

  it('shows the card with photo, details, manager button, share button and other matches', () => {
    const { text, blocks } = allMessages.card;
    expect(text).toBe('Adele Vance, Retail Manager · Retail (adele.vance@contoso.com)');
    const json = JSON.stringify(blocks);
    for (const part of ['*Adele Vance*', '+1 425 555 0109', '+1 206 555 0142', '18/2111', '<@U0ADELE01>']) {
      expect(json).toContain(part);
    }
    expect(json).toContain('*Manager*\\nMiriam Graham, Director');
    expect(blocks[0]).toMatchObject({
      accessory: { type: 'image', image_url: PHOTO, alt_text: 'Photo of Adele Vance' },
    });
    const buttons = blocks.flatMap((b) => (b.type === 'actions' ? b.elements : [])) as {
      action_id: string;
      value: string;
    }[];
    expect(buttons.find((b) => b.value === '2')?.action_id).toMatch(SHOW_PERSON_ACTION);
    expect(buttons.find((b) => b.action_id === WHOIS_ACTIONS.share)?.value).toBe('3');
    expect(buttons.filter((b) => b.value !== '2' && SHOW_PERSON_ACTION.test(b.action_id)).map((b) => b.value)).toEqual([
      '100',
      '101',
      '102',
      '103',
      '104',
    ]);
    expect(json).toContain('Other matches for “alex”');
  });

  it('leaves out what is unknown', () => {
    const json = JSON.stringify(allMessages.cardAlone.blocks);
    for (const absent of ['*Manager*', '*Direct reports*', '*Slack*', '"image"', 'Other matches']) {
      expect(json.includes(absent), absent).toBe(false);
    }
  });

  it('never lets directory data or the query form mentions or links', () => {
    const mrkdwnTexts = (value: unknown): string[] => {
      if (Array.isArray(value)) return value.flatMap(mrkdwnTexts);
      if (!value || typeof value !== 'object') return [];
      const object = value as Record<string, unknown>;
      const own = object.type === 'mrkdwn' && typeof object.text === 'string' ? [object.text] : [];
      return [...own, ...Object.values(object).flatMap(mrkdwnTexts)];
    };
    for (const message of [allMessages.hostileCard, allMessages.noMatchHostile, allMessages.sharedHostile]) {
      const texts = mrkdwnTexts(message.blocks);
      expect(texts.length).toBeGreaterThan(0);
      const injected = texts.filter((t) => t.includes('<!') || t.includes('<@U999>'));
      expect(injected.map((t) => t.slice(0, 80))).toEqual([]);
    }
    expect(escapeText('<a&b>')).toBe('&lt;a&amp;b&gt;');
  });

  it('shares the card without buttons, saying who shared it', () => {
    const { blocks } = allMessages.shared;
    expect(blocks.some((b) => b.type === 'actions')).toBe(false);
    expect(JSON.stringify(blocks)).toContain('Shared by <@U0ASKER>');
  });

  it('offers suggestions as buttons when nothing matches, and a tip otherwise', () => {
    expect(allMessages.noMatchSuggest.text).toContain('Did you mean');
    expect(allMessages.noMatchSuggest.blocks[1]).toMatchObject({ type: 'actions' });
    expect((allMessages.noMatchSuggest.blocks[1] as { elements: unknown[] }).elements).toHaveLength(5);
    expect(allMessages.noMatch.text).toBe('No one in the directory matches "zqxw".');
    expect(JSON.stringify(allMessages.noMatch.blocks)).toContain('/whois adele');
  });

  it('keeps a Slack mention query as a mention', () => {
    expect(whoisNoMatchMessage('<@U0GONE>', []).blocks[0]).toMatchObject({
      text: { text: 'No one in the directory matches <@U0GONE>.' },
    });
  });

  it('says how fresh the card is, as the Home tab does: live with when it was updated, or as of the last sync', () => {
    expect(freshnessText(LIVE)).toBe(
      ':zap: Live from Microsoft Entra ID, updated <!date^1796292000^{ago}|3 Dec 2026, 10:00 UTC>',
    );
    expect(freshnessText(HOURLY)).toBe(
      'From Microsoft Entra ID as of the sync <!date^1796292000^{date_short_pretty} at {time}|3 Dec 2026, 10:00 UTC>',
    );
    const contexts = (message: { blocks: unknown[] }) =>
      JSON.stringify(message.blocks.filter((b) => (b as { type: string }).type === 'context'));
    expect(contexts(allMessages.cardLive)).toContain(freshnessText(LIVE));
    expect(contexts(allMessages.cardHourly)).toContain(freshnessText(HOURLY));
    expect(contexts(allMessages.sharedLive)).toContain(freshnessText(LIVE));
    // The line sits between the details and the buttons; a card without a known sync has none.
    expect(allMessages.cardLive.blocks.map((b) => b.type).slice(0, 4)).toEqual([
      'section',
      'section',
      'context',
      'actions',
    ]);
    expect(contexts(allMessages.card)).not.toContain('Entra ID');
  });

  it('renders each search outcome', () => {
    expect(whoisResultMessage({ kind: 'usage' })).toEqual(whoisUsageMessage());
    expect(whoisResultMessage({ kind: 'none', query: 'x', suggestions: [] })).toEqual(whoisNoMatchMessage('x', []));
    const match = whoisResultMessage({ kind: 'match', query: 'adele', best: adele, others: [] }, { photoUrl: PHOTO });
    expect(match).toEqual(whoisCardMessage(adele, { query: 'adele', others: [], photoUrl: PHOTO }));
    const live = whoisResultMessage({ kind: 'match', query: 'adele', best: adele, others: [] }, { freshness: LIVE });
    expect(live).toEqual(whoisCardMessage(adele, { query: 'adele', others: [], freshness: LIVE }));
  });
});
