import { existsSync } from 'node:fs';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runDemoScript } from '../../src/demo/script.ts';
import { startDemoStack } from '../../src/demo/stack.ts';
import { Transcript } from '../../src/demo/transcript.ts';

/** When Microsoft cannot be reached the demo stops at that step with the reason, and stops everything. */
describe('the demo when a part is down', () => {
  it('fails at the sign-in with a clear reason, and its stop leaves nothing behind', async () => {
    const lines: string[] = [];
    const out = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    let folder = '';
    const stack = await startDemoStack({
      progress: (what) => {
        folder = /in (\S+),/.exec(what)![1];
      },
    });
    try {
      await stack.entra.close();
      await expect(runDemoScript(stack, new Transcript(out, { color: false }))).rejects.toThrow(
        /^the sign-in ended on a 502 page: Sign-in not completed — could not read the sign-in service's configuration/,
      );
      const transcript = lines.join('');
      expect(transcript).toContain('▶ @alex.admin in #aad-admins: /aad setup');
      expect(transcript).toMatch(
        /▶ @alex\.admin clicks “Sign in with Microsoft”; the browser goes:\n {2}GET http\S+: 200\n {2}POST http\S+: 502\n/,
      );
      expect(transcript).not.toContain('━━ 3.');
    } finally {
      await stack.stop();
    }
    expect(folder).toMatch(/aad-sync-demo-/);
    expect(existsSync(folder)).toBe(false);
    await expect(fetch(`${stack.server.url}/healthz`)).rejects.toThrow();
  }, 60_000);
});
