import type { ConfidentialClientApplication } from '@azure/msal-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AzureError } from '../../src/azure/errors.ts';
import { createGraphReader, type GraphReader } from '../../src/azure/graph-reader.ts';
import { APPLICATION_SCOPE } from '../../src/azure/permissions.ts';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.ts';
import { failureOf } from '../helpers/failure.ts';

/** The reader's head count (unmodified Graph client over HTTPS) against the emulator's Graph. */

let emu: TestEmulator;
let msal: ConfidentialClientApplication;

beforeAll(async () => {
  emu = await startTestEmulator({ users: 400, groups: 4, seed: 'user-count' });
});
afterAll(async () => {
  await emu?.close();
});
beforeEach(async () => {
  await emu.control('POST', 'reset');
  await emu.control('POST', 'consent', {});
  msal = emu.msal();
});

function reader(): GraphReader {
  return createGraphReader({
    graphBaseUrl: emu.emulator.graphBaseUrl,
    getToken: async ({ forceRefresh = false } = {}) =>
      (await msal.acquireTokenByClientCredential({ scopes: [APPLICATION_SCOPE], skipCache: forceRefresh }))!
        .accessToken,
    retry: { baseDelayMs: 10, maxAttempts: 2 },
  });
}

describe('countUsers', () => {
  it('counts the users with an enabled account, disabled ones left out', async () => {
    const users = [...emu.emulator.tenant.users.values()];
    const enabled = users.filter((u) => u.accountEnabled).length;
    expect(enabled).toBeLessThan(users.length);
    expect(await reader().countUsers()).toBe(enabled);
  });

  it('without User.Read.All it fails as app_misconfigured rather than giving a number', async () => {
    await emu.control('POST', 'consent', { roles: ['GroupMember.Read.All'] });
    msal = emu.msal();
    const failure = await failureOf(reader().countUsers(), AzureError);
    expect(failure.code).toBe('app_misconfigured');
  });
});
