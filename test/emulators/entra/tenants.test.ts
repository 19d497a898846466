import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEmulator, type TestEmulator } from '../../helpers/emulator.ts';

/**
 * One emulator, two tenants (Contoso and Fabrikam) behind one multi-tenant app registration, as behind
 * login.microsoftonline.com and graph.microsoft.com: each tenant has its own directory; an access token reads
 * only the tenant that issued it (Graph goes by its `tid`); a code or refresh token is redeemed only at its own
 * tenant (AADSTS700005 elsewhere); `organizations` signs in the browser's account, in whichever tenant it is.
 */

const REDIRECT_URI = 'http://localhost:3000/azure/callback';
const GRAPH_DEFAULT = 'https://graph.microsoft.com/.default';

let t: TestEmulator;
let contoso: string;
let fabrikam: string;

beforeAll(async () => {
  t = await startTestEmulator({
    users: 40,
    groups: 6,
    seed: 'tenants-a',
    tenants: [{ company: 'Fabrikam', seed: 'tenants-b', users: 30, groups: 5 }],
  });
  [contoso, fabrikam] = t.emulator.tenants.map((x) => x.tenantId);
  for (const prefix of ['', `tenants/${fabrikam}/`])
    expect((await t.control('POST', `${prefix}consent`)).status).toBe(200);
});
afterAll(() => t?.close());

async function appToken(tenant: string): Promise<string> {
  const result = await t.msal({ authority: `${t.emulator.authorityHost}/${tenant}` }).acquireTokenByClientCredential({
    scopes: [GRAPH_DEFAULT],
  });
  return result!.accessToken;
}

async function graph(token: string, pathOrUrl: string) {
  const url = pathOrUrl.startsWith('https://') ? pathOrUrl : `${t.emulator.graphBaseUrl}/v1.0/${pathOrUrl}`;
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function tokenRequest(tenant: string, fields: Record<string, string>) {
  const response = await fetch(`${t.emulator.authorityHost}/${tenant}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      client_id: t.emulator.clientId,
      client_secret: t.emulator.clientSecret,
      ...fields,
    }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, string> };
}

/** The browser's sign-in at `/{tenant}/oauth2/v2.0/authorize`: the code the app gets back. */
async function signInCode(tenant: string): Promise<string> {
  const query = new URLSearchParams({
    client_id: t.emulator.clientId,
    response_type: 'code',
    redirect_uri: REDIRECT_URI,
    scope: 'openid offline_access https://graph.microsoft.com/User.Read.All',
  });
  const response = await fetch(`${t.emulator.authorityHost}/${tenant}/oauth2/v2.0/authorize?${query}`, {
    redirect: 'manual',
  });
  const code = new URL(response.headers.get('location') ?? 'http://x/').searchParams.get('code');
  expect(code, await response.text()).toBeTruthy();
  return code!;
}

const claims = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));

describe('two tenants in one emulator', () => {
  it('lists its tenants, each its own organisation with its own people', async () => {
    const listed = (await t.control('GET', 'tenants')).body as { tenants: { id: string; domain: string }[] };
    expect(listed.tenants.map((x) => [x.id, x.domain])).toEqual([
      [contoso, 'contoso.com'],
      [fabrikam, 'fabrikam.com'],
    ]);
    const [a, b] = t.emulator.tenants.map((x) => x.tenant);
    expect([...a.users.keys()].filter((id) => b.users.has(id))).toEqual([]);
    expect(t.emulator.tenants[1].adminUpn).toMatch(/@fabrikam\.com$/);
    // The control API of one tenant acts on that tenant only.
    const state = (prefix: string) => t.control('GET', `${prefix}state`);
    expect(((await state('')).body as { users: number }).users).toBe(a.users.size);
    expect(((await state(`tenants/${fabrikam}/`)).body as { users: number }).users).toBe(b.users.size);
    expect((await t.control('GET', 'tenants/00000000-0000-0000-0000-000000000000/state')).status).toBe(404);
  });

  it('gives each tenant tokens that read that tenant and nothing else', async () => {
    for (const [tenant, directory] of [
      [contoso, t.emulator.tenants[0].tenant],
      [fabrikam, t.emulator.tenants[1].tenant],
    ] as const) {
      const token = await appToken(tenant);
      expect(claims(token).tid).toBe(tenant);
      const { status, body } = await graph(token, 'users?$top=999&$select=id');
      expect(status).toBe(200);
      const ids = (body.value as { id: string }[]).map((u) => u.id).sort();
      expect(ids).toEqual([...directory.users.keys()].sort());
    }
  });

  it("refuses another tenant's objects and paging links, as Graph does for a token of another directory", async () => {
    const [a, b] = [await appToken(contoso), await appToken(fabrikam)];
    const someoneInB = [...t.emulator.tenants[1].tenant.users.keys()][0];
    expect((await graph(b, `users/${someoneInB}`)).status).toBe(200);
    const foreign = await graph(a, `users/${someoneInB}`);
    expect(foreign.status).toBe(404);
    expect(foreign.body.error).toMatchObject({ code: 'Request_ResourceNotFound' });
    const page = await graph(b, 'users?$top=5');
    const next = String(page.body['@odata.nextLink']);
    expect((await graph(b, next)).status).toBe(200);
    expect((await graph(a, next)).status).toBe(400);
  });

  it('signs in the browser’s account at organizations, and redeems its grants only at its own tenant', async () => {
    // The browser's account is Fabrikam's admin.
    expect((await t.control('POST', `tenants/${fabrikam}/signin`, {})).status).toBe(200);
    const code = await signInCode('organizations');
    const grant = {
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT_URI,
      scope: 'openid offline_access',
    };
    const wrong = await tokenRequest(contoso, grant);
    expect(wrong.status).toBe(400);
    expect(wrong.body).toMatchObject({ error: 'invalid_grant', error_codes: [700005] });
    expect(wrong.body.error_description).toContain('intended to use against other tenant');

    const redeemed = await tokenRequest('organizations', grant);
    expect(redeemed.status).toBe(200);
    expect(claims(redeemed.body.id_token)).toMatchObject({ tid: fabrikam });
    expect(claims(redeemed.body.id_token).preferred_username).toMatch(/@fabrikam\.com$/);
    const users = await graph(redeemed.body.access_token, 'users?$top=999&$select=id');
    expect((users.body.value as unknown[]).length).toBe(t.emulator.tenants[1].tenant.users.size);

    const refresh = { grant_type: 'refresh_token', refresh_token: redeemed.body.refresh_token, scope: 'openid' };
    expect((await tokenRequest(contoso, refresh)).body).toMatchObject({ error_codes: [700005] });
    expect((await tokenRequest(fabrikam, refresh)).status).toBe(200);

    // Back to Contoso's admin: organizations now signs in there.
    expect((await t.control('POST', 'signin', {})).status).toBe(200);
    const back = await tokenRequest('organizations', { ...grant, code: await signInCode('organizations') });
    expect(claims(back.body.id_token)).toMatchObject({ tid: contoso });
  });

  it('refuses a tenant it does not know, and two tenants of one company', async () => {
    const unknown = await tokenRequest('11111111-2222-3333-4444-555555555555', {
      grant_type: 'client_credentials',
      scope: GRAPH_DEFAULT,
    });
    expect(unknown.body).toMatchObject({ error_codes: [90002] });
    await expect(
      startTestEmulator({ users: 5, seed: 'x', tenants: [{ company: 'Contoso', seed: 'y', users: 5 }] }),
    ).rejects.toThrow(/own id and company/);
  });
});
