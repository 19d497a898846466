import { describe, expect, it } from 'vitest';
import type { PersonCard, PersonSummary } from '../../../src/directory/people.ts';
import type { AlertData, RunReport } from '../../../src/services/model.ts';
import { alertMessage, resolvedAlert } from '../../../src/slack/views/alerts.ts';
import { homeView } from '../../../src/slack/views/home.ts';
import { summaryMessage } from '../../../src/slack/views/progress.ts';
import { reauthorizeModal } from '../../../src/slack/views/reauthorize.ts';
import { problemMessage, statusMessage } from '../../../src/slack/views/replies.ts';
import { authorizeStep, groupsModal, previewModal } from '../../../src/slack/views/setup.ts';
import {
  whoisCardMessage,
  whoisNoMatchMessage,
  whoisResultMessage,
  whoisSharedCardMessage,
} from '../../../src/slack/views/whois.ts';
import { run, source, T0 } from '../fixtures.ts';

/**
 * Directory data is data, never markup: a guest picks their own display name, and names, titles,
 * departments, emails and group names come from Entra as typed. Wherever Slack parses markup (mrkdwn
 * objects and a message's top-level `text`, which notifications and some clients show), `&`, `<` and `>`
 * are escaped; plain_text shows them as they are. Each hostile value below would otherwise ping a whole
 * channel, mention someone, or show a link whose label lies.
 */

const HOSTILE = [
  '<!everyone> Eve',
  '<https://evil.example/login|Re-verify your account>',
  '<@U0CEO> asks you to',
  '<!channel>',
  '<#C0SECRET>',
];
/** What must never reach a markup field unescaped (the app's own mentions and dates are fine). */
const ACTIVE = /<!everyone|<https:\/\/evil|<@U0CEO|<!channel|<#C0SECRET/;

const h = (i: number) => HOSTILE[i % HOSTILE.length];

const person = (i: number): PersonSummary => ({
  id: 100 + i,
  displayName: `${h(i)} ${i}`,
  jobTitle: h(i + 1),
  department: h(i + 2),
  email: `${h(i + 3)}@contoso.com`,
});

const card: PersonCard = {
  sourceId: '0b5e0b5e-0000-4000-8000-000000000001',
  ...person(0),
  firstName: h(1),
  lastName: h(2),
  office: h(3),
  businessPhone: h(4),
  mobilePhone: h(0),
  manager: person(1),
  directReports: 3,
};

const hostileGroups = HOSTILE.map((name, i) => ({ id: `00000000-0000-4000-8000-00000000000${i}`, name }));
const failed: RunReport = run({
  status: 'failed',
  errorCode: 'group_missing',
  errorMessage: `The group "${h(0)}" no longer exists in Entra ID.`,
  ignored: [{ reason: h(1), count: 2, examples: [h(2), h(3)] }],
});
const hostileSource = source({
  authorizedBy: { upn: `${h(1)}@contoso.com`, slackUserId: 'U0ADMIN', at: T0 },
  groups: hostileGroups,
  recentRuns: [failed, run({ ignored: [{ reason: h(4), count: 1, examples: [h(0)] }] })],
  held: { runId: 7, removals: 50, activeProfiles: 100, threshold: 0.1, sample: HOSTILE },
});
const alertBase: AlertData = {
  sourceId: hostileSource.id,
  code: 'group_missing',
  message: failed.errorMessage,
  missingGroups: hostileGroups,
  count: 2,
  firstAt: T0,
  lastAt: T0,
};
const heldAlert: AlertData = { ...alertBase, code: 'held', held: hostileSource.held! };
const metadata = { sourceId: hostileSource.id };

const surfaces: [string, unknown][] = [
  ['whois card', whoisCardMessage(card, { query: h(0), others: [person(2), person(3)] })],
  ['whois shared card', whoisSharedCardMessage(card, { sharedBy: 'U0ASKER' })],
  ['whois no match, suggestions', whoisNoMatchMessage(h(1), [person(4), person(5)])],
  ['whois no match', whoisNoMatchMessage(h(2), [])],
  ['whois result', whoisResultMessage({ kind: 'match', query: h(3), best: card, others: [person(6)] })],
  ['sync failed', summaryMessage(failed)],
  ['sync finished with ignored people', summaryMessage(hostileSource.recentRuns[1])],
  ['status', statusMessage(hostileSource)],
  ['home', homeView({ audience: 'admin', source: hostileSource })],
  ['alert group missing', alertMessage(alertBase)],
  ['alert held', alertMessage(heldAlert)],
  ['alert resolved', resolvedAlert(alertMessage(heldAlert), { kind: 'approved', by: 'U0ADMIN', at: T0 }, 50)],
  ['problem', problemMessage(failed.errorMessage!)],
  ['groups modal', groupsModal({ selected: hostileGroups, tenantPeople: 10, signedInAs: h(1), metadata }, 'edit')],
  [
    'preview',
    previewModal({
      report: { ok: true, people: 5, ignored: 2, reasons: failed.ignored },
      groups: hostileGroups,
      hourlySync: true,
      syncEvery: '60 minutes',
      metadata,
    }),
  ],
  [
    'preview error',
    previewModal({
      report: { ok: false, refusal: { code: 'preview_failed', detail: failed.errorMessage } },
      groups: [],
      hourlySync: true,
      syncEvery: '60 minutes',
      metadata,
    }),
  ],
  [
    'reauthorize',
    reauthorizeModal({
      state: 'ready',
      authMode: 'delegated',
      link: null,
      reason: failed.errorMessage!,
      previousUpn: h(1),
      metadata,
    }),
  ],
  ['authorize error', authorizeStep({ state: 'error', authMode: 'delegated', link: null, error: h(0), metadata })],
];

/** Every string Slack parses as markup: top-level `text` and the text of mrkdwn objects. */
function markupTexts(payload: unknown): string[] {
  const found: string[] = [];
  const walk = (node: unknown, topLevel: boolean) => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item, false);
      return;
    }
    if (!node || typeof node !== 'object') return;
    const object = node as Record<string, unknown>;
    if (typeof object.text === 'string' && (topLevel || object.type === 'mrkdwn')) found.push(object.text);
    for (const [key, value] of Object.entries(object))
      if (key !== 'text' || typeof value !== 'string') walk(value, false);
  };
  walk(payload, true);
  return found;
}

describe('hostile directory data in every message and view', () => {
  it.each(surfaces)('%s: escaped wherever Slack reads markup', (_name, payload) => {
    const texts = markupTexts(payload);
    expect(texts.length).toBeGreaterThan(0);
    for (const text of texts) expect(text).not.toMatch(ACTIVE);
  });

  it('still shows the values (escaped, not dropped), and the top-level text of a card names the person', () => {
    const shared = whoisSharedCardMessage(card, { sharedBy: 'U0ASKER' });
    expect(shared.text).toContain('&lt;!everyone&gt; Eve 0');
    expect(JSON.stringify(shared.blocks)).toContain('&lt;!everyone&gt; Eve 0');
    // plain_text is shown literally by Slack: escaping there would show "&lt;".
    const buttons = JSON.stringify(whoisCardMessage(card).blocks);
    expect(buttons).toContain('"text":"Manager: <https://evil.example/login|Re-verify your account> 1"');
  });
});
