import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase, type Sql } from '../../src/db/client.ts';
import { partitionName } from '../../src/directory/profile-partition.ts';
import {
  ProfileStage,
  type StagedPhoto,
  type StagedProfile,
  type StageMode,
} from '../../src/directory/profile-stage.ts';
import { startTestDatabase, type TestDatabase } from '../helpers/database.ts';

/**
 * A source's first import builds its own partition of `profiles` and attaches it in the run's final
 * transaction (src/directory/profile-partition.ts); later runs write into that partition in place.
 */

let database: TestDatabase;

beforeAll(async () => {
  database = await startTestDatabase();
});
afterAll(async () => {
  await database?.stop();
});

async function newSource(team: string): Promise<string> {
  const [{ id }] = await database.sql`insert into sources (slack_team_id) values (${team}) returning id`;
  return id;
}

/**
 * 300 people keyed by their Entra object id (the default Unique Identifier): managers among the staged
 * people, one manager not staged, accents and an empty title.
 */
function people(count = 300, change: (n: number, p: StagedProfile) => StagedProfile = (_, p) => p): StagedProfile[] {
  return Array.from({ length: count }, (_, i) =>
    change(i, {
      graphId: `e-${i}`,
      externalId: `e-${i}`,
      firstName: i % 7 === 0 ? 'Élodie' : `First${i}`,
      lastName: `Last${i}`,
      displayName: i % 7 === 0 ? `Élodie Last${i}` : `First${i} Last${i}`,
      email: `p${i}@contoso.test`,
      jobTitle: i % 5 === 0 ? '' : 'Engineer',
      department: i % 3 === 0 ? 'R&D' : null,
      office: null,
      businessPhone: null,
      mobilePhone: null,
      employeeId: String(i),
      managerGraphId: i === 0 ? null : i === 1 ? 'e-outside' : `e-${Math.floor(i / 8)}`,
    }),
  );
}

async function sync(
  sourceId: string,
  staged: StagedProfile[],
  options: {
    mode?: StageMode;
    removed?: string[];
    photos?: StagedPhoto[];
    inTransaction?: (tx: Sql) => Promise<void>;
    /** The mode the stage is opened with (a first import copies pages into its partition only when told 'full'). */
    open?: StageMode | null;
  } = {},
) {
  const stage = await ProfileStage.open(
    database.sql,
    sourceId,
    options.open === undefined ? 'full' : (options.open ?? undefined),
  );
  try {
    // Pages of 50, as a read delivers them: a first import writes every other page on a connection of its own.
    for (let i = 0; i < staged.length; i += 50) await stage.add(staged.slice(i, i + 50));
    if (options.removed) stage.markRemoved(options.removed);
    await stage.seal();
    if (options.photos) await stage.addPhotos(options.photos);
    return await stage.apply(options.mode ?? 'full', options.inTransaction);
  } finally {
    await stage.close();
  }
}

/** Where the source's rows are: table name → rows. */
async function placement(sourceId: string): Promise<Record<string, number>> {
  const rows = await database.sql`
    select tableoid::regclass::text as t, count(*)::int as n from profiles where source_id = ${sourceId} group by 1`;
  return Object.fromEntries(rows.map((r) => [r.t, r.n]));
}

/** The source's directory as a reader sees it, ids and times aside: every stored and generated column. */
async function contents(sourceId: string): Promise<string> {
  const [{ digest }] = await database.sql`
    select md5(string_agg(row(external_id, graph_id, first_name, last_name, display_name, email, job_title, department,
      office, business_phone, mobile_phone, employee_id, manager_external_id, extra, content_hash, photo_etag,
      slack_user_id, active, removed_at is null, search_display, search_names, search_role, search_doc, search_email,
      search_initials)::text, '|' order by external_id)) as digest
    from profiles where source_id = ${sourceId}`;
  return digest;
}

/**
 * Whether the partition still has the storage it was created with: it was filled by the pages copied during
 * the read (then settled by an update), not refilled from the resolved stage (a TRUNCATE gives it new storage).
 */
async function filledByPages(sourceId: string): Promise<boolean> {
  const [{ same }] = await database.sql`
    select relfilenode = oid as same from pg_class where oid = to_regclass(${partitionName(sourceId)})`;
  return same;
}

async function tableExists(name: string): Promise<boolean> {
  const [{ exists }] = await database.sql`select to_regclass(${name}) is not null as exists`;
  return exists;
}

describe("a source's first import", () => {
  it('lands in its own partition, with every index of profiles, and equals the in-place result person for person', async () => {
    const built = await newSource('T-built');
    const inPlace = await newSource('T-in-place');
    // The in-place source already has an (empty) partition: its first import inserts row by row, as before 0011.
    await database.sql.unsafe(
      `create table "${partitionName(inPlace)}" partition of profiles for values in ('${inPlace}')`,
    );
    const a = await sync(built, people());
    const b = await sync(inPlace, people());
    expect(a).toEqual(b);
    expect(a).toMatchObject({ created: 300, updated: 0, removed: 0 });
    expect(await placement(built)).toEqual({ [partitionName(built)]: 300 });
    expect(await contents(built)).toBe(await contents(inPlace));
    // Managers resolved as in place: from the stage; the one outside it stays unset.
    const managers = await database.sql`
      select external_id, manager_external_id from profiles where source_id = ${built} and external_id in ('e-1', 'e-17')
      order by external_id`;
    expect(managers).toEqual([
      { external_id: 'e-1', manager_external_id: null },
      { external_id: 'e-17', manager_external_id: 'e-2' },
    ]);
    // Each index of profiles has its twin on the partition, named after it.
    const [{ oid }] = await database.sql`select to_regclass(${partitionName(built)})::oid::int as oid`;
    const parent = await database.sql`
      select c.relname from pg_index i join pg_class c on c.oid = i.indexrelid where i.indrelid = 'profiles'::regclass`;
    const own = await database.sql`
      select c.relname, p.relname as parent from pg_index i join pg_class c on c.oid = i.indexrelid
      join pg_inherits h on h.inhrelid = i.indexrelid join pg_class p on p.oid = h.inhparent
      where i.indrelid = ${oid}`;
    expect(own.map((r) => r.relname).sort()).toEqual(parent.map((r) => `${r.relname}_p${oid}`).sort());
    expect(own.every((r) => r.relname === `${r.parent}_p${oid}`)).toBe(true);
    expect(await filledByPages(built)).toBe(true);
    // Keyed by another attribute, the managers guessed during the read are wrong: refilled, the same directory.
    const byMail = (_: number, p: StagedProfile) => ({ ...p, externalId: p.email });
    const [mailBuilt, mailInPlace] = [await newSource('T-mail-built'), await newSource('T-mail-in-place')];
    await database.sql.unsafe(
      `create table "${partitionName(mailInPlace)}" partition of profiles for values in ('${mailInPlace}')`,
    );
    expect(await sync(mailBuilt, people(300, byMail))).toEqual(await sync(mailInPlace, people(300, byMail)));
    expect(await contents(mailBuilt)).toBe(await contents(mailInPlace));
    expect(await filledByPages(mailBuilt)).toBe(false);
    // Without the pages copied during the read (a stage opened without a mode), the same directory.
    const unpaged = await newSource('T-unpaged');
    expect(await sync(unpaged, people(), { open: null })).toEqual(a);
    expect(await contents(unpaged)).toBe(await contents(inPlace));
    expect(await filledByPages(unpaged)).toBe(false);
    // The unique key holds on the attached partition.
    await expect(
      database.sql`insert into profiles (source_id, external_id, graph_id, first_name, last_name, display_name, email,
        content_hash) values (${built}, 'e-1', 'x', 'x', 'x', 'x', 'x', 'x')`,
    ).rejects.toMatchObject({ code: '23505' });
  });

  it('drops replayed and duplicate people from its partition as from the stage', async () => {
    const built = await newSource('T-dup-built');
    const inPlace = await newSource('T-dup-in-place');
    await database.sql.unsafe(
      `create table "${partitionName(inPlace)}" partition of profiles for values in ('${inPlace}')`,
    );
    // g-3 read twice (its later version wins); g-dup shares e-4's unique identifier (the first one wins).
    const read = [
      ...people(10),
      people(10, (n, p) => (n === 3 ? { ...p, jobTitle: 'Replayed' } : p))[3],
      { ...people(10)[4], graphId: 'g-dup', displayName: 'Someone Else' },
    ];
    const a = await sync(built, read);
    expect(a).toMatchObject({ created: 10 });
    expect(await sync(inPlace, read)).toEqual(a);
    expect(await contents(built)).toBe(await contents(inPlace));
    const [row] = await database.sql`select job_title from profiles where source_id = ${built} and external_id = 'e-3'`;
    expect(row.job_title).toBe('Replayed');
    expect(await filledByPages(built)).toBe(false);
  });

  it('leaves nothing when it fails in its transaction: no table, no rows', async () => {
    const source = await newSource('T-failed');
    await expect(
      sync(source, people(50), {
        inTransaction: async () => {
          throw new Error('run record lost');
        },
      }),
    ).rejects.toThrow('run record lost');
    expect(await placement(source)).toEqual({});
    expect(await tableExists(partitionName(source))).toBe(false);
    // The next run imports as a first import again.
    expect(await sync(source, people(50))).toMatchObject({ created: 50 });
    expect(await placement(source)).toEqual({ [partitionName(source)]: 50 });
  });

  it('fails whole when one of its index builds fails: both builders stop, no table, no rows', async () => {
    const source = await newSource('T-index-failed');
    // The indexes are built on two connections at once; the first trigram build (the costliest) fails.
    await database.sql.unsafe(`
      create function fail_doc_index() returns event_trigger language plpgsql as $$
      begin
        if exists (select from pg_event_trigger_ddl_commands() where object_identity like '%search_doc_trgm%') then
          raise exception 'disk full while building %', 'search_doc_trgm';
        end if;
      end $$;
      create event trigger fail_doc_index on ddl_command_end when tag in ('CREATE INDEX') execute function fail_doc_index()`);
    try {
      await expect(sync(source, people(400))).rejects.toThrow('disk full while building search_doc_trgm');
    } finally {
      await database.sql.unsafe('drop event trigger fail_doc_index; drop function fail_doc_index()');
    }
    const [{ building }] = await database.sql`
      select count(*)::int as building from pg_stat_activity where query ilike 'create%index%' and pid <> pg_backend_pid()`;
    expect(building).toBe(0);
    expect(await tableExists(partitionName(source))).toBe(false);
    expect(await placement(source)).toEqual({});
    expect(await sync(source, people(400))).toMatchObject({ created: 400 });
    expect(await placement(source)).toEqual({ [partitionName(source)]: 400 });
  });

  it('drops what a run killed before its attach left, at the next run', async () => {
    const source = await newSource('T-killed');
    // The backend dies between the build and the commit: nothing can drop the table then.
    await expect(
      sync(source, people(40), {
        inTransaction: async (tx) => {
          await tx`select pg_terminate_backend(pg_backend_pid())`;
        },
      }),
    ).rejects.toThrow();
    expect(await tableExists(partitionName(source))).toBe(true);
    expect(await placement(source)).toEqual({});
    // The next run of the source drops the leftover when it opens its stage, then imports.
    const stage = await ProfileStage.open(database.sql, source);
    await stage.close();
    expect(await tableExists(partitionName(source))).toBe(false);
    expect(await sync(source, people(40))).toMatchObject({ created: 40 });
    expect(await placement(source)).toEqual({ [partitionName(source)]: 40 });
  });

  it('is followed by full and delta runs that write in place, in the partition', async () => {
    const source = await newSource('T-later');
    await sync(source, people(100));
    const [{ oid }] = await database.sql`select to_regclass(${partitionName(source)})::oid::int as oid`;
    // A full run: one person changed, one gone, one new.
    const full = await sync(source, [
      ...people(99, (n, p) => (n === 3 ? { ...p, jobTitle: 'Director' } : p)),
      people(101)[100],
    ]);
    expect(full).toMatchObject({ created: 1, updated: 1, removed: 1, unchanged: 98 });
    // A delta run: someone returns, someone leaves.
    const delta = await sync(source, [people(100)[99]], { mode: 'delta', removed: ['e-5'] });
    expect(delta).toMatchObject({ created: 0, updated: 1, removed: 1 });
    expect(await placement(source)).toEqual({ [partitionName(source)]: 101 });
    const [{ same }] = await database.sql`select to_regclass(${partitionName(source)})::oid::int = ${oid} as same`;
    expect(same).toBe(true);
    const states = await database.sql`
      select external_id, active, job_title from profiles where source_id = ${source}
        and external_id in ('e-3', 'e-5', 'e-99', 'e-100') order by external_id`;
    expect(states).toEqual([
      { external_id: 'e-100', active: true, job_title: '' },
      { external_id: 'e-3', active: true, job_title: 'Director' },
      { external_id: 'e-5', active: false, job_title: '' },
      { external_id: 'e-99', active: true, job_title: 'Engineer' },
    ]);
  });

  it('stores photos with it, and a deleted source takes its profiles and photos with it', async () => {
    const source = await newSource('T-photos');
    const photo = (etag: string) => ({ contentType: 'image/jpeg', bytes: Buffer.from(etag), etag });
    const result = await sync(source, people(20), {
      photos: [
        { graphId: 'e-1', photo: photo('one') },
        { graphId: 'e-2', photo: photo('two') },
      ],
    });
    expect(result).toMatchObject({ created: 20, photos: 2 });
    const stored = await database.sql`
      select p.external_id, ph.source_id, ph.etag from profile_photos ph join profiles p on p.id = ph.profile_id
      where p.source_id = ${source} order by 1`;
    expect(stored).toEqual([
      { external_id: 'e-1', source_id: source, etag: 'one' },
      { external_id: 'e-2', source_id: source, etag: 'two' },
    ]);
    await database.sql`delete from sources where id = ${source}`;
    const [{ profiles, photos }] = await database.sql`
      select (select count(*)::int from profiles where source_id = ${source}) as profiles,
             (select count(*)::int from profile_photos where source_id = ${source}) as photos`;
    expect({ profiles, photos }).toEqual({ profiles: 0, photos: 0 });
  });

  it('builds on connections with the stage settings, so a role statement_timeout far below its statements does not fail it', async () => {
    const source = await newSource('T-timeouts');
    // A managed database's defaults for interactive use, much shorter than building 20,000 people takes.
    await database.sql`alter role postgres set statement_timeout = '50ms'`;
    await database.sql`alter role postgres set idle_in_transaction_session_timeout = '50ms'`;
    const limited = connectDatabase(database.url);
    try {
      const [{ statement_timeout }] = await limited.sql`show statement_timeout`;
      expect(statement_timeout).toBe('50ms');
      const stage = await ProfileStage.open(limited.sql, source, 'full');
      try {
        const many = people(20_000);
        for (let i = 0; i < many.length; i += 1000) await stage.add(many.slice(i, i + 1000));
        await stage.seal();
        const started = performance.now();
        expect(await stage.apply('full')).toMatchObject({ created: 20_000 });
        // The build did take longer than the role allows a statement (its index builds alone do).
        expect(performance.now() - started).toBeGreaterThan(50 * 13);
      } finally {
        await stage.close();
      }
    } finally {
      await limited.close();
      await database.sql`alter role postgres reset all`;
    }
    expect(await placement(source)).toEqual({ [partitionName(source)]: 20_000 });
  });

  it("keeps other sources' reads and writes going while it attaches", async () => {
    const other = await newSource('T-other');
    await sync(other, people(10));
    const source = await newSource('T-attaching');
    const reader = postgres(database.url, { max: 1, onnotice: () => {} });
    try {
      await sync(source, people(30), {
        inTransaction: async () => {
          // The attach is done and its transaction still open: another source is read and written without waiting.
          await reader`set lock_timeout = '1s'`;
          const [{ n }] = await reader`select count(*)::int as n from profiles where source_id = ${other} and active`;
          expect(n).toBe(10);
          await reader`update profiles set slack_user_id = 'U1' where source_id = ${other} and external_id = 'e-1'`;
        },
      });
    } finally {
      await reader.end();
    }
    expect(await placement(source)).toEqual({ [partitionName(source)]: 30 });
  });
});
