import { describe, expect, it } from 'vitest';
import type { EntraEmulator } from '../../src/emulators/entra/index.ts';
import { runCli } from '../helpers/cli.ts';

/** `aad-sync emulator` as a user runs it: the real binary in a child process. */

type Announcement = Pick<
  EntraEmulator,
  'authorityHost' | 'graphBaseUrl' | 'tenantId' | 'clientId' | 'clientSecret' | 'caCertPath' | 'adminUpn'
> & { tenants?: { company: string; tenantId: string; adminUpn: string; control: string }[] };

describe('aad-sync emulator', () => {
  it('prints its settings as JSON on the first line, serves until SIGTERM, then exits 0', async () => {
    const stop = new AbortController();
    let announce: (value: Announcement) => void = () => {};
    const announced = new Promise<Announcement>((resolve) => {
      announce = resolve;
    });
    const run = runCli(['emulator', '--port', '0', '--users', '50', '--groups', '5', '--seed', 'cli'], {
      signal: stop.signal,
      timeoutMs: 60_000,
      onStdout: (text) => {
        if (text.includes('\n')) announce(JSON.parse(text.split('\n')[0]) as Announcement);
      },
    });
    const settings = await Promise.race([
      announced,
      run.then((r) => Promise.reject(new Error(`exited early: ${r.stderr}`))),
    ]);
    try {
      expect(settings.authorityHost).toMatch(/^https:\/\/localhost:\d+$/);
      expect(settings.graphBaseUrl).toBe(settings.authorityHost);
      expect(settings.caCertPath).toBe(process.env.NODE_EXTRA_CA_CERTS);
      expect(settings.clientSecret.length).toBeGreaterThanOrEqual(40);

      const discovery = await fetch(
        `${settings.authorityHost}/${settings.tenantId}/v2.0/.well-known/openid-configuration`,
      );
      expect(((await discovery.json()) as { issuer: string }).issuer).toBe(
        `${settings.authorityHost}/${settings.tenantId}/v2.0`,
      );
      const state = (await (await fetch(`${settings.graphBaseUrl}/_emulator/state`)).json()) as {
        users: number;
        groups: number;
      };
      expect(state).toMatchObject({ users: 50, groups: 5 });
    } finally {
      stop.abort();
    }
    const result = await run;
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain(`NODE_EXTRA_CA_CERTS=${settings.caCertPath}`);
    expect(result.stderr).not.toContain(settings.clientSecret);
  });

  it('the same seed gives the same tenant and app registration', async () => {
    const first = await announceOnce(['--seed', 'same']);
    const second = await announceOnce(['--seed', 'same']);
    expect(second).toMatchObject({ tenantId: first.tenantId, clientId: first.clientId, adminUpn: first.adminUpn });
    const other = await announceOnce(['--seed', 'other']);
    expect(other.tenantId).not.toBe(first.tenantId);
  });

  it('serves another tenant beside Contoso with --tenant, with its own people and admin', async () => {
    const first = await announceOnce(['--seed', 'same', '--tenant', 'Fabrikam']);
    expect(first.tenants).toEqual([
      {
        company: 'Fabrikam',
        tenantId: expect.not.stringMatching(first.tenantId),
        adminUpn: expect.stringMatching(/@fabrikam\.com$/),
        control: `${first.graphBaseUrl}/_emulator/tenants/${first.tenants?.[0].tenantId}/`,
      },
    ]);
    const twice = await runCli(['emulator', '--port', '0', '--tenant', 'Contoso']);
    expect([twice.code, twice.stderr]).toEqual([2, expect.stringContaining('company name of its own')]);
    const bad = await runCli(['emulator', '--tenant', '../etc']);
    expect([bad.code, bad.stderr]).toEqual([2, expect.stringContaining('--tenant must be a company name')]);
  });

  it('rejects bad flags with a usage error (exit 2)', async () => {
    const result = await runCli(['emulator', '--users', 'many']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--users must be a whole number');
    const unknown = await runCli(['emulator', '--colour', 'blue']);
    expect(unknown.code).toBe(2);
    const badUri = await runCli(['emulator', '--redirect-uri', 'not a url']);
    expect(badUri.code).toBe(2);
  });

  it('rejects a latency per object outside 0–1000 ms', async () => {
    const slow = await runCli(['emulator', '--latency-per-item-ms', '5000']);
    expect(slow.code).toBe(2);
    expect(slow.stderr).toContain('--latency-per-item-ms must be a whole number from 0 to 1000');
  });
});

async function announceOnce(extra: string[]): Promise<Announcement> {
  const stop = new AbortController();
  let line = '';
  await runCli(['emulator', '--port', '0', '--users', '20', '--groups', '3', ...extra], {
    signal: stop.signal,
    onStdout: (text) => {
      if (text.includes('\n') && !line) {
        line = text.split('\n')[0];
        stop.abort();
      }
    },
  });
  return JSON.parse(line) as Announcement;
}
