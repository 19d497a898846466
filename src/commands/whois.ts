import { loadConfig } from '../config.ts';
import { openDatabase } from '../db/open.ts';
import type { PersonCard, PersonSummary } from '../directory/people.ts';
import { type SearchResult, searchPeople } from '../directory/search.ts';
import { type CommandContext, parseCommandArgs, UsageError } from './args.ts';

/** `aad-sync whois <text>`: the /whois search over every source, printed for a terminal. Exit 1 when nobody matches. */
export async function run(ctx: CommandContext): Promise<number> {
  const { positionals } = parseCommandArgs(ctx.args, {}, true);
  const text = positionals.join(' ');
  if (!text.trim()) throw new UsageError('say whom to look for, e.g. aad-sync whois adele');
  const config = loadConfig();
  const database = await openDatabase({ databaseUrl: config.databaseUrl });
  try {
    const result = await searchPeople(database.sql, { scope: 'all', text });
    ctx.stdout.write(formatResult(result));
    return result.kind === 'match' ? 0 : 1;
  } finally {
    await database.close();
  }
}

/** Directory values come from Entra ID: control characters would let a name repaint the operator's terminal. */
const safe = (text: string) => text.replace(/[\p{Cc}\p{Cf}]/gu, '');

function summaryLine(person: PersonSummary): string {
  const what = [person.jobTitle, person.department].filter(Boolean).join(', ');
  return safe(`${person.displayName}${what ? ` (${what})` : ''} <${person.email}>`);
}

function cardLines(card: PersonCard): string[] {
  const rows: [string, string | undefined][] = [
    ['Title', card.jobTitle],
    ['Department', card.department],
    ['Email', card.email],
    ['Phone', card.businessPhone],
    ['Mobile', card.mobilePhone],
    ['Office', card.office],
    ['Manager', card.manager && summaryLine(card.manager)],
    ['Reports', card.directReports > 0 ? String(card.directReports) : undefined],
    ['Slack', card.slackUserId],
  ];
  return [
    safe(card.displayName),
    ...rows.flatMap(([label, value]) => (value ? [`  ${label.padEnd(11)}${safe(value)}`] : [])),
  ];
}

export function formatResult(result: SearchResult): string {
  if (result.kind === 'usage') return 'Say whom to look for: a name, an email address or a job title.\n';
  const lines: string[] = [];
  if (result.kind === 'none') {
    lines.push(`No one in the directory matches "${safe(result.query)}".`);
    if (result.suggestions.length > 0)
      lines.push('Did you mean:', ...result.suggestions.map((s) => `  ${summaryLine(s)}`));
  } else {
    lines.push(...cardLines(result.best));
    if (result.others.length > 0) lines.push('', 'Other matches:', ...result.others.map((o) => `  ${summaryLine(o)}`));
  }
  return `${lines.join('\n')}\n`;
}
