import type { Sql } from '../db/client.ts';
import { CopyWriter, copyLine } from './copy-writer.ts';
import {
  applyStagedPhotos,
  CREATE_STAGE,
  insertEarly,
  removalIds,
  resolvedPeople,
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
/** Staged rows between two early inserts of new people (full reads). */
const EARLY_CHUNK = 10_000;

/**
 * A run's changes to one source's profiles: one transaction on a reserved connection from `open` to
 * `apply` (commit) or `close` (rollback), so the directory never holds half a run and a crash loses
 * nothing. People stream into a temporary table through COPY as Graph pages arrive. With `insertEarly`
 * (full reads), people new to the source are inserted every few thousand rows while reading goes on, so
 * the costliest writes overlap with Graph's latency; they stay invisible until the commit. Unchanged
 * people (same content hash) are never rewritten.
 */
export class ProfileStage {
  private seq = 0;
  private flushedSeq = 0;
  private removedIds = new Set<string>();
  private photosStaged = 0;
  private sealed = false;
  private finished = false;
  /** Entra id → unique identifier of everyone staged so far, to know a manager before inserting early. */
  private readonly externalIds = new Map<string, string>();
  private flushing: Promise<void> = Promise.resolve();
  private inserting = false;
  /** Rows that arrived while an early insert held the connection; written right after it. */
  private waiting = { lines: '', count: 0 };
  private failure: unknown;
  /** Active profiles before the first early insert changed the count. */
  private activeBefore: number | undefined;

  private constructor(
    private readonly conn: Sql & { release(): void },
    private readonly sourceId: string,
    private writer: CopyWriter,
    private readonly early: boolean,
    private readonly earlyEvery: number,
  ) {}

  /** `earlyEvery`: staged rows between two early inserts (tests make it small). */
  static async open(
    sql: Sql,
    sourceId: string,
    options: { insertEarly?: boolean; earlyEvery?: number } = {},
  ): Promise<ProfileStage> {
    const conn = await sql.reserve();
    try {
      await conn.unsafe(CREATE_STAGE);
      const writer = await CopyWriter.open(conn, 'profile_stage', STAGE_COLUMNS);
      return new ProfileStage(conn, sourceId, writer, options.insertEarly ?? false, options.earlyEvery ?? EARLY_CHUNK);
    } catch (error) {
      await conn`rollback`.catch(() => {});
      conn.release();
      throw error;
    }
  }

  /** Queues people for staging; resolves when the database is ready for more (bounded memory). */
  async add(people: readonly StagedProfile[]): Promise<void> {
    if (people.length === 0) return;
    if (this.failure) throw this.failure;
    if (this.early) for (const p of people) this.externalIds.set(p.graphId, p.externalId);
    let lines = '';
    for (const p of people) {
      const hint = this.early && p.managerGraphId ? (this.externalIds.get(p.managerGraphId) ?? null) : null;
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
        hint,
      ]);
    }
    if (this.inserting) {
      // Reading goes on during an early insert; only a long one makes the reader wait.
      this.waiting.lines += lines;
      this.waiting.count += people.length;
      if (this.waiting.count >= this.earlyEvery) await this.settle();
      return;
    }
    await this.writer.write(lines, people.length);
    if (this.early && this.seq - this.flushedSeq >= this.earlyEvery) {
      this.inserting = true;
      this.flushing = this.insertNewPeople().catch((error) => {
        this.failure = error;
      });
    }
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
    this.sealed = true;
    await this.writer.finish();
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
      select display_name, email from profiles where id in (${removals})
      order by display_name, email limit ${SAMPLE_SIZE}`;
    return {
      removed,
      removedIds: ids,
      active: await this.activeCount(),
      removalSample: sample.map((r) => ({ displayName: r.display_name, email: r.email })),
    };
  }

  /** What `apply` would do, without writing anything (for a stage opened without `insertEarly`). */
  async plan(mode: StageMode): Promise<ProfilePlan> {
    this.requireSealed();
    if (this.early) throw new Error('ProfileStage: plan() needs a stage that did not insert early');
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
   * Writes the staged changes and commits; `alsoInTransaction` runs just before the commit with the
   * counts (the run record and the source's delta link), so either all of it is stored or none.
   */
  async apply(
    mode: StageMode,
    alsoInTransaction?: (tx: Sql, result: ApplyResult) => Promise<void>,
  ): Promise<ApplyResult> {
    this.requireSealed();
    const conn = this.conn;
    const [upserts] = await upsertResolved(conn, this.sourceId);
    const removed = await conn`
      update profiles set active = false, removed_at = now()
      where id in (${removalIds(conn, this.sourceId, mode)})`;
    const created = upserts.created + upserts.early;
    const result: ApplyResult = {
      created,
      updated: upserts.updated,
      unchanged: upserts.staged - created - upserts.updated,
      removed: removed.count,
      photos: this.photosStaged === 0 ? 0 : await applyStagedPhotos(conn, this.sourceId),
    };
    await alsoInTransaction?.(conn, result);
    await conn`commit`;
    this.finished = true;
    return result;
  }

  /** Rolls back whatever was not applied and returns the connection to the pool. */
  async close(): Promise<void> {
    await this.flushing;
    if (!this.sealed) this.writer.abort(new Error('staging abandoned'));
    try {
      if (!this.finished) await this.conn`rollback`;
    } catch {
      // A broken connection rolled back by itself.
    } finally {
      this.conn.release();
    }
  }

  private requireSealed(): void {
    if (!this.sealed) throw new Error('ProfileStage: seal() must come first');
  }

  private async settle(): Promise<void> {
    await this.flushing;
    if (this.failure) throw this.failure;
  }

  private async activeCount(): Promise<number> {
    if (this.activeBefore !== undefined) return this.activeBefore;
    const [{ active }] = await this.conn`
      select count(*)::int as active from profiles where source_id = ${this.sourceId} and active`;
    return active;
  }

  /**
   * Ends the current COPY, inserts the new people staged since the last time, opens the next COPY and
   * writes what arrived meanwhile.
   */
  private async insertNewPeople(): Promise<void> {
    const from = this.flushedSeq;
    const to = this.seq;
    this.flushedSeq = to;
    await this.writer.finish();
    this.activeBefore ??= await this.activeCount();
    await insertEarly(this.conn, this.sourceId, from, to);
    this.writer = await CopyWriter.open(this.conn, 'profile_stage', STAGE_COLUMNS);
    while (this.waiting.count > 0) {
      const { lines, count } = this.waiting;
      this.waiting = { lines: '', count: 0 };
      await this.writer.write(lines, count);
    }
    this.inserting = false;
  }
}
