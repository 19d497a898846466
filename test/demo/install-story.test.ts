import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInstallStory } from '../../src/demo/install-story.ts';
import { type DemoStack, startDemoStack } from '../../src/demo/stack.ts';
import { Transcript } from '../../src/demo/transcript.ts';

/** The demo's install story (`aad-sync demo --story install`) on a small tenant: what it shows, and that it is true. */

let stack: DemoStack;
beforeAll(async () => {
  stack = await startDemoStack({ installByOAuth: true, tenant: { users: 20, groups: 3, latencyMs: 0 } });
}, 60_000);
afterAll(() => stack?.stop());

describe('the install story', () => {
  it('installs a workspace and a Grid org by OAuth, keeps them apart, and forgets the uninstalled one', async () => {
    let out = '';
    const sink = new Writable({
      write(chunk, _encoding, done) {
        out += String(chunk);
        done();
      },
    });
    const result = await runInstallStory(stack, new Transcript(sink, { color: false, users: {}, channels: {} }));
    expect(result).toEqual({ installed: 2, left: 1 });
    expect(out).toContain('aad-sync is installed in your workspace');
    expect(out).toContain('aad-sync is installed for your whole organization');
    expect(out).toMatch(/E0GRID: org-wide .* stored as v1\./);
    expect(out).toContain('Only workspace admins can use /aad');
    expect(out).toContain('not set up yet');
    expect(out).not.toMatch(/xoxe|xoxb-/);
    expect(await stack.sql`select id from slack_installations`).toEqual([{ id: 'E0GRID' }]);
  });
});
