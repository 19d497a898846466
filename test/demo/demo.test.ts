import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';

/**
 * `npm run demo` as a newcomer runs it: the real binary, a fresh process without the emulator's
 * certificate in its environment (the demo arranges that itself), the whole product end to end.
 */

const count = (text: string, part: string) => text.split(part).length - 1;

describe('aad-sync demo', () => {
  it('shows the whole product and exits 0, leaving nothing running', async () => {
    const result = await runCli(['demo'], { timeoutMs: 100_000 });
    const out = result.stdout;
    expect(result.code, `${out}\n${result.stderr}`).toBe(0);
    expect(result.stderr).toBe('');

    // The wizard: sign-in, groups, a refused mapping, the preview with who is skipped and why.
    expect(out).toContain('The page: Signed in');
    expect(out).toMatch(/Groups to import \(optional\): ‹Engineering› ‹Sales›/);
    expect(out).toContain('⚠ displayName is not unique per person');
    const preview = /Will be imported +Skipped\n.*┃?│? (\d[\d,]*) people +(\d[\d,]*) people/.exec(out);
    expect(preview).not.toBeNull();
    expect(out).toMatch(/Why people are skipped\n\s+│ • missing [A-Za-z ]+ \(\w+\): \d+ people, e\.g\./);

    // Syncs with live progress in the admin channel, and their summaries.
    expect(out).toMatch(/↻ .*people read/);
    // The first sync (after Enable), Sync now from Home, and /aad sync: each one message, ending as a summary
    // that says how long the run took (never the "0.0 s" of a run timed inside its own transaction).
    expect(count(out, '✅ Sync finished in')).toBe(3);
    expect(out).not.toContain('Sync finished in 0.0 s');
    expect(out).toMatch(/Why people were skipped\n\s+┃ • (missing|account disabled)/);
    expect(out).toMatch(/Read +Added\n\s+┃ 8 +3\n/);

    // Near-real-time: a title changed in Entra reaches the directory with no sync started by anyone, and the
    // employee's card says it is live.
    expect(out).toMatch(/[\d.]+ s later the directory has it: Microsoft Graph sent a change notification/);
    expect(out).toMatch(/Noor Haddad\n.*Staff Software Engineer/);
    expect(out).toMatch(/⚡ Live from Microsoft Entra ID, updated \d+ seconds? ago/);

    // Four /whois answers, each a card.
    expect(count(out, '(not an admin): /whois')).toBe(4);
    expect(count(out, '[ Share in channel ]')).toBe(4);
    expect(out).toContain('(a name with a typo)');

    const done = /✔ Demo finished in [\d.]+ s: ([\d,]+) people in the directory, ([\d,]+) skipped/.exec(out);
    expect(done).not.toBeNull();
    const [synced, skipped] = [done![1], done![2]].map((n) => Number(n.replace(/,/g, '')));
    expect(synced).toBeGreaterThan(Number(preview![1].replace(/,/g, '')));
    expect(skipped).toBeGreaterThan(0);
    expect(out).toContain(`People in the directory`);
    expect(out).toContain(`${done![1]} people`);

    // Plain text when not on a terminal, and no query strings (codes, state) in the transcript.
    expect(out).not.toContain('\u001b[');
    expect(out).not.toMatch(/code=|state=|code_challenge/);

    // Its database folder is gone and no process still uses it.
    const folder = /PostgreSQL \(embedded, in (\S+), deleted at the end\)/.exec(out)![1];
    expect(existsSync(folder)).toBe(false);
    expect(execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })).not.toContain(folder);
  }, 120_000);
});
