import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR, runMigrations } from '../../src/db/migrate.ts';
import { startTestDatabase, type TestDatabase } from '../helpers/database.ts';

let database: TestDatabase;

beforeAll(async () => {
  database = await startTestDatabase({ migrate: false });
});
afterAll(async () => {
  await database?.stop();
});

const TABLES = {
  sources: [
    'id',
    'slack_team_id',
    'tenant_id',
    'auth_mode',
    'authorized_by_upn',
    'authorized_by_slack_user',
    'token_cache',
    'status',
    'sync_enabled',
    'photo_sync',
    'guest_whois',
    'admin_channel',
    'mapping',
    'deletion_threshold',
    'users_delta_link',
    'last_full_sync_at',
    'alert_ts',
    'created_at',
    'updated_at',
  ],
  source_groups: ['source_id', 'group_id', 'display_name'],
  profiles: [
    'id',
    'source_id',
    'external_id',
    'first_name',
    'last_name',
    'display_name',
    'email',
    'job_title',
    'department',
    'office',
    'business_phone',
    'mobile_phone',
    'employee_id',
    'manager_external_id',
    'extra',
    'content_hash',
    'photo_etag',
    'slack_user_id',
    'active',
    'first_synced_at',
    'last_synced_at',
    'removed_at',
  ],
  profile_photos: ['profile_id', 'source_id', 'content_type', 'bytes', 'etag'],
  sync_runs: [
    'id',
    'source_id',
    'trigger',
    'requested_by',
    'mode',
    'status',
    'started_at',
    'finished_at',
    'heartbeat_at',
    'read_count',
    'created_count',
    'updated_count',
    'unchanged_count',
    'removed_count',
    'ignored_count',
    'photos_count',
    'ignored_examples',
    'error_code',
    'error_message',
  ],
  oauth_requests: [
    'id',
    'source_id',
    'slack_user_id',
    'view_id',
    'pkce_verifier',
    'nonce',
    'created_at',
    'expires_at',
    'consumed_at',
    'consent_tenant_id',
  ],
  slack_installations: [
    'id',
    'team_id',
    'enterprise_id',
    'is_enterprise_install',
    'bot_id',
    'bot_user_id',
    'bot_token',
    'bot_refresh_token',
    'bot_expires_at',
    'installed_by',
  ],
  graph_subscriptions: ['source_id', 'resource', 'subscription_id', 'client_state', 'expires_at', 'status', 'problem'],
  group_trees: ['source_id', 'chosen', 'tracked', 'delta_link', 'updated_at'],
  group_tree_members: ['source_id', 'group_id', 'member_id', 'member_is_group'],
};

describe('migrations', () => {
  it('apply on an empty database, then re-apply as a no-op', async () => {
    await runMigrations(database.url);
    const [{ count }] = await database.sql<
      { count: number }[]
    >`select count(*)::int as count from drizzle.__drizzle_migrations`;
    expect(count).toBeGreaterThan(0);
    await runMigrations(database.url);
    const [{ count: again }] = await database.sql<
      { count: number }[]
    >`select count(*)::int as count from drizzle.__drizzle_migrations`;
    expect(again).toBe(count);
  });

  it('create every table and column of the design', async () => {
    const rows = await database.sql<{ table_name: string; column_name: string }[]>`
      select table_name, column_name from information_schema.columns where table_schema = 'public'`;
    for (const [table, columns] of Object.entries(TABLES)) {
      const present = rows.filter((r) => r.table_name === table).map((r) => r.column_name);
      expect(present, table).toEqual(expect.arrayContaining(columns));
    }
  });

  it('install the search extensions, the folded search columns and their source-scoped indexes', async () => {
    const extensions = await database.sql<{ extname: string }[]>`select extname from pg_extension`;
    expect(extensions.map((e) => e.extname)).toEqual(
      expect.arrayContaining(['pg_trgm', 'unaccent', 'btree_gin', 'fuzzystrmatch']),
    );
    const indexes = await database.sql<{ indexname: string; indexdef: string }[]>`
      select indexname, indexdef from pg_indexes where tablename = 'profiles'`;
    const search = indexes.filter((i) => i.indexname.startsWith('profiles_search_'));
    expect(search.map((i) => i.indexname).sort()).toEqual([
      'profiles_search_department_idx',
      'profiles_search_display_idx',
      'profiles_search_doc_trgm',
      'profiles_search_email_idx',
      'profiles_search_initials_idx',
      'profiles_search_names_trgm',
      'profiles_search_role_trgm',
      'profiles_search_title_idx',
    ]);
    // Every one leads with the source and holds active people only; the unscoped trigram indexes are gone.
    for (const { indexdef } of search) {
      expect(indexdef).toMatch(/\(source_id, /);
      expect(indexdef).toMatch(/WHERE active$/);
    }
    expect(
      indexes.filter((i) => i.indexdef.includes('gin_trgm_ops') && !i.indexname.startsWith('profiles_search_')),
    ).toEqual([]);
    expect(indexes.find((i) => i.indexname === 'profiles_source_external_uq')?.indexdef).toContain('UNIQUE');
    const [source] = await database.sql`insert into sources (slack_team_id) values ('T0FOLD') returning id`;
    const [folded] = await database.sql`
      insert into profiles (source_id, external_id, graph_id, first_name, last_name, display_name, email, job_title,
        department, content_hash)
      values (${source.id}, 'x', 'x', 'Zoë', 'O''Brien-Núñez', 'ZOË O''BRIEN-NÚÑEZ', 'Zoe.OBrien@Contoso.com',
        'Ingénieure', null, 'h')
      returning search_display, search_names, search_role, search_email, search_initials`;
    expect(folded).toEqual({
      search_display: 'zoe o brien nunez',
      search_names: ' zoe o brien nunez zoe o brien nunez ',
      search_role: ' ingenieure |  ',
      search_email: 'zoe.obrien@contoso.com',
      search_initials: 'zo',
    });
    // 0009: the title and the department apart, as the exact title/department tier looks them up, in name order.
    await database.sql`
      insert into profiles (source_id, external_id, graph_id, first_name, last_name, display_name, email, job_title,
        department, content_hash)
      values (${source.id}, 'y', 'y', 'Jürgen', 'Müller', 'Jürgen Müller', 'jm@contoso.com', 'Head of R&D',
        'Forschung & Entwicklung', 'h')`;
    const parts = await database.sql`
      select btrim(split_part(search_role, '|', 1)) as title, btrim(split_part(search_role, '|', 2)) as department
      from profiles where source_id = ${source.id} order by external_id`;
    expect(parts).toEqual([
      { title: 'ingenieure', department: '' },
      { title: 'head of r d', department: 'forschung entwicklung' },
    ]);
    // Slack mentions are matched through profiles_search_email_idx, in their source.
    expect(indexes.map((i) => i.indexname)).not.toContain('profiles_email_lower_idx');
    for (const name of ['profiles_search_title_idx', 'profiles_search_department_idx']) {
      expect(indexes.find((i) => i.indexname === name)?.indexdef).toMatch(/search_display, id\) WHERE active$/);
    }
    await database.sql`delete from sources where id = ${source.id}`;
  });

  it('allow only one running sync per source (the lock)', async () => {
    const [source] = await database.sql`insert into sources (slack_team_id) values ('T1') returning id`;
    await database.sql`insert into sync_runs (source_id, trigger, mode) values (${source.id}, 'manual', 'full')`;
    await expect(
      database.sql`insert into sync_runs (source_id, trigger, mode) values (${source.id}, 'schedule', 'delta')`,
    ).rejects.toMatchObject({ code: '23505', constraint_name: 'sync_runs_one_running_per_source' });
    await database.sql`update sync_runs set status = 'succeeded' where source_id = ${source.id}`;
    await database.sql`insert into sync_runs (source_id, trigger, mode) values (${source.id}, 'schedule', 'delta')`;
    const [{ running }] = await database.sql`select count(*)::int as running from sync_runs where status = 'running'`;
    expect(running).toBe(1);
  });

  it('refuse values outside the documented vocabularies', async () => {
    await expect(
      database.sql`insert into sources (slack_team_id, status) values ('T1', 'broken')`,
    ).rejects.toMatchObject({
      code: '23514',
    });
    await expect(
      database.sql`insert into sources (slack_team_id, guest_whois) values ('T1', 'everything')`,
    ).rejects.toMatchObject({ code: '23514' });
    const [source] = await database.sql`select id from sources limit 1`;
    await expect(
      database.sql`insert into sync_runs (source_id, trigger, mode, status) values (${source.id}, 'cron', 'full', 'failed')`,
    ).rejects.toMatchObject({ code: '23514' });
    await database.sql`insert into sync_runs (source_id, trigger, mode, status) values (${source.id}, 'notification', 'delta', 'failed')`;
    await expect(
      database.sql`insert into graph_subscriptions (source_id, resource) values (${source.id}, 'mail')`,
    ).rejects.toMatchObject({ code: '23514' });
  });

  it('keep one subscription row per source and resource, and each Graph subscription once', async () => {
    const [source] = await database.sql`insert into sources (slack_team_id) values ('T2') returning id`;
    await database.sql`insert into graph_subscriptions (source_id, resource, subscription_id) values (${source.id}, 'users', 's-1')`;
    await expect(
      database.sql`insert into graph_subscriptions (source_id, resource) values (${source.id}, 'users')`,
    ).rejects.toMatchObject({ code: '23505' });
    await expect(
      database.sql`insert into graph_subscriptions (source_id, resource, subscription_id) values (${source.id}, 'groups', 's-1')`,
    ).rejects.toMatchObject({ code: '23505' });
  });

  it('keep one membership tree per source, each member of a group once, and drop both with the source', async () => {
    const [source] = await database.sql`insert into sources (slack_team_id) values ('T3') returning id`;
    await database.sql`insert into group_trees (source_id, chosen, tracked, delta_link) values (${source.id}, 'g1', ${['g1']}, 'l')`;
    await expect(
      database.sql`insert into group_trees (source_id, chosen, tracked, delta_link) values (${source.id}, 'g2', ${['g2']}, 'l')`,
    ).rejects.toMatchObject({ code: '23505' });
    const edge = () =>
      database.sql`insert into group_tree_members (source_id, group_id, member_id, member_is_group) values (${source.id}, 'g1', 'u1', false)`;
    await edge();
    await expect(edge()).rejects.toMatchObject({ code: '23505' });
    await database.sql`delete from sources where id = ${source.id}`;
    const [left] = await database.sql`
      select (select count(*) from group_trees)::int + (select count(*) from group_tree_members)::int as n`;
    expect(left.n).toBe(0);
  });
});

describe('slack_installations', () => {
  it('keys a workspace install by its team and an org-wide install by its org, nothing else', async () => {
    const row = (id: string, team: string | null, enterprise: string | null, org: boolean) =>
      database.sql`insert into slack_installations (id, team_id, enterprise_id, is_enterprise_install, bot_id, bot_user_id, bot_token)
        values (${id}, ${team}, ${enterprise}, ${org}, 'B1', 'U1', 'sealed')`;
    await row('T9', 'T9', null, false);
    await row('E9', null, 'E9', true);
    await expect(row('T8', null, 'E9', true)).rejects.toMatchObject({ code: '23514' });
    await expect(row('E8', 'T7', 'E8', false)).rejects.toMatchObject({ code: '23514' });
  });
});

describe('the embedded server', () => {
  it('indexes accented and non-Latin names as words', async () => {
    const [row] = await database.sql<{ lowered: string; trigrams: number; hebrew: number }[]>`
      select lower('ÉLODIE Ñúñez') as lowered, cardinality(show_trgm('élodie')) as trigrams,
             cardinality(show_trgm('דוד')) as hebrew`;
    expect(row.lowered).toBe('élodie ñúñez');
    expect(row.trigrams).toBe(7);
    expect(row.hebrew).toBeGreaterThan(0);
  });
});

describe('0011 (profiles partitioned by source)', () => {
  it("moves every existing profile and photo into its source's partition, ids and the sequence kept", async () => {
    const db = await startTestDatabase({ migrate: false });
    const folder = mkdtempSync(path.join(os.tmpdir(), 'aad-sync-migrations-'));
    const client = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      // The database as 0010 left it.
      cpSync(MIGRATIONS_DIR, folder, { recursive: true });
      rmSync(path.join(folder, '0011_profiles_by_source.sql'));
      const journalFile = path.join(folder, 'meta', '_journal.json');
      const journal = JSON.parse(readFileSync(journalFile, 'utf8'));
      journal.entries = journal.entries.filter((e: { idx: number }) => e.idx < 11);
      writeFileSync(journalFile, JSON.stringify(journal));
      await migrate(drizzle(client), { migrationsFolder: folder });
      const [a, b] = await client`insert into sources (slack_team_id) values ('TA'), ('TB') returning id`;
      await client`
        insert into profiles (source_id, external_id, graph_id, first_name, last_name, display_name, email, content_hash,
          active, slack_user_id)
        select case when i % 3 = 0 then ${b.id}::uuid else ${a.id}::uuid end, 'e-' || i, 'g-' || i, 'Zoë', 'N' || i,
          'Zoë N' || i, 'z' || i || '@contoso.test', 'h' || i, i % 10 <> 0, case when i = 1 then 'U1' end
        from generate_series(1, 90) i`;
      await client`
        insert into profile_photos (profile_id, content_type, bytes, etag)
        select id, 'image/png', '\\x00', 'etag-' || id from profiles where external_id in ('e-1', 'e-3')`;
      const before = await client`select * from profiles order by id`;
      const [{ next }] = await client`select last_value::int as next from profiles_id_seq`;

      await runMigrations(db.url);
      expect(await client`select * from profiles order by id`).toEqual(before);
      const placement = await client`
        select tableoid::regclass::text as t, count(*)::int as n from profiles group by 1 order by 1`;
      const hex = (id: string) => `profiles_${id.replaceAll('-', '')}`;
      expect(placement).toEqual(
        [
          { t: hex(a.id), n: 60 },
          { t: hex(b.id), n: 30 },
        ].sort((x, y) => x.t.localeCompare(y.t)),
      );
      const photos = await client`
        select p.external_id, ph.source_id, ph.etag from profile_photos ph join profiles p on p.id = ph.profile_id
        order by 1`;
      expect(photos.map((r) => [r.external_id, r.source_id])).toEqual([
        ['e-1', a.id],
        ['e-3', b.id],
      ]);
      // New profiles continue the same sequence; a deleted source still takes its profiles and photos with it.
      const [{ id }] = await client`
        insert into profiles (source_id, external_id, graph_id, first_name, last_name, display_name, email, content_hash)
        values (${a.id}, 'new', 'new', 'N', 'N', 'N N', 'n@contoso.test', 'h') returning id::int`;
      expect(id).toBe(next + 1);
      await client`delete from sources where id = ${b.id}`;
      const [{ left }] = await client`select count(*)::int as left from profile_photos`;
      expect(left).toBe(1);
      // Rows of a source without a partition of its own go to profiles_default.
      const [c] = await client`insert into sources (slack_team_id) values ('TC') returning id`;
      const [{ t }] = await client`
        insert into profiles (source_id, external_id, graph_id, first_name, last_name, display_name, email, content_hash)
        values (${c.id}, 'c', 'c', 'C', 'C', 'C C', 'c@contoso.test', 'h') returning tableoid::regclass::text as t`;
      expect(t).toBe('profiles_default');
    } finally {
      await client.end();
      rmSync(folder, { recursive: true, force: true });
      await db.stop();
    }
  });
});
