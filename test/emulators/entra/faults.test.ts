import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { graphError, startTestEmulator, type TestEmulator } from '../../helpers/emulator.ts';

/**
 * Injected trouble the way Graph and Entra cause it: faults only behind a valid token, 429/503 answers
 * that sometimes lack Retry-After, `$batch` answers in any order, and consent that takes a few seconds to
 * reach the token endpoint. Driven through the unmodified MSAL and Graph client.
 */

let t: TestEmulator;
const appScopes = ['https://graph.microsoft.com/.default'];

beforeAll(async () => {
  t = await startTestEmulator({ users: 40, groups: 4, seed: 'emulator-faults' });
});
afterAll(async () => {
  await t?.close();
});
beforeEach(async () => {
  await t.control('POST', 'reset');
});

async function appToken(): Promise<string> {
  return (await t.msal().acquireTokenByClientCredential({ scopes: appScopes }))!.accessToken;
}

async function get(path: string, token: string): Promise<Response> {
  return fetch(`${t.emulator.graphBaseUrl}/v1.0${path}`, { headers: { authorization: `Bearer ${token}` } });
}

describe('Graph faults', () => {
  it('come after the token check: a bad token is 401 even while everything is throttled', async () => {
    await t.control('POST', 'consent', {});
    const token = await appToken();
    await t.control('POST', 'faults', { throttleEvery: 1 });
    expect((await get('/users?$top=1', 'not-a-token')).status).toBe(401);
    expect((await get('/users?$top=1', token)).status).toBe(429);
  });

  it('leave Retry-After out of every N-th 429 or 503 when told to', async () => {
    await t.control('POST', 'consent', {});
    const token = await appToken();
    await t.control('POST', 'faults', { throttleEvery: 2, failEvery: 3, status: 503, bareEvery: 2 });
    const answers: [number, string | null][] = [];
    for (let i = 0; i < 6; i++) {
      const response = await get('/users?$top=1', token);
      answers.push([response.status, response.headers.get('retry-after')]);
    }
    // Requests 2, 3, 4 and 6 are in trouble (every 2nd throttled, every 3rd failing); every 2nd trouble is bare.
    expect(answers).toEqual([
      [200, null],
      [429, '1'],
      [503, null],
      [429, '1'],
      [200, null],
      [429, null],
    ]);
  });

  it('answer $batch items in no particular order, matched by id', async () => {
    const graph = await t.appGraph();
    const ids = [...t.emulator.tenant.users.keys()].slice(0, 20);
    const requests = ids.map((id, i) => ({ id: String(i + 1), method: 'GET', url: `/users/${id}?$select=id` }));
    const orders = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const { responses } = (await graph.api('/$batch').post({ requests })) as {
        responses: { id: string; body: { id: string } }[];
      };
      for (const item of responses) expect(item.body.id).toBe(ids[Number(item.id) - 1]);
      orders.add(responses.map((r) => r.id).join(','));
    }
    expect(orders.has(requests.map((r) => r.id).join(','))).toBe(false);
  });
});

describe('consent propagation', () => {
  it('refuses client credentials with AADSTS700016 for consentDelaySeconds after a consent', async () => {
    await t.control('POST', 'faults', { consentDelaySeconds: 5 });
    await t.control('POST', 'consent', {});
    const early = await t
      .msal()
      .acquireTokenByClientCredential({ scopes: appScopes })
      .catch((e: unknown) => e as Record<string, unknown>);
    expect(early).toMatchObject({ errorCode: 'unauthorized_client', errorNo: 700016 });
    await t.control('POST', 'clock', { advanceSeconds: 5 });
    expect(await appToken()).toMatch(/^ey/);
    const graph = t.graph(appToken);
    expect((await graph.api('/users').top(1).get()).value).toHaveLength(1);
    expect(
      (
        await graphError(
          t
            .graph(async () => 'x')
            .api('/users')
            .get(),
        )
      ).statusCode,
    ).toBe(401);
  });
});
