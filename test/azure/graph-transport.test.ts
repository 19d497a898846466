import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AzureError } from '../../src/azure/errors.ts';
import { createGraphTransport } from '../../src/azure/graph-transport.ts';
import { APPLICATION_SCOPE } from '../../src/azure/permissions.ts';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.ts';
import { failureOf } from '../helpers/failure.ts';

/**
 * How long the transport waits between attempts, against the emulator's Graph: Retry-After when Graph
 * gives one, exponential backoff when a 429 or 503 comes without it (Graph's throttling guidance allows
 * both). The waits are recorded instead of slept; the policy's numbers are the production defaults.
 */

let emu: TestEmulator;

beforeAll(async () => {
  emu = await startTestEmulator({ users: 20, groups: 2, seed: 'graph-transport' });
});
afterAll(async () => {
  await emu?.close();
});
beforeEach(async () => {
  await emu.control('POST', 'reset');
  await emu.control('POST', 'consent', {});
});

function transport(waits: number[]) {
  const msal = emu.msal();
  return createGraphTransport({
    graphBaseUrl: emu.emulator.graphBaseUrl,
    getToken: async () => (await msal.acquireTokenByClientCredential({ scopes: [APPLICATION_SCOPE] }))!.accessToken,
    retry: { maxAttempts: 5 },
    sleep: async (ms) => {
      waits.push(ms);
    },
    // The top of each jitter range, so the waits are exact.
    random: () => 1,
  });
}

const read = { method: 'GET', url: '/users?$top=1', purpose: 'reading users' } as const;

describe('waiting between attempts', () => {
  it('backs off exponentially (1, 2, 4, 8 s) when 429s and 503s come without Retry-After', async () => {
    await emu.control('POST', 'faults', { throttleEvery: 2, failEvery: 1, status: 503, bareEvery: 1 });
    const waits: number[] = [];
    const failure = await failureOf(transport(waits).send(read), AzureError);
    expect(failure.code).toBe('graph_unavailable');
    expect(waits).toEqual([1_000, 2_000, 4_000, 8_000]);
  });

  it('waits what Retry-After says when Graph gives it, and backs off when it does not', async () => {
    await emu.control('POST', 'faults', { throttleEvery: 1, retryAfterSeconds: 3, bareEvery: 2 });
    const waits: number[] = [];
    await failureOf(transport(waits).send(read), AzureError);
    // Attempts 1 and 3 carry Retry-After: 3; attempts 2 and 4 do not (backoff after the 2nd and 4th attempt).
    expect(waits).toEqual([3_000, 2_000, 3_000, 8_000]);
  });
});
