import { request } from 'node:https';
import { startEntraEmulator } from '../src/emulators/entra/index.ts';

/**
 * Measures the emulator itself with a 100,000-user tenant: start-up (generation + TLS + listen), memory,
 * and the cost of serving Graph pages. Run: `npx tsx bench/emulator-100k.ts [users]`. Prints one JSON line.
 * It trusts the emulator's CA per request, so it needs no NODE_EXTRA_CA_CERTS.
 */

const users = Number(process.argv[2] ?? 100_000);
const rssBefore = process.memoryUsage().rss;
const started = performance.now();
const emulator = await startEntraEmulator({ users, groups: 40, seed: 'bench' });
const startupMs = performance.now() - started;
global.gc?.();
const afterStart = process.memoryUsage();

const { readFile } = await import('node:fs/promises');
const ca = await readFile(emulator.caCertPath, 'utf8');

function call(
  method: string,
  url: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, ca, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

await call('POST', `${emulator.graphBaseUrl}/_emulator/consent`, '{}', { 'content-type': 'application/json' });
const tokenResponse = await call(
  'POST',
  `${emulator.authorityHost}/${emulator.tenantId}/oauth2/v2.0/token`,
  new URLSearchParams({
    client_id: emulator.clientId,
    client_secret: emulator.clientSecret,
    grant_type: 'client_credentials',
    scope: 'https://graph.microsoft.com/.default',
  }).toString(),
  { 'content-type': 'application/x-www-form-urlencoded' },
);
const token = (JSON.parse(tokenResponse.text) as { access_token: string }).access_token;
const auth = { authorization: `Bearer ${token}` };

async function readAll(
  first: string,
  linkField: string,
): Promise<{ pages: number; items: number; ms: number; slowestPageMs: number }> {
  let url: string | undefined = first;
  let pages = 0;
  let items = 0;
  let slowest = 0;
  const begin = performance.now();
  while (url) {
    const pageStart = performance.now();
    const response = await call('GET', url, undefined, auth);
    slowest = Math.max(slowest, performance.now() - pageStart);
    if (response.status !== 200) throw new Error(`${url}: ${response.status} ${response.text.slice(0, 200)}`);
    const page = JSON.parse(response.text) as { value: unknown[]; [key: string]: unknown };
    pages++;
    items += page.value.length;
    url = page[linkField] as string | undefined;
  }
  return { pages, items, ms: Math.round(performance.now() - begin), slowestPageMs: Math.round(slowest * 10) / 10 };
}

const select =
  'id,displayName,givenName,surname,mail,jobTitle,department,officeLocation,businessPhones,mobilePhone,employeeId,accountEnabled,userType,userPrincipalName';
const list = await readAll(`${emulator.graphBaseUrl}/v1.0/users?$select=${select}&$top=999`, '@odata.nextLink');
const delta = await readAll(`${emulator.graphBaseUrl}/v1.0/users/delta?$select=${select},manager`, '@odata.nextLink');
global.gc?.();
const end = process.memoryUsage();
await emulator.close();

console.log(
  JSON.stringify({
    name: 'emulator-startup-and-paging',
    users,
    startup_ms: Math.round(startupMs),
    rss_after_start_mb: Math.round(afterStart.rss / 1e6),
    rss_growth_at_start_mb: Math.round((afterStart.rss - rssBefore) / 1e6),
    heap_used_after_start_mb: Math.round(afterStart.heapUsed / 1e6),
    users_pages: list.pages,
    users_items: list.items,
    users_all_pages_ms: list.ms,
    users_ms_per_999_page: Math.round((list.ms / list.pages) * 10) / 10,
    users_slowest_page_ms: list.slowestPageMs,
    delta_pages: delta.pages,
    delta_items: delta.items,
    delta_round_ms: delta.ms,
    delta_ms_per_page: Math.round((delta.ms / delta.pages) * 10) / 10,
    peak_rss_mb: Math.round(Math.max(end.rss, afterStart.rss) / 1e6),
  }),
);
