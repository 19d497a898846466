import { randomBytes } from 'node:crypto';
import { type AzureAuth, createAzureAuth, createTokenCacheStore, type RetryOptions } from '../../src/azure/index.ts';
import type { EntraEmulatorOptions } from '../../src/emulators/entra/index.ts';
import type { SyncDeps, SyncTiming } from '../../src/sync/engine.ts';
import { graphReaderFactory } from '../../src/sync/reader.ts';
import { startTestDatabase, type TestDatabase } from './database.ts';
import { startTestEmulator, type TestEmulator } from './emulator.ts';

/**
 * A real PostgreSQL, the Entra + Graph emulator over HTTPS, and the production Azure layer (MSAL and the
 * Graph reader) wired into the sync engine's dependencies, for one test file.
 */

export const REDIRECT_URI = 'http://localhost:3000/azure/callback';

/** Graph's waits shortened so throttling tests take seconds, with the same policy. */
export const FAST_RETRY: Partial<RetryOptions> = { maxAttempts: 4, baseDelayMs: 20, maxWaitMs: 2_000, budgetMs: 5_000 };

export interface SyncFixture {
  database: TestDatabase;
  emu: TestEmulator;
  auth: AzureAuth;
  deps: SyncDeps;
  /** Deps with other retry settings, timings, or app credentials (a wrong secret). */
  depsWith(options: DepsOptions): SyncDeps;
  createSource(options?: SourceOptions): Promise<string>;
  /** Signs the emulator's admin in through the real authorize → code → token flow (delegated mode). */
  signIn(sourceId: string): Promise<void>;
  profiles(sourceId: string): Promise<ProfileRow[]>;
  /** Every byte of the source's profiles and photos, system columns included. */
  fingerprint(sourceId: string): Promise<string>;
  /**
   * What the source's directory says, by Entra id, without the columns a run or a source makes its own (row
   * ids, times, Slack matches): equal for two sources synced from the same tenant with the same settings.
   */
  content(sourceId: string): Promise<string>;
  stop(): Promise<void>;
}

export interface DepsOptions {
  retry?: Partial<RetryOptions>;
  /** Full reads: sequential instead of partitioned, or another concurrency bound. */
  fullReads?: { partitioned?: boolean; maxConcurrency?: number; minPartitionedUsers?: number; splitAbove?: number };
  timing?: Partial<SyncTiming>;
  clientSecret?: string;
}

export interface SourceOptions {
  authMode?: 'application' | 'delegated';
  groups?: { id: string; displayName: string }[];
  mapping?: Record<string, string>;
  photoSync?: boolean;
  deletionThreshold?: number;
}

export interface ProfileRow {
  external_id: string;
  graph_id: string;
  first_name: string;
  last_name: string;
  email: string;
  job_title: string | null;
  manager_external_id: string | null;
  active: boolean;
}

export async function startSyncFixture(
  emulatorOptions: EntraEmulatorOptions,
  /** The key token caches are sealed with; a CLI child given the same ENCRYPTION_KEY can open them. */
  encryptionKey: Buffer = randomBytes(32),
): Promise<SyncFixture> {
  const [database, emu] = await Promise.all([startTestDatabase(), startTestEmulator(emulatorOptions)]);
  return syncFixtureOn(database, emu, encryptionKey);
}

/** The fixture on a database and an emulator the test already runs (e.g. beside an `aad-sync serve`). */
export function syncFixtureOn(database: TestDatabase, emu: TestEmulator, encryptionKey: Buffer): SyncFixture {
  const store = createTokenCacheStore(database.db, encryptionKey);
  const authWith = (clientSecret: string) =>
    createAzureAuth(
      {
        clientId: emu.emulator.clientId,
        clientSecret,
        authorityHost: emu.emulator.authorityHost,
        tenantId: 'organizations',
      },
      store,
    );
  const auth = authWith(emu.emulator.clientSecret);
  const depsWith = (options: DepsOptions): SyncDeps => ({
    db: database.db,
    sql: database.sql,
    readerFor: graphReaderFactory({
      auth: options.clientSecret ? authWith(options.clientSecret) : auth,
      graphBaseUrl: emu.emulator.graphBaseUrl,
      retry: options.retry ?? FAST_RETRY,
      fullReads: options.fullReads,
    }),
    timing: { heartbeatMs: 200, ...options.timing },
  });

  async function signIn(sourceId: string): Promise<void> {
    const started = await auth.createAuthorizeRequest({ redirectUri: REDIRECT_URI });
    const response = await fetch(started.url, { redirect: 'manual' });
    const landed = new URL(response.headers.get('location') ?? '');
    const code = landed.searchParams.get('code');
    if (!code) throw new Error(`the emulator did not sign in: ${landed}`);
    await auth.redeemAuthorizationCode({
      sourceId,
      code,
      state: landed.searchParams.get('state') ?? undefined,
      expectedState: started.state,
      nonce: started.nonce,
      pkceVerifier: started.pkceVerifier,
      redirectUri: REDIRECT_URI,
    });
  }

  return {
    database,
    emu,
    auth,
    deps: depsWith({}),
    depsWith,
    signIn,
    async createSource(options = {}) {
      const authMode = options.authMode ?? 'application';
      const [{ id }] = await database.sql`
        insert into sources (slack_team_id, tenant_id, auth_mode, status, sync_enabled, photo_sync, mapping,
          deletion_threshold)
        values ('T-TEST', ${emu.emulator.tenantId}, ${authMode}, 'active', true, ${options.photoSync ?? false},
          ${database.sql.json((options.mapping ?? {}) as never)}, ${options.deletionThreshold ?? 0.1})
        returning id`;
      for (const group of options.groups ?? []) {
        await database.sql`
          insert into source_groups (source_id, group_id, display_name) values (${id}, ${group.id}, ${group.displayName})`;
      }
      if (authMode === 'application') await emu.control('POST', 'consent', {});
      else await signIn(id);
      return id;
    },
    async profiles(sourceId) {
      return (await database.sql`
        select external_id, graph_id, first_name, last_name, email, job_title, manager_external_id, active
        from profiles where source_id = ${sourceId} order by external_id`) as unknown as ProfileRow[];
    },
    async fingerprint(sourceId) {
      const [row] = await database.sql`
        select md5(coalesce(string_agg(p::text || p.xmin::text || coalesce(ph::text || ph.xmin::text, ''), '|'
          order by p.id), '')) as f
        from profiles p left join profile_photos ph on ph.profile_id = p.id where p.source_id = ${sourceId}`;
      return row.f;
    },
    async content(sourceId) {
      const [row] = await database.sql`
        select md5(coalesce(string_agg(row(graph_id, external_id, first_name, last_name, display_name, email,
          job_title, department, office, business_phone, mobile_phone, employee_id, manager_external_id, extra,
          content_hash, photo_etag, active)::text, '|' order by graph_id), '')) as c
        from profiles where source_id = ${sourceId}`;
      return row.c;
    },
    async stop() {
      await Promise.all([database.stop(), emu.close()]);
    },
  };
}
