import { createHash } from 'node:crypto';
import { ConfidentialClientApplication } from '@azure/msal-node';
import { Client, type PageCollection, PageIterator, ResponseType } from '@microsoft/microsoft-graph-client';
import { and, eq, lt } from 'drizzle-orm';
import { authorityUrl, graphCustomHosts, knownAuthorities } from '../src/azure/endpoints.ts';
import { APPLICATION_SCOPE } from '../src/azure/permissions.ts';
import { loadConfig } from '../src/config.ts';
import { connectDatabase, type Db } from '../src/db/client.ts';
import { profilePhotos, profiles } from '../src/db/schema.ts';
import { DEFAULT_MAPPING, graphSelect, mapUser } from '../src/sync/mapping.ts';

/**
 * The straightforward sync a team writes first, run beside ours so every sync line of `npm run bench`
 * carries `ratio_vs_baseline`: a client-credentials token from MSAL, every user paged with the Graph SDK's
 * `PageIterator` (`/users?$select=…&$expand=manager($select=id)&$top=999`), then one drizzle
 * `insert … on conflict do update` per person (disabled accounts skipped, as ours does); photos one `GET /users/{id}/photo/$value` per person, each
 * stored the same way. No delta query, no change detection, no staging, no batching: every run reads and
 * writes everyone. It shares our attribute mapping so the two differ only in how they talk to Graph and
 * to PostgreSQL.
 *
 * Run as a child of the benchmark (so its peak RSS is its own):
 * `node --import tsx bench/baseline.ts <sourceId> <users|photos>`, configured from the environment like
 * `aad-sync sync` (DATABASE_URL, AZURE_*, GRAPH_BASE_URL). Prints one JSON line.
 */

export interface BaselineOutcome {
  read: number;
  written: number;
  photos: number;
}

function graphClient(config: ReturnType<typeof loadConfig>): Client {
  const msal = new ConfidentialClientApplication({
    auth: {
      clientId: config.azure.clientId!,
      clientSecret: config.azure.clientSecret!,
      authority: authorityUrl(config.azure.authorityHost, config.azure.tenantId),
      knownAuthorities: knownAuthorities(config.azure.authorityHost),
    },
  });
  return Client.init({
    baseUrl: config.azure.graphBaseUrl,
    defaultVersion: 'v1.0',
    customHosts: graphCustomHosts(config.azure.graphBaseUrl),
    authProvider: (done) => {
      msal
        .acquireTokenByClientCredential({ scopes: [APPLICATION_SCOPE] })
        .then((result) => done(null, result?.accessToken ?? null))
        .catch((error: Error) => done(error, null));
    },
  });
}

async function readAllUsers(graph: Client): Promise<Record<string, unknown>[]> {
  const users: Record<string, unknown>[] = [];
  const first: PageCollection = await graph
    .api('/users')
    .select(graphSelect(DEFAULT_MAPPING))
    .expand('manager($select=id)')
    .top(999)
    .get();
  await new PageIterator(graph, first, (user) => {
    users.push(user);
    return true;
  }).iterate();
  return users;
}

export async function baselineUsers(graph: Client, db: Db, sourceId: string): Promise<BaselineOutcome> {
  const startedAt = new Date();
  const users = await readAllUsers(graph);
  let written = 0;
  for (const user of users) {
    if (user.accountEnabled === false) continue;
    const manager = user.manager as { id?: string } | undefined;
    const mapped = mapUser(user as Record<string, unknown> & { id: string }, DEFAULT_MAPPING, manager?.id ?? null);
    if (!mapped.ok) continue;
    const { managerGraphId, ...profile } = mapped.profile;
    const row = {
      ...profile,
      managerExternalId: managerGraphId,
      contentHash: createHash('md5').update(JSON.stringify(mapped.profile)).digest('hex'),
      active: true,
      removedAt: null,
      lastSyncedAt: new Date(),
    };
    await db
      .insert(profiles)
      .values({ sourceId, ...row })
      .onConflictDoUpdate({ target: [profiles.sourceId, profiles.externalId], set: row });
    written += 1;
  }
  const removed = await db
    .update(profiles)
    .set({ active: false, removedAt: new Date() })
    .where(and(eq(profiles.sourceId, sourceId), eq(profiles.active, true), lt(profiles.lastSyncedAt, startedAt)))
    .returning({ id: profiles.id });
  return { read: users.length, written: written + removed.length, photos: 0 };
}

export async function baselinePhotos(graph: Client, db: Db, sourceId: string): Promise<number> {
  const people = await db
    .select({ id: profiles.id, graphId: profiles.graphId })
    .from(profiles)
    .where(and(eq(profiles.sourceId, sourceId), eq(profiles.active, true)));
  let stored = 0;
  for (const person of people) {
    let bytes: ArrayBuffer;
    try {
      bytes = await graph.api(`/users/${person.graphId}/photo/$value`).responseType(ResponseType.ARRAYBUFFER).get();
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) continue;
      throw error;
    }
    const photo = {
      contentType: 'image/png',
      bytes: Buffer.from(bytes),
      etag: createHash('md5').update(Buffer.from(bytes)).digest('hex'),
      updatedAt: new Date(),
    };
    await db
      .insert(profilePhotos)
      .values({ profileId: person.id, sourceId, ...photo })
      .onConflictDoUpdate({ target: profilePhotos.profileId, set: photo });
    stored += 1;
  }
  return stored;
}

if (process.argv[1]?.endsWith('bench/baseline.ts')) {
  const [sourceId, what = 'users'] = process.argv.slice(2);
  const config = loadConfig(['DATABASE_URL', 'AZURE_CLIENT_ID', 'AZURE_CLIENT_SECRET']);
  const database = connectDatabase(config.databaseUrl!);
  const graph = graphClient(config);
  const started = performance.now();
  const outcome = await baselineUsers(graph, database.db, sourceId);
  if (what === 'photos') outcome.photos = await baselinePhotos(graph, database.db, sourceId);
  const wallMs = Math.round(performance.now() - started);
  await database.close();
  process.stdout.write(
    `${JSON.stringify({ outcome, wallMs, peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024) })}\n`,
  );
  process.exit(0);
}
