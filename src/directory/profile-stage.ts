import type { Sql } from '../db/client.ts';
import { CopyError, CopyWriter, copyLine } from './copy-writer.ts';
import {
  attachPartition,
  copyPageToPartition,
  createPartition,
  dropUnattachedPartition,
  fillPartition,
  indexPartition,
  isFirstImport,
  PartitionWriter,
} from './profile-partition.ts';
import {
  applyStagedPhotos,
  CREATE_STAGE,
  DROP_STAGE,
  removalIds,
  resolvedPeople,
  resolveStage,
  STAGE_COLUMNS,
  type StageMode,
  upsertResolved,
} from './profile-sql.ts';

/** One person as the source describes them now; the directory's own columns (ids, Slack match, times) are not here. */
export interface StagedProfile {
  graphId: string;
  externalId: string;
  firstName: string;
  lastName: string;
  displayName: string;
  email: string;
  jobTitle: string | null;
  department: string | null;
  office: string | null;
  businessPhone: string | null;
  mobilePhone: string | null;
  employeeId: string | null;
  /** Entra object id of the manager; resolved to the manager's external id when applied. */
  managerGraphId: string | null;
  /** The source said nothing about the manager (a delta round reports managers only when they change): keep the stored one. */
  keepManager?: boolean;
}

export interface StagedPhoto {
  graphId: string;
  /** `null` when the person no longer has a photo. */
  photo: { contentType: string; bytes: Buffer; etag: string } | null;
}

/**
 * `full`: the stage holds everyone in scope, so every active profile not staged is removed.
 * `delta`: the stage holds changed people only; removals are exactly the ids passed to `markRemoved`.
 */
export type { StageMode };

export interface ProfileCounts {
  created: number;
  /** Includes restored profiles. */
  updated: number;
  unchanged: number;
  removed: number;
}

export interface RemovalPlan {
  removed: number;
  /** The profiles the run would remove (ids, ascending): what an admin approves when the run is held. */
  removedIds: string[];
  /** Active profiles of the source before the run; counted only when someone would be removed. */
  active: number | null;
  /** The first few people removed, by name. */
  removalSample: { displayName: string; email: string }[];
}

export interface ProfilePlan extends ProfileCounts, RemovalPlan {
  active: number;
  /** Previously removed people who come back (a subset of `updated`). */
  restored: number;
}

export interface ApplyResult extends ProfileCounts {
  photos: number;
}

export interface Duplicate {
  externalId: string;
  who: string;
}

const REMOVAL_CHUNK = 10_000;
const SAMPLE_SIZE = 10;
/**
 * The stage's own connection bounds its statements and its one transaction itself: a role or database
 * default made for interactive use (statement_timeout=2s, idle_in_transaction_session_timeout=2s) must not
 * fail the apply of a large tenant; the run's deadline bounds the whole run.
 */
const SESSION_SETTINGS = `set statement_timeout = '10min'; set idle_in_transaction_session_timeout = '1min'`;
const RESET_SETTINGS = 'reset statement_timeout; reset idle_in_transaction_session_timeout';

/**
 * A run's changes to one source's profiles. People stream into temporary tables of a reserved connection,
 * one COPY per page, each committed at once: no transaction and no statement stays open while Graph is
 * read, however long that takes. `apply` then writes everything in one short transaction (commit), so the
 * directory never holds half a run; `close` drops the staging tables. A run that dies loses only its stage
 * (temporary tables go with their connection). Unchanged people (same content hash) are never rewritten.
 */
export class ProfileStage {
  private seq = 0;
  private removedIds = new Set<string>();
  private photosStaged = 0;
  /** People in the stage once sealed (replays and duplicates dropped). */
  private staged = 0;
  private sealed = false;
  /** The page being copied while the next one is read; at most one in flight. */
  private copying: Promise<void> = Promise.resolve();
  private failure: unknown;
  /** This run builds the source's partition (a first import) and has not attached it yet. */
  private building = false;
  /** Every page staged is also written into the partition being built (as a guess, checked at the end). */
  private pagesInPartition = false;
  /** Writes every other page into the partition on a connection of its own. */
  private writer: PartitionWriter | null = null;
  private pages = 0;
  /** Seal dropped replayed or duplicate people from the stage (not from the partition's pages). */
  private deduped = false;

  private constructor(
    private readonly conn: Sql & { release(): void },
    private readonly sourceId: string,
  ) {}

  /**
   * `mode` 'full' for a source with no profiles yet (its first import): pages are also copied into the
   * source's partition as they arrive (src/directory/profile-partition.ts).
   */
  static async open(sql: Sql, sourceId: string, mode?: StageMode): Promise<ProfileStage> {
    const conn = await sql.reserve();
    try {
      await conn.unsafe(`${SESSION_SETTINGS}; ${CREATE_STAGE}`);
      // What a run killed between building and attaching the source's partition left behind.
      await dropUnattachedPartition(conn, sourceId);
      const stage = new ProfileStage(conn, sourceId);
      if (mode === 'full' && (await isFirstImport(conn, sourceId))) {
        stage.building = true;
        await createPartition(conn, sourceId);
        // Each page is read back from the stage by its sequence numbers, without scanning the pages before it.
        await conn`create index on profile_stage (seq)`;
        stage.writer = await PartitionWriter.open(sql, sourceId, SESSION_SETTINGS, RESET_SETTINGS);
        stage.pagesInPartition = true;
      }
      return stage;
    } catch (error) {
      conn.release();
      throw error;
    }
  }

  /**
   * Stages people with one COPY, which runs while the caller reads the next page; resolves once the
   * previous page is stored (bounded memory). A failed COPY fails the next call.
   */
  async add(people: readonly StagedProfile[]): Promise<void> {
    await this.settle();
    if (people.length === 0) return;
    const first = this.seq + 1;
    let lines = '';
    for (const p of people) {
      lines += copyLine([
        ++this.seq,
        p.graphId,
        p.externalId,
        p.firstName,
        p.lastName,
        p.displayName,
        p.email,
        p.jobTitle,
        p.department,
        p.office,
        p.businessPhone,
        p.mobilePhone,
        p.employeeId,
        p.managerGraphId,
        p.keepManager ? 't' : 'f',
      ]);
    }
    // Every other page of a first import goes to the partition through the writer's own connection.
    const byWriter = this.writer !== null && this.pages++ % 2 === 1;
    if (byWriter) await this.writer?.write(lines, people.length);
    const toPartition = this.pagesInPartition && !byWriter;
    // Chained: a COPY holds the connection until it ends, so pages from concurrent callers queue behind it.
    this.copying = this.copying
      .then(() => (this.failure ? undefined : this.copy(lines, people.length, toPartition ? first : null)))
      .catch((error) => {
        this.failure ??= error;
      });
  }

  /** Delta mode: people (by Entra object id) who left, were deleted or disabled, or fell out of scope. */
  markRemoved(graphIds: Iterable<string>): void {
    for (const id of graphIds) this.removedIds.add(id);
  }

  /**
   * Ends staging. The same person seen twice (delta pages may replay) keeps their last version; two
   * people sharing one unique identifier keep the first and report the others.
   */
  async seal(): Promise<{ staged: number; duplicates: Duplicate[] }> {
    await this.settle();
    await this.writer?.settle();
    this.sealed = true;
    const conn = this.conn;
    const ids = [...this.removedIds];
    for (let i = 0; i < ids.length; i += REMOVAL_CHUNK) {
      await conn`insert into removal_stage select unnest(${ids.slice(i, i + REMOVAL_CHUNK)}::text[])`;
    }
    const [counts] = await conn`
      select count(*)::int as n, count(distinct graph_id)::int as people, count(distinct external_id)::int as keys
      from profile_stage`;
    let staged: number = counts.n;
    let keys: number = counts.keys;
    if (staged !== this.seq) throw new CopyError(`staging failed: ${this.seq} people sent, ${staged} stored`);
    if (counts.people < staged) {
      const replays = await conn`
        delete from profile_stage a using profile_stage b where a.graph_id = b.graph_id and a.seq < b.seq`;
      staged -= replays.count;
      [{ keys }] = await conn`select count(distinct external_id)::int as keys from profile_stage`;
    }
    let duplicates: Duplicate[] = [];
    if (keys < staged) {
      const rows = await conn`
        delete from profile_stage a using profile_stage b
        where a.external_id = b.external_id and a.seq > b.seq
        returning a.external_id, a.display_name, a.email`;
      staged -= rows.length;
      duplicates = rows.map((r) => ({ externalId: r.external_id, who: `${r.display_name} <${r.email}>` }));
    }
    // Temporary tables get no statistics by themselves; without them the joins below plan as nested loops.
    await conn`analyze profile_stage`;
    if (ids.length > 0) await conn`analyze removal_stage`;
    this.staged = staged;
    this.deduped = staged !== this.seq;
    return { staged, duplicates };
  }

  /** Who `apply` would remove, against how many are active: the deletion-safety check needs only this. */
  async removalPlan(mode: StageMode): Promise<RemovalPlan> {
    this.requireSealed();
    const conn = this.conn;
    const removals = removalIds(conn, this.sourceId, mode);
    const [{ ids }] = await conn<{ ids: string[] }[]>`
      select coalesce(array_agg(r.id::text order by r.id), '{}') as ids from (${removals}) r`;
    const removed = ids.length;
    if (removed === 0) return { removed, removedIds: [], active: null, removalSample: [] };
    const sample = await conn`
      select display_name, email from profiles where source_id = ${this.sourceId} and id in (${removals})
      order by display_name, email limit ${SAMPLE_SIZE}`;
    return {
      removed,
      removedIds: ids,
      active: await this.activeCount(),
      removalSample: sample.map((r) => ({ displayName: r.display_name, email: r.email })),
    };
  }

  /** What `apply` would do, without writing anything. */
  async plan(mode: StageMode): Promise<ProfilePlan> {
    this.requireSealed();
    const [upserts] = await this.conn`
      with r as (${resolvedPeople(this.conn, this.sourceId)})
      select count(*)::int as staged,
             count(*) filter (where p.id is null)::int as created,
             count(*) filter (where p.active and p.content_hash is distinct from r.content_hash)::int as changed,
             count(*) filter (where not p.active)::int as restored
      from r left join profiles p on p.source_id = ${this.sourceId} and p.external_id = r.external_id`;
    const updated = upserts.changed + upserts.restored;
    const removal = await this.removalPlan(mode);
    return {
      created: upserts.created,
      updated,
      restored: upserts.restored,
      unchanged: upserts.staged - upserts.created - updated,
      ...removal,
      active: removal.active ?? (await this.activeCount()),
    };
  }

  /** Staged people with the etag of the photo the directory holds for them (null: none yet). */
  async photoCandidates(): Promise<{ graphId: string; knownEtag: string | null }[]> {
    this.requireSealed();
    const rows = await this.conn`
      select s.graph_id, ph.etag from profile_stage s
      left join profiles p on p.source_id = ${this.sourceId} and p.external_id = s.external_id and p.graph_id = s.graph_id
      left join profile_photos ph on ph.profile_id = p.id
      order by s.seq`;
    return rows.map((r) => ({ graphId: r.graph_id, knownEtag: r.etag }));
  }

  async addPhotos(photos: readonly StagedPhoto[]): Promise<void> {
    if (photos.length === 0) return;
    const rows = photos.map((p) => ({
      graph_id: p.graphId,
      content_type: p.photo?.contentType ?? null,
      bytes: p.photo?.bytes ?? null,
      etag: p.photo?.etag ?? null,
    }));
    await this.conn`insert into photo_stage ${this.conn(rows, 'graph_id', 'content_type', 'bytes', 'etag')}`;
    this.photosStaged += rows.length;
  }

  /**
   * Writes the staged changes in one transaction; `alsoInTransaction` runs just before the commit with the
   * counts (the run record and the source's delta link), so either all of it is stored or none.
   */
  async apply(
    mode: StageMode,
    alsoInTransaction?: (tx: Sql, result: ApplyResult) => Promise<void>,
  ): Promise<ApplyResult> {
    this.requireSealed();
    const conn = this.conn;
    // Only this source's runs write its profiles, and one runs at a time: resolving first is safe.
    await conn`drop table if exists pg_temp.profile_resolved`;
    const resolved = await resolveStage(conn, this.sourceId);
    // A first import builds the source's partition before the transaction; the transaction only attaches it.
    const first = mode === 'full' && (this.building || (await isFirstImport(conn, this.sourceId)));
    let built = 0;
    if (first) {
      if (!this.building) {
        this.building = true;
        await createPartition(conn, this.sourceId);
      }
      const pagesComplete = this.pagesInPartition && !this.deduped ? this.staged : null;
      built = await fillPartition(conn, this.sourceId, pagesComplete);
      await indexPartition(this.writer ? [conn, await this.writer.idle()] : [conn], this.sourceId);
    }
    await conn`begin`;
    try {
      const upserts = first
        ? await attachPartition(conn, this.sourceId).then(() => ({ created: built, updated: 0 }))
        : await upsertResolved(conn, this.sourceId, resolved);
      const removed = first
        ? { count: 0 }
        : await conn`
        update profiles set active = false, removed_at = now()
        where source_id = ${this.sourceId} and id in (${removalIds(conn, this.sourceId, mode)})`;
      const result: ApplyResult = {
        created: upserts.created,
        updated: upserts.updated,
        unchanged: this.staged - upserts.created - upserts.updated,
        removed: removed.count,
        photos: this.photosStaged === 0 ? 0 : await applyStagedPhotos(conn, this.sourceId),
      };
      await alsoInTransaction?.(conn, result);
      await conn`commit`;
      this.building = false;
      return result;
    } catch (error) {
      // A broken connection rolled back by itself.
      await conn`rollback`.catch(() => {});
      throw error;
    }
  }

  /** Drops the staging tables (and a partition built but not attached) and returns the connection to the pool. */
  async close(): Promise<void> {
    await this.copying;
    await this.writer?.close();
    try {
      if (this.building) await dropUnattachedPartition(this.conn, this.sourceId);
      await this.conn.unsafe(`${DROP_STAGE}; ${RESET_SETTINGS}`);
    } catch {
      // A broken connection took its temporary tables with it.
    } finally {
      this.conn.release();
    }
  }

  private requireSealed(): void {
    if (!this.sealed) throw new Error('ProfileStage: seal() must come first');
  }

  private async settle(): Promise<void> {
    await this.copying;
    if (this.failure) throw this.failure;
  }

  /** Stages a page; `first` (its first sequence number): also writes it into the partition being built. */
  private async copy(lines: string, count: number, first: number | null): Promise<void> {
    await CopyWriter.copy(this.conn, 'profile_stage', STAGE_COLUMNS, lines, count);
    if (first !== null) await copyPageToPartition(this.conn, this.sourceId, first, first + count - 1);
  }

  private async activeCount(): Promise<number> {
    const [{ active }] = await this.conn`
      select count(*)::int as active from profiles where source_id = ${this.sourceId} and active`;
    return active;
  }
}
