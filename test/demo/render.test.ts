import { describe, expect, it } from 'vitest';
import { renderBlocks, renderMessage, renderSurface } from '../../src/demo/render.ts';
import { displayWidth, mrkdwn, wrap } from '../../src/demo/text.ts';
import type { PersonCard } from '../../src/directory/people.ts';
import { blockIds } from '../../src/slack/ids.ts';
import { homeView } from '../../src/slack/views/home.ts';
import { progressMessage, summaryMessage } from '../../src/slack/views/progress.ts';
import { authorizeStep, groupsModal, previewModal, settingsModal } from '../../src/slack/views/setup.ts';
import { whoisCardMessage, whoisNoMatchMessage } from '../../src/slack/views/whois.ts';
import { DEFAULT_MAPPING } from '../../src/sync/mapping.ts';
import { minutes, run, source, T0 } from '../slack/fixtures.ts';

const plain = {
  color: false,
  users: { U0ADMIN: 'alex.admin' },
  channels: { C0ADMINS: 'aad-admins' },
  timeZone: 'UTC',
  now: T0,
};
const ESC = '\u001b[';

const adele: PersonCard = {
  sourceId: '0b5e0b5e-0000-4000-8000-000000000001',
  id: 7,
  displayName: 'Adele Vance',
  firstName: 'Adele',
  lastName: 'Vance',
  jobTitle: 'Retail Manager',
  department: 'Retail',
  email: 'adele.vance@contoso.com',
  businessPhone: '+1 425 555 0109',
  mobilePhone: '+1 206 555 0144',
  office: 'Seattle',
  manager: { id: 3, displayName: 'Megan Bowen', jobTitle: 'Marketing Manager', email: 'megan.bowen@contoso.com' },
  directReports: 2,
  slackUserId: 'U0ADMIN',
};

describe('mrkdwn as terminal text', () => {
  it('reads links, mentions, channels, dates, emoji and entities as Slack shows them', () => {
    const text =
      ':white_check_mark: *Done* by <@U0ADMIN> in <#C0ADMINS>, <https://example.com/a|the docs>, ' +
      '<https://example.com/b>, <!date^1788253200^{time}|1 Sept 2026, 09:00 UTC>, <@U0OTHER|sam>, a &lt;b&gt; &amp; c';
    expect(mrkdwn(text, plain)).toBe(
      '✅ Done by @alex.admin in #aad-admins, the docs (https://example.com/a), https://example.com/b, ' +
        '09:00, @sam, a <b> & c',
    );
  });

  it('keeps code spans verbatim and leaves unknown emoji and lone asterisks alone', () => {
    expect(mrkdwn('Run `/aad *setup*` :unknown_thing: 2 * 3', plain)).toBe('Run `/aad *setup*` :unknown_thing: 2 * 3');
  });

  it('styles bold and code only when colour is on', () => {
    const styled = mrkdwn('*Bold* and `code`', { color: true });
    expect(styled).toContain(`${ESC}1mBold${ESC}0m`);
    expect(styled).toContain(`${ESC}36mcode${ESC}0m`);
    expect(mrkdwn('*Bold* and `code`', plain)).toBe('Bold and `code`');
  });

  it("renders dates with Slack's tokens in the reader's time zone, and the fallback when malformed", () => {
    const at = Math.floor(T0.getTime() / 1000);
    const date = (format: string) => mrkdwn(`<!date^${at}^${format}|fallback>`, plain);
    expect(date('{date_short_pretty} at {time}')).toBe('today at 09:00');
    expect(date('{date_short}')).toBe('Sep 1, 2026');
    expect(date('{date_num} {time_secs}')).toBe('2026-09-01 09:00:00');
    expect(mrkdwn(`<!date^${at}^{date_pretty}|fallback>`, { ...plain, now: new Date(T0.getTime() + 86_400_000) })).toBe(
      'yesterday',
    );
    expect(mrkdwn(`<!date^${at}^{time}|fallback>`, { ...plain, timeZone: 'Asia/Tokyo' })).toBe('18:00');
    expect(mrkdwn('<!date^soon^{time}|the fallback>', plain)).toBe('the fallback');
    const ago = (seconds: number) =>
      mrkdwn(`<!date^${at}^{ago}|fallback>`, { ...plain, now: new Date(T0.getTime() + seconds * 1000) });
    expect([ago(12), ago(1), ago(185), ago(7300), ago(3 * 86_400), ago(-120)]).toEqual([
      '12 seconds ago',
      '1 second ago',
      '3 minutes ago',
      '2 hours ago',
      '3 days ago',
      'in 2 minutes',
    ]);
  });

  it('drops control and format characters that could repaint the terminal, in mrkdwn and plain text', () => {
    const hostile = 'Eve\u001b[2J\u202eecnaV\u0007';
    expect(mrkdwn(`*${hostile}*`, plain)).toBe('Eve[2JecnaV');
    const button = { type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: hostile } }] };
    expect(renderBlocks([button], plain)).toEqual(['[ Eve[2JecnaV ]']);
    expect(mrkdwn('👩\u200d💻 ok\nnext', plain)).toBe('👩\u200d💻 ok\nnext');
  });

  it('turns quotes into a bar', () => {
    expect(mrkdwn('Failed\n>the reason', plain)).toBe('Failed\n▏ the reason');
  });
});

describe('wrapping', () => {
  it('breaks at spaces within the width and keeps a long word whole', () => {
    const lines = wrap('one two three four five six seven eight nine ten', 14);
    expect(lines).toEqual(['one two three', 'four five six', 'seven eight', 'nine ten']);
    expect(wrap('https://example.com/a/very/long/path ok', 10)).toEqual(['https://example.com/a/very/long/path', 'ok']);
  });

  it('counts emoji as two columns and colour codes as none', () => {
    expect(displayWidth('✅ ok')).toBe(5);
    expect(displayWidth(`${ESC}1mab${ESC}0m`)).toBe(2);
    expect(displayWidth('⚠️')).toBe(1);
  });

  it('closes a style at each line end and reopens it on the next', () => {
    const lines = wrap(`${ESC}2mone two three${ESC}0m`, 8);
    expect(lines).toEqual([`${ESC}2mone two${ESC}0m`, `${ESC}2mthree${ESC}0m`]);
  });
});

describe('Block Kit as text', () => {
  it('renders a /whois card: heading, fields in two columns, photo, buttons', () => {
    const card = whoisCardMessage(adele, {
      query: 'adele',
      others: [{ id: 9, displayName: 'Adele Varga', jobTitle: 'Nurse', email: 'adele.varga@contoso.com' }],
      photoUrl: 'https://aad-sync.example.com/photos/x',
    });
    const text = renderMessage(card, plain);
    const lines = text.split('\n');
    expect(lines[0]).toBe('┃ Adele Vance');
    expect(lines[1]).toBe('┃ Retail Manager · Retail');
    expect(text).toContain('[photo: Photo of Adele Vance]');
    const labels = lines.find((l) => l.includes('Email'))!;
    expect(labels).toMatch(/^┃ Email {3,}Phone$/);
    expect(lines[lines.indexOf(labels) + 1]).toMatch(/^┃ adele\.vance@contoso\.com {3,}\+1 425 555 0109$/);
    expect(text).toContain('Manager');
    expect(text).toContain('Megan Bowen, Marketing Manager');
    expect(text).toContain('@alex.admin');
    expect(text).toContain('[ Manager: Megan Bowen ] [ Share in channel ]');
    expect(text).toContain('Other matches for “adele”:');
    expect(text).toContain('[ Adele Varga — Nurse ]');
    expect(text).not.toContain('*');
  });

  it('renders a no-match reply with its suggestions', () => {
    const reply = whoisNoMatchMessage('adle vanse', [adele]);
    expect(renderMessage(reply, plain)).toBe(
      '┃ No one in the directory matches “adle vanse”. Did you mean:\n┃\n┃ [ Adele Vance — Retail Manager ]',
    );
  });

  it('falls back to the text of a message without blocks', () => {
    expect(renderMessage({ text: '*Hi* <@U0ADMIN>' }, plain)).toBe('┃ Hi @alex.admin');
  });

  it('renders the sign-in step with its link button and dimmed context', () => {
    const view = authorizeStep({
      state: 'ready',
      authMode: 'delegated',
      link: { url: 'https://aad-sync.example.com/azure/authorize/r1', expiresAt: minutes(10) },
      metadata: {},
    });
    const text = renderSurface(view, plain);
    expect(text.split('\n')[0]).toBe('╭─ Set up aad-sync ');
    expect(text).toContain('│ Step 1 of 3 · Authorize');
    expect(text).toContain('[ Sign in with Microsoft ↗ ]');
    expect(text).toContain('🔒 This link is only for you and works once, until 09:10. Your');
    expect(text).toMatch(/│ \[ Cancel \]\n╰─+$/);
    const coloured = renderSurface(view, { ...plain, color: true });
    expect(coloured).toContain(`${ESC}2m🔒 This link`);
  });

  it('renders the groups step with chosen groups as chips, and an empty one with its placeholder', () => {
    const groups = [
      { id: 'g1', name: 'Engineering' },
      { id: 'g2', name: 'Sales' },
    ];
    const meta = { selected: groups, tenantPeople: 2000, signedInAs: 'admin@contoso.com' };
    const chosen = renderSurface(groupsModal({ ...meta, metadata: {} }, 'setup'), plain);
    expect(chosen).toContain('│ Groups to import (optional): ‹Engineering› ‹Sales›');
    expect(chosen).toContain('Leave empty to import everyone (2,000 people).');
    expect(chosen).toMatch(/\[ Cancel \] \[ Next \]/);
    const empty = renderSurface(groupsModal({ ...meta, selected: [], metadata: {} }, 'setup'), plain);
    expect(empty).toContain('Groups to import (optional): (Type a group name)');
  });

  it('renders form values from the view state, and an error under its input instead of the hint', () => {
    const view = settingsModal(
      {
        mapping: DEFAULT_MAPPING,
        adminChannel: null,
        photoSync: false,
        hourlySync: true,
        syncEvery: '60 minutes',
        metadata: {},
      },
      'setup',
    );
    const untouched = renderSurface(view, plain);
    expect(untouched).toContain(
      '│ Unique Identifier (required): Object ID (id) ▾\n│ People without a value here are skipped.\n│ First name (required): Given name ▾\n│ Last name',
    );
    expect(untouched).toContain('│ Admin channel: (Choose a channel)');
    expect(untouched).toContain('☐ Import profile photos   ☑ Sync every 60 minutes');

    const values = {
      [blockIds.mapping('externalId')]: {
        x: {
          type: 'static_select',
          selected_option: { text: { type: 'plain_text', text: 'Display name' }, value: 'displayName' },
        },
      },
      [blockIds.adminChannel]: { y: { type: 'conversations_select', selected_conversation: 'C0ADMINS' } },
    };
    const withState = {
      ...view,
      blocks: view.blocks.map((b) => {
        const block = b as { block_id?: string; element?: { action_id: string } };
        const key = block.block_id && values[block.block_id] ? Object.keys(values[block.block_id])[0] : null;
        return key ? { ...b, element: { ...block.element, action_id: key } } : b;
      }),
      state: { values },
    };
    const error = 'Display name is not unique per person: choose Object ID or User principal name.';
    const filled = renderSurface(withState, plain, { errors: { [blockIds.mapping('externalId')]: error } });
    expect(filled).toContain('│ Unique Identifier (required): Display name ▾\n│ ⚠ Display name is not unique');
    expect(filled).toContain('│ Admin channel: #aad-admins ▾');
  });

  it('renders the preview with its counts and reasons', () => {
    const view = previewModal({
      report: { ok: true, people: 1995, ignored: 5, reasons: run().ignored },
      groups: [{ id: 'g1', name: 'Engineering' }],
      hourlySync: true,
      syncEvery: '60 minutes',
      metadata: {},
    });
    const text = renderSurface(view, { ...plain, width: 120 });
    expect(text).toMatch(/Will be imported {3,}Skipped/);
    expect(text).toMatch(/1,995 people {3,}5 people/);
    expect(text).toContain(
      '• missing Email (mail): 4 people, e.g. `svc-backup@contoso.onmicrosoft.com` and `room-1@contoso.com`',
    );
    expect(text).toMatch(/\[ Cancel \] \[ Enable \]/);
  });

  it('renders progress and the summary of a sync', () => {
    const progress = progressMessage({
      runId: 1,
      mode: 'full',
      trigger: 'setup',
      requestedBy: 'U0ADMIN',
      startedAt: minutes(0),
      phase: 'reading',
      read: 500,
      written: 0,
      total: 2000,
      photos: 0,
    });
    const text = renderMessage(progress, plain);
    expect(text).toContain('🔄 Syncing from Entra ID (full sync)');
    expect(text).toContain('▰▰▰▱▱▱▱▱▱▱ 25%  500 of 2,000 people read · 0 written');
    expect(text).toContain('Started by @alex.admin 09:00');
    const summary = renderMessage(summaryMessage(run()), plain);
    expect(summary).toMatch(/Read {3,}Added\n┃ 2,000 {3,}12/);
    expect(summary).toContain('Why people were skipped');
  });

  it('renders the Home tab with a header and its buttons, and skips nothing silently', () => {
    const text = renderSurface(homeView({ audience: 'admin', source: source() }), plain);
    expect(text.split('\n')[0]).toBe('╭─ App Home ');
    expect(text).toContain('│ AAD-SYNC');
    expect(text).toContain('[ Sync now ] [ Disable ] [ Edit groups ]');
    expect(renderBlocks([{ type: 'video', title: 'x' }], plain)).toEqual(['[video]']);
  });
});
