import { DEFAULT_GROUPS, DEFAULT_SEED, DEFAULT_USERS, startEntraEmulator } from '../emulators/entra/index.ts';
import { type CommandContext, parseCommandArgs, UsageError } from './args.ts';

/**
 * `aad-sync emulator`: the Entra ID + Graph emulator on its own, for trying the app by hand or pointing a
 * second process at it. The first stdout line is JSON a script can parse; it runs until SIGINT/SIGTERM.
 */

const DEFAULT_PORT = 8443;
const MAX_USERS = 1_000_000;

export async function run(ctx: CommandContext): Promise<number> {
  const { values } = parseCommandArgs(ctx.args, {
    port: { type: 'string' },
    users: { type: 'string' },
    groups: { type: 'string' },
    seed: { type: 'string' },
    'latency-ms': { type: 'string' },
    'latency-per-item-ms': { type: 'string' },
    'redirect-uri': { type: 'string', multiple: true },
    tenant: { type: 'string', multiple: true },
  });
  const port = whole(values.port, 'port', DEFAULT_PORT, 0, 65535);
  const users = whole(values.users, 'users', DEFAULT_USERS, 1, MAX_USERS);
  const groups = whole(values.groups, 'groups', DEFAULT_GROUPS, 0, 10_000);
  const latencyMs = whole(values['latency-ms'], 'latency-ms', 0, 0, 60_000);
  const latencyPerItemMs = whole(values['latency-per-item-ms'], 'latency-per-item-ms', 0, 0, 1_000);
  const redirectUris = (values['redirect-uri'] ?? []).map(checkRedirectUri);
  const seed = values.seed ?? DEFAULT_SEED;
  // Each --tenant is another organisation beside Contoso, with people of its own from a seed of its own.
  const tenants = (values.tenant ?? []).map((company) => ({
    company: checkCompany(company),
    seed: `${seed}:${company}`,
    users,
    groups,
  }));

  let emulator: Awaited<ReturnType<typeof startEntraEmulator>>;
  try {
    emulator = await startEntraEmulator({
      port,
      users,
      groups,
      seed,
      latencyMs,
      latencyPerItemMs,
      redirectUris,
      tenants,
    });
  } catch (error) {
    if (error instanceof Error && /own id and company/.test(error.message)) {
      ctx.stderr.write(`aad-sync emulator: each --tenant needs a company name of its own (Contoso is the first).\n`);
      return 2;
    }
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      ctx.stderr.write(`aad-sync emulator: port ${port} is in use; choose another with --port (0 picks a free one).\n`);
      return 1;
    }
    throw error;
  }
  const { authorityHost, graphBaseUrl, tenantId, clientId, clientSecret, caCertPath, adminUpn } = emulator;
  const others = emulator.tenants.slice(1).map((t, i) => ({
    company: tenants[i].company,
    tenantId: t.tenantId,
    adminUpn: t.adminUpn,
    control: `${graphBaseUrl}/_emulator/${t.controlPrefix}`,
  }));
  ctx.stdout.write(
    `${JSON.stringify({ authorityHost, graphBaseUrl, tenantId, clientId, clientSecret, caCertPath, adminUpn, users, groups, ...(others.length > 0 ? { tenants: others } : {}) })}\n`,
  );
  ctx.stderr.write(
    [
      `Entra ID + Microsoft Graph emulator on ${graphBaseUrl} (tenant ${tenantId}, ${users} users, ${groups} groups).`,
      `Trust its certificate: NODE_EXTRA_CA_CERTS=${caCertPath}`,
      `Point the app at it: AZURE_AUTHORITY_HOST=${authorityHost} GRAPH_BASE_URL=${graphBaseUrl} AZURE_TENANT_ID=${tenantId} AZURE_CLIENT_ID=${clientId} AZURE_CLIENT_SECRET=<clientSecret above>`,
      `Signs in ${adminUpn} (Global Administrator) unless told otherwise: POST ${graphBaseUrl}/_emulator/signin`,
      ...others.map(
        (t) =>
          `Tenant ${t.company} (${t.tenantId}): sign its admin ${t.adminUpn} in with POST ${t.control}signin; leave AZURE_TENANT_ID unset (organizations) to serve both.`,
      ),
      'Stop with Ctrl-C.',
      '',
    ].join('\n'),
  );

  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await emulator.close();
  return 0;
}

function whole(raw: string | undefined, name: string, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, not "${raw}".`);
  }
  return value;
}

function checkCompany(raw: string): string {
  if (!/^[A-Za-z][A-Za-z0-9 -]{0,39}$/.test(raw))
    throw new UsageError(`--tenant must be a company name (letters, digits, spaces, dashes), not "${raw}".`);
  return raw;
}

function checkRedirectUri(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--redirect-uri must be an absolute URL, not "${raw}".`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new UsageError(`--redirect-uri must be http(s), not "${raw}".`);
  return raw;
}
