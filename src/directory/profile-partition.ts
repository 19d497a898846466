import type { Sql } from '../db/client.ts';
import { CopyWriter } from './copy-writer.ts';
import { contentHash, insertPeople, STAGE_COLUMNS, STAGED_PERSON } from './profile-sql.ts';

/**
 * `profiles` is LIST-partitioned by source (migration 0011). A source's first import does not insert into
 * `profiles` row by row: it builds the source's partition as a table of its own, page by page while Graph is
 * read (so that PostgreSQL computes the generated /whois columns, most of an insert's cost, meanwhile, with
 * no index to maintain), builds the indexes of `profiles` on it once it is full (a sort per index instead of
 * 100,000 index insertions: inserting and indexing took ≈ 13 s instead of 28.5 s for 100,000), and attaches
 * it in the run's final transaction. ATTACH PARTITION takes SHARE UPDATE EXCLUSIVE on `profiles` (readers and
 * other sources' writers go on) and ACCESS EXCLUSIVE on the new table and on `profiles_default`, which no
 * production source's rows are in, so its check is instant; the table's CHECK on the source spares ATTACH its
 * own validation scan, and indexes matching the parent's are attached instead of built. Until the attach
 * commits, the table is invisible to every reader: a run that fails or is cancelled drops it, and one killed
 * on the spot leaves a table the source's next run drops.
 */

/** The partition holding one source's people: profiles_ and the source id's hex digits (41 characters). */
export function partitionName(sourceId: string): string {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(sourceId))
    throw new Error(`not a source id: ${sourceId}`);
  return `profiles_${sourceId.replaceAll('-', '').toLowerCase()}`;
}

/** Whether a full run of the source builds its partition: the source has no profiles and no partition yet. */
export async function isFirstImport(conn: Sql, sourceId: string): Promise<boolean> {
  const [{ first }] = await conn<{ first: boolean }[]>`
    select not exists (select 1 from profiles where source_id = ${sourceId})
       and not exists (select 1 from pg_inherits where inhrelid = to_regclass(${partitionName(sourceId)})) as first`;
  return first;
}

/** Drops the source's partition table if it was built but never attached (a failed, cancelled or killed run). */
export async function dropUnattachedPartition(conn: Sql, sourceId: string): Promise<void> {
  const name = partitionName(sourceId);
  const [{ leftover }] = await conn<{ leftover: boolean }[]>`
    select to_regclass(${name}) is not null
       and not exists (select 1 from pg_inherits where inhrelid = to_regclass(${name})) as leftover`;
  if (leftover) await conn.unsafe(`drop table if exists "${name}"`);
}

/**
 * A page of people as it will most likely be stored, from `table` (the stage, or a page of it): with the default
 * Unique Identifier (the Entra object id) a manager's external id is their object id, and the content hash is
 * computed as `resolvedPeople` computes it. Whether the guess was right is checked person by person at the end
 * (`fillPartition`), so a wrong guess costs time, never correctness.
 */
function insertGuessed(conn: Sql, sourceId: string, rows: ReturnType<Sql>) {
  return insertPeople(
    conn,
    partitionName(sourceId),
    sourceId,
    conn`(select *, ${contentHash(conn)} as content_hash from (
      select *, case when external_id = graph_id then manager_graph_id end as manager_external_id from ${rows}) g) s`,
  );
}

/** Writes staged people `from`..`to` (stage sequence numbers, one page) into the partition being built. */
export async function copyPageToPartition(conn: Sql, sourceId: string, from: number, to: number): Promise<void> {
  await insertGuessed(conn, sourceId, conn`profile_stage where seq between ${from} and ${to}`);
}

/**
 * A second connection that writes every other page into the partition being built, so that two backends
 * compute the pages' generated columns while Graph is read: with the stage's connection alone the read waits
 * for them (100,000 people: 15.7 s instead of 6.9 s without page writes, on 2 vCPUs shared with the emulator,
 * where two backends measured no faster, 15.6 s: CPU-bound there; a database with cores of its own runs the
 * halves side by side). It holds the page in a temporary table of its own and has the stage's session
 * settings (a role's short statement_timeout must not fail a page).
 */
export class PartitionWriter {
  private pending: Promise<void> = Promise.resolve();
  private failure: unknown;

  private constructor(
    private readonly conn: Sql & { release(): void },
    private readonly sourceId: string,
    private readonly reset: string,
  ) {}

  static async open(sql: Sql, sourceId: string, settings: string, reset: string): Promise<PartitionWriter> {
    const conn = await sql.reserve();
    try {
      await conn.unsafe(`${settings}; drop table if exists pg_temp.partition_page;
        create temp table partition_page (${STAGED_PERSON})`);
      return new PartitionWriter(conn, sourceId, reset);
    } catch (error) {
      conn.release();
      throw error;
    }
  }

  /** Queues a page (lines in STAGE_COLUMNS order) once the previous one is written: one page in flight. */
  async write(lines: string, count: number): Promise<void> {
    await this.settle();
    this.pending = this.page(lines, count).catch((error) => {
      this.failure ??= error;
    });
  }

  /** Resolves when every page queued is written; a failed page fails it. */
  async settle(): Promise<void> {
    await this.pending;
    if (this.failure) throw this.failure;
  }

  /** The writer's connection, once every page is written: a second backend for building the indexes. */
  async idle(): Promise<Sql> {
    await this.settle();
    return this.conn;
  }

  async close(): Promise<void> {
    await this.pending;
    try {
      await this.conn.unsafe(`drop table if exists pg_temp.partition_page; ${this.reset}`);
    } catch {
      // A broken connection took its temporary table with it.
    } finally {
      this.conn.release();
    }
  }

  private async page(lines: string, count: number): Promise<void> {
    await CopyWriter.copy(this.conn, 'partition_page', STAGE_COLUMNS, lines, count);
    await insertGuessed(this.conn, this.sourceId, this.conn`partition_page`);
    await this.conn`truncate partition_page`;
  }
}

/** Creates the source's partition table, empty and unattached (ProfileStage.open dropped what a killed run left). */
export async function createPartition(conn: Sql, sourceId: string): Promise<void> {
  const name = partitionName(sourceId);
  await conn.unsafe(`
    create table "${name}" (like profiles including defaults including generated,
      constraint "${name}_source" check (source_id = '${sourceId}'))`);
}

/**
 * Makes the partition hold exactly `profile_resolved` (everyone in it is new). `pagesComplete` (how many
 * people were staged, all of them written page by page during the read): only the people whose guessed
 * manager was wrong are updated (an update computes a row's generated columns again, as costly as an
 * insert). Otherwise (`null`: the stage dropped replays or duplicates, or pages were not written), or when
 * more than a tenth were guessed wrong or anyone is missing, it is refilled from `profile_resolved`.
 * Returns how many people it holds.
 */
export async function fillPartition(conn: Sql, sourceId: string, pagesComplete: number | null): Promise<number> {
  const table = conn(partitionName(sourceId));
  if (pagesComplete !== null) {
    const [{ rows, matched, wrong }] = await conn<{ rows: number; matched: number; wrong: number }[]>`
      select (select count(*)::int from ${table}) as rows, count(*)::int as matched,
        count(*) filter (where p.content_hash <> r.content_hash)::int as wrong
      from ${table} p join profile_resolved r on r.external_id = p.external_id`;
    if (rows === pagesComplete && matched === rows && wrong <= rows / 10) {
      if (wrong > 0)
        await conn`
          update ${table} p set manager_external_id = r.manager_external_id, content_hash = r.content_hash
          from profile_resolved r where r.external_id = p.external_id and p.content_hash <> r.content_hash`;
      return rows;
    }
  }
  await conn`truncate ${table}`;
  const inserted = await insertPeople(conn, partitionName(sourceId), sourceId, conn`profile_resolved`);
  return inserted.count;
}

/**
 * Builds each index of `profiles` on the filled partition under its own name with the table's oid
 * (`profiles_search_doc_trgm` → `profiles_search_doc_trgm_p16384`), so that ATTACH adopts them and plans name
 * what they read; one sort per index instead of an index insertion per row. Each connection given takes the
 * next index to build (the trigram ones first, the costliest), so two backends build at once; the primary and
 * unique keys are declared after every build, as ALTER TABLE waits for the builds' locks.
 */
export async function indexPartition(conns: readonly Sql[], sourceId: string): Promise<void> {
  const [conn] = conns;
  const name = partitionName(sourceId);
  const indexes = await conn<{ name: string; definition: string; constraint: 'p' | 'u' | null }[]>`
    select c.relname as name, pg_get_indexdef(i.indexrelid) as definition,
      (select contype from pg_constraint where conindid = i.indexrelid and conrelid = i.indrelid) as constraint
    from pg_index i join pg_class c on c.oid = i.indexrelid join pg_am a on a.oid = c.relam
    where i.indrelid = 'profiles'::regclass
    order by a.amname = 'gin' desc, c.relname like '%search_doc%' desc, c.relname`;
  const [{ oid }] = await conn<{ oid: number }[]>`select to_regclass(${name})::oid::int as oid`;
  const own = (index: { name: string }) => `${index.name}_p${oid}`;
  const queue = [...indexes];
  const build = async (c: Sql) => {
    await c`set maintenance_work_mem = '256MB'`;
    try {
      for (let index = queue.shift(); index; index = queue.shift()) {
        const definition = index.definition.replace(
          /^CREATE (UNIQUE )?INDEX \S+ ON (?:ONLY )?public\.profiles /,
          `CREATE $1INDEX "${own(index)}" ON public."${name}" `,
        );
        if (definition === index.definition) throw new Error(`cannot rebuild index ${index.name} on ${name}`);
        await c.unsafe(definition);
      }
    } finally {
      await c`reset maintenance_work_mem`;
    }
  };
  // A failed build empties the queue, so that the other connection stops after its current index; both
  // have ended before the error goes up (the caller then drops the table).
  const builds = await Promise.allSettled(
    conns.map((c) =>
      build(c).catch((error) => {
        queue.length = 0;
        throw error;
      }),
    ),
  );
  for (const b of builds) if (b.status === 'rejected') throw b.reason;
  for (const index of indexes) {
    if (index.constraint === 'p')
      await conn.unsafe(`alter table "${name}" add primary key using index "${own(index)}"`);
    if (index.constraint === 'u') await conn.unsafe(`alter table "${name}" add unique using index "${own(index)}"`);
  }
  await conn.unsafe(`analyze "${name}"`);
}

/** Makes the built partition part of `profiles`; runs inside the apply's transaction. */
export async function attachPartition(conn: Sql, sourceId: string): Promise<void> {
  await conn.unsafe(`alter table profiles attach partition "${partitionName(sourceId)}" for values in ('${sourceId}')`);
}
