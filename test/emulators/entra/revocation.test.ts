import { ConfidentialClientApplication } from '@azure/msal-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { graphError, startTestEmulator, type TestEmulator } from '../../helpers/emulator.ts';

/**
 * Revocation as Entra does it, through the unmodified MSAL and Graph client: refresh tokens and consent
 * die at once, access tokens live until they expire — unless the client declared continuous access
 * evaluation (`clientCapabilities: ['cp1']`), which gets a 401 with a claims challenge instead.
 */

let t: TestEmulator;
const appScopes = ['https://graph.microsoft.com/.default'];

beforeAll(async () => {
  t = await startTestEmulator({ users: 30, groups: 4, seed: 'revocation' });
});
afterAll(async () => {
  await t?.close();
});
beforeEach(async () => {
  await t.control('POST', 'reset');
  await t.control('POST', 'consent', {});
});

function client(capabilities: string[] = []): ConfidentialClientApplication {
  return new ConfidentialClientApplication({
    auth: {
      clientId: t.emulator.clientId,
      clientSecret: t.emulator.clientSecret,
      authority: t.authority,
      knownAuthorities: t.knownAuthorities,
      clientCapabilities: capabilities,
    },
  });
}

async function token(cca: ConfidentialClientApplication): Promise<string> {
  return (await cca.acquireTokenByClientCredential({ scopes: appScopes }))!.accessToken;
}

function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());
}

describe('revoke without continuous access evaluation', () => {
  it('kills consent at once; the access token already issued works until it expires', async () => {
    const cca = client();
    const issued = await token(cca);
    expect(claimsOf(issued).xms_cc).toBeUndefined();
    await t.control('POST', 'revoke');

    const graph = t.graph(async () => issued);
    expect((await graph.api('/users').top(1).get()).value).toHaveLength(1);
    const refused = await client()
      .acquireTokenByClientCredential({ scopes: appScopes })
      .catch((e: unknown) => e as Record<string, unknown>);
    expect(refused).toMatchObject({ errorCode: 'unauthorized_client', errorNo: 700016 });

    await t.control('POST', 'clock', { advanceSeconds: 3600 });
    const expired = await graphError(graph.api('/users').top(1).get());
    expect(expired.statusCode).toBe(401);
    expect(expired.code).toBe('InvalidAuthenticationToken');
  });

  it('the explicit immediate revoke kills every access token at once', async () => {
    const graph = t.graph(async () => issued);
    const issued = await token(client());
    await t.control('POST', 'revoke', { immediate: true });
    const killed = await graphError(graph.api('/users').top(1).get());
    expect(killed.statusCode).toBe(401);
    expect((await t.control('POST', 'revoke', { immediate: 'yes' })).status).toBe(400);
  });
});

describe('revoke with continuous access evaluation (cp1)', () => {
  it('answers the CAE client 401 with an insufficient_claims challenge right after the revoke', async () => {
    const issued = await token(client(['cp1']));
    expect(claimsOf(issued).xms_cc).toEqual(['cp1']);
    const before = await fetch(`${t.emulator.graphBaseUrl}/v1.0/users?$top=1`, {
      headers: { authorization: `Bearer ${issued}` },
    });
    expect(before.status).toBe(200);

    await t.control('POST', 'revoke');
    const after = await fetch(`${t.emulator.graphBaseUrl}/v1.0/users?$top=1`, {
      headers: { authorization: `Bearer ${issued}` },
    });
    expect(after.status).toBe(401);
    const challenge = after.headers.get('www-authenticate') ?? '';
    expect(challenge).toMatch(/^Bearer realm="", authorization_uri="[^"]+", .*error="insufficient_claims", claims="/);
    const claims = JSON.parse(Buffer.from(/claims="([^"]+)"/.exec(challenge)![1], 'base64').toString());
    expect(claims).toMatchObject({ access_token: { nbf: { essential: true } } });
    expect(((await after.json()) as { error: { message: string } }).error.message).toMatch(/TokensRevoked/);
  });
});
