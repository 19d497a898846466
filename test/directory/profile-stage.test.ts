import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connectDatabase } from '../../src/db/client.ts';
import { copyField, copyLine } from '../../src/directory/copy-writer.ts';
import { ProfileStage, type StagedProfile, type StageMode } from '../../src/directory/profile-stage.ts';
import { startTestDatabase, type TestDatabase } from '../helpers/database.ts';

let database: TestDatabase;
let sourceId: string;

beforeAll(async () => {
  database = await startTestDatabase();
});
afterAll(async () => {
  await database?.stop();
});
beforeEach(async () => {
  [{ id: sourceId }] = await database.sql`insert into sources (slack_team_id) values ('T1') returning id`;
});

function person(n: number, overrides: Partial<StagedProfile> = {}): StagedProfile {
  return {
    graphId: `g-${n}`,
    externalId: `e-${n}`,
    firstName: `First${n}`,
    lastName: `Last${n}`,
    displayName: `First${n} Last${n}`,
    email: `p${n}@contoso.test`,
    jobTitle: 'Engineer',
    department: null,
    office: null,
    businessPhone: null,
    mobilePhone: null,
    employeeId: null,
    managerGraphId: null,
    ...overrides,
  };
}

async function sync(
  people: StagedProfile[],
  options: { mode?: StageMode; removed?: string[]; inTransaction?: () => Promise<void> } = {},
) {
  const stage = await ProfileStage.open(database.sql, sourceId);
  try {
    await stage.add(people);
    if (options.removed) stage.markRemoved(options.removed);
    const sealed = await stage.seal();
    const plan = await stage.plan(options.mode ?? 'full');
    const result = await stage.apply(options.mode ?? 'full', options.inTransaction);
    return { sealed, plan, result };
  } finally {
    await stage.close();
  }
}

/** Every byte of the source's profiles, including system columns that change on any write. */
async function fingerprint(): Promise<string> {
  const [row] = await database.sql`
    select md5(string_agg(p::text || p.xmin::text, '|' order by p.id)) as f from profiles p where source_id = ${sourceId}`;
  return row.f ?? '';
}

async function profileRows() {
  return database.sql`
    select external_id, graph_id, first_name, display_name, job_title, manager_external_id, active, removed_at
    from profiles where source_id = ${sourceId} order by external_id`;
}

describe('COPY text format', () => {
  it('escapes the delimiters and keeps NULL distinct from text', () => {
    expect(copyField(null)).toBe('\\N');
    expect(copyField('\\N')).toBe('\\\\N');
    expect(copyField('a\tb\nc\rd\\e')).toBe('a\\tb\\nc\\rd\\\\e');
    expect(copyField('nul\0byte')).toBe('nulbyte');
    expect(copyLine(['x', null, 3])).toBe('x\t\\N\t3\n');
  });
});

describe('ProfileStage', () => {
  it('creates, then writes nothing when nothing changed, then updates only the changed person', async () => {
    const people = [person(1), person(2), person(3)];
    const first = await sync(people);
    expect(first.result).toMatchObject({ created: 3, updated: 0, unchanged: 0, removed: 0 });
    expect(first.plan).toMatchObject({ created: 3, updated: 0, unchanged: 0, removed: 0, active: 0 });

    const before = await fingerprint();
    const again = await sync(people);
    expect(again.result).toMatchObject({ created: 0, updated: 0, unchanged: 3, removed: 0 });
    expect(await fingerprint()).toBe(before);
    // Not even locked: an unchanged person costs the apply nothing (no row lock, no generated columns computed).
    const [{ touched }] = await database.sql`
      select count(*)::int as touched from profiles where source_id = ${sourceId} and xmax <> 0`;
    expect(touched).toBe(0);

    const changed = await sync([person(1), person(2, { jobTitle: 'Manager' }), person(3)]);
    expect(changed.plan).toMatchObject({ created: 0, updated: 1, unchanged: 2, removed: 0, active: 3 });
    expect(changed.result).toMatchObject({ created: 0, updated: 1, unchanged: 2, removed: 0 });
    expect((await profileRows()).map((r) => r.job_title)).toEqual(['Engineer', 'Manager', 'Engineer']);
  });

  it('round-trips hostile strings through COPY', async () => {
    const hostile = [
      'tab\there',
      'new\nline',
      'carriage\rreturn',
      'back\\slash \\N \\t',
      'ünïcødé — 日本語',
      'emoji 👩🏽‍💻🚀',
      '\\',
      '',
      'quote \' " ; drop table profiles; --',
    ];
    const people = hostile.map((text, i) =>
      person(i, {
        firstName: text || 'x',
        displayName: `${text}|${i}`,
        jobTitle: text,
        department: text === '' ? '' : null,
      }),
    );
    await sync(people);
    const rows = await database.sql`
      select first_name, display_name, job_title, department from profiles where source_id = ${sourceId} order by graph_id`;
    expect(rows.map((r) => r.job_title)).toEqual(hostile);
    expect(rows.map((r) => r.display_name)).toEqual(hostile.map((t, i) => `${t}|${i}`));
    expect(rows.map((r) => r.department)).toEqual(hostile.map((t) => (t === '' ? '' : null)));
    expect((await sync(people)).result.unchanged).toBe(hostile.length);
  });

  it('full mode marks everyone not staged as removed without deleting, and a return restores them', async () => {
    await sync([person(1), person(2), person(3)]);
    const { plan, result } = await sync([person(1), person(3)]);
    expect(plan.removed).toBe(1);
    expect(plan.removalSample).toEqual([{ displayName: 'First2 Last2', email: 'p2@contoso.test' }]);
    expect(result).toMatchObject({ created: 0, updated: 0, unchanged: 2, removed: 1 });
    const rows = await profileRows();
    expect(rows.map((r) => [r.external_id, r.active])).toEqual([
      ['e-1', true],
      ['e-2', false],
      ['e-3', true],
    ]);
    expect(rows[1].removed_at).toBeInstanceOf(Date);

    const back = await sync([person(1), person(2), person(3)]);
    expect(back.plan).toMatchObject({ created: 0, updated: 1, restored: 1, unchanged: 2, removed: 0 });
    expect(back.result).toMatchObject({ created: 0, updated: 1, unchanged: 2, removed: 0 });
    expect((await profileRows())[1]).toMatchObject({ active: true, removed_at: null });
  });

  it('delta mode removes exactly the people named, and leaves everyone unstaged alone', async () => {
    await sync([person(1), person(2), person(3)]);
    const { result } = await sync([person(3, { jobTitle: 'CTO' })], { mode: 'delta', removed: ['g-1', 'g-404'] });
    expect(result).toMatchObject({ created: 0, updated: 1, unchanged: 0, removed: 1 });
    expect((await profileRows()).map((r) => [r.external_id, r.active, r.job_title])).toEqual([
      ['e-1', false, 'Engineer'],
      ['e-2', true, 'Engineer'],
      ['e-3', true, 'CTO'],
    ]);
  });

  it('resolves managers to their unique identifier, from the stage or from existing profiles', async () => {
    await sync([person(1), person(2, { managerGraphId: 'g-1' }), person(3, { managerGraphId: 'g-missing' })]);
    expect((await profileRows()).map((r) => r.manager_external_id)).toEqual([null, 'e-1', null]);

    const { result } = await sync([person(4, { managerGraphId: 'g-2' })], { mode: 'delta' });
    expect(result.created).toBe(1);
    expect((await profileRows()).map((r) => r.manager_external_id)).toEqual([null, 'e-1', null, 'e-2']);
  });

  it('rewrites a person whose manager changed, even when their own attributes did not', async () => {
    await sync([person(1), person(2), person(3, { managerGraphId: 'g-1' })]);
    const { result } = await sync([person(1), person(2), person(3, { managerGraphId: 'g-2' })]);
    expect(result).toMatchObject({ updated: 1, unchanged: 2 });
    expect((await profileRows())[2].manager_external_id).toBe('e-2');
  });

  it('keeps the stored manager when the source did not report one', async () => {
    await sync([person(1), person(2), person(3, { managerGraphId: 'g-1' })]);
    const { result } = await sync([person(3, { jobTitle: 'Lead', keepManager: true })], { mode: 'delta' });
    expect(result).toMatchObject({ updated: 1 });
    expect((await profileRows())[2]).toMatchObject({ job_title: 'Lead', manager_external_id: 'e-1' });
    const unchanged = await sync([person(3, { jobTitle: 'Lead', keepManager: true })], { mode: 'delta' });
    expect(unchanged.result).toMatchObject({ updated: 0, unchanged: 1 });
  });

  it('keeps the last version of a person seen twice and reports people sharing one unique identifier', async () => {
    const { sealed, result } = await sync([
      person(1, { jobTitle: 'old' }),
      person(2),
      person(1, { jobTitle: 'new' }),
      person(5, { externalId: 'e-2', displayName: 'Twin', email: 'twin@contoso.test' }),
    ]);
    expect(sealed.staged).toBe(2);
    expect(sealed.duplicates).toEqual([{ externalId: 'e-2', who: 'Twin <twin@contoso.test>' }]);
    expect(result.created).toBe(2);
    expect((await profileRows()).map((r) => [r.external_id, r.graph_id, r.job_title])).toEqual([
      ['e-1', 'g-1', 'new'],
      ['e-2', 'g-2', 'Engineer'],
    ]);
  });

  it('replaces the profile of a person whose unique identifier changed', async () => {
    await sync([person(1), person(2)]);
    const { result } = await sync([person(1, { externalId: 'e-1-renamed' })], { mode: 'delta' });
    expect(result).toMatchObject({ created: 1, removed: 1 });
    expect((await profileRows()).map((r) => [r.external_id, r.active])).toEqual([
      ['e-1', false],
      ['e-1-renamed', true],
      ['e-2', true],
    ]);
  });

  it('plans without writing, and a failure inside the transaction leaves every byte as it was', async () => {
    await sync([person(1), person(2), person(3, { managerGraphId: 'g-1' })]);
    const before = await fingerprint();
    const stage = await ProfileStage.open(database.sql, sourceId);
    try {
      await stage.add([person(1, { lastName: 'Changed' }), person(4)]);
      await stage.seal();
      const plan = await stage.plan('full');
      expect(plan).toMatchObject({ created: 1, updated: 1, unchanged: 0, removed: 2, active: 3 });
      expect(await fingerprint()).toBe(before);
      await expect(
        stage.apply('full', async (tx) => {
          await tx`update sources set status = 'active' where id = ${sourceId}`;
          throw new Error('boom after writing');
        }),
      ).rejects.toThrow('boom after writing');
    } finally {
      await stage.close();
    }
    expect(await fingerprint()).toBe(before);
    const [source] = await database.sql`select status from sources where id = ${sourceId}`;
    expect(source.status).toBe('setup');
  });

  it('stores photos with the run, skips unchanged etags, and drops photos that are gone', async () => {
    await sync([person(1), person(2)]);
    const photoRun = async (photos: Parameters<ProfileStage['addPhotos']>[0]) => {
      const stage = await ProfileStage.open(database.sql, sourceId);
      try {
        await stage.add([person(1), person(2)]);
        await stage.seal();
        const candidates = await stage.photoCandidates();
        await stage.addPhotos(photos);
        return { candidates, result: await stage.apply('full') };
      } finally {
        await stage.close();
      }
    };
    const jpeg = (text: string) => ({ contentType: 'image/jpeg', bytes: Buffer.from(text), etag: `"${text}"` });
    const first = await photoRun([
      { graphId: 'g-1', photo: jpeg('one') },
      { graphId: 'g-2', photo: jpeg('two') },
    ]);
    expect(first.candidates).toEqual([
      { graphId: 'g-1', knownEtag: null },
      { graphId: 'g-2', knownEtag: null },
    ]);
    expect(first.result.photos).toBe(2);

    const second = await photoRun([
      { graphId: 'g-1', photo: jpeg('one') },
      { graphId: 'g-2', photo: null },
    ]);
    expect(second.candidates).toEqual([
      { graphId: 'g-1', knownEtag: '"one"' },
      { graphId: 'g-2', knownEtag: '"two"' },
    ]);
    expect(second.result).toMatchObject({ photos: 1, unchanged: 2 });
    const stored = await database.sql`
      select p.external_id, ph.bytes, p.photo_etag from profiles p left join profile_photos ph on ph.profile_id = p.id
      where p.source_id = ${sourceId} order by p.external_id`;
    expect(stored.map((r) => [r.external_id, r.bytes?.toString() ?? null, r.photo_etag])).toEqual([
      ['e-1', 'one', '"one"'],
      ['e-2', null, null],
    ]);
  });
});

describe('ProfileStage without a long transaction', () => {
  /** Transactions open on any other connection of this database. */
  const openTransactions = async () => {
    const [{ n }] = await database.sql`
      select count(*)::int as n from pg_stat_activity
      where datname = current_database() and xact_start is not null and pid <> pg_backend_pid()`;
    return n;
  };

  it('holds no transaction open between pages, and applies all of them at once', async () => {
    await sync([person(1), person(2)]);
    const before = await fingerprint();
    const stage = await ProfileStage.open(database.sql, sourceId);
    try {
      for (const page of [[person(1, { jobTitle: 'Lead' }), person(3)], [person(4)]]) {
        await stage.add(page);
        // Graph is being read now: nothing of the run is open in the database, nothing is visible.
        await expect.poll(openTransactions, { timeout: 5_000 }).toBe(0);
        expect(await fingerprint()).toBe(before);
      }
      await stage.seal();
      expect(await stage.apply('full')).toMatchObject({ created: 2, updated: 1, unchanged: 0, removed: 1 });
    } finally {
      await stage.close();
    }
    const tables =
      await database.sql`select relname from pg_class where relname like '%_stage' and relpersistence = 't'`;
    expect(tables).toEqual([]);
  });

  it('is not failed by 2 s statement and idle-in-transaction timeouts while pages arrive slowly', async () => {
    await database.sql`alter role postgres set statement_timeout = '2s'`;
    await database.sql`alter role postgres set idle_in_transaction_session_timeout = '2s'`;
    const limited = connectDatabase(database.url);
    try {
      const [{ statement_timeout }] = await limited.sql`show statement_timeout`;
      expect(statement_timeout).toBe('2s');
      const stage = await ProfileStage.open(limited.sql, sourceId);
      try {
        for (const page of [[person(1)], [person(2)], [person(3)]]) {
          await stage.add(page);
          await new Promise((resolve) => setTimeout(resolve, 2_500));
        }
        await stage.seal();
        expect(await stage.apply('full')).toMatchObject({ created: 3 });
      } finally {
        await stage.close();
      }
    } finally {
      await limited.close();
      await database.sql`alter role postgres reset all`;
    }
  });
});
