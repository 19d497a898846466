import type { Sql } from '../db/client.ts';
import { CopyWriter, copyLine } from './copy-writer.ts';

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
export type StageMode = 'full' | 'delta';

export interface ProfileCounts {
  created: number;
  /** Includes restored profiles. */
  updated: number;
  unchanged: number;
  removed: number;
}

export interface RemovalPlan {
  removed: number;
  /** Active profiles of the source before the run. */
  active: number;
  /** The first few people removed, by name. */
  removalSample: { displayName: string; email: string }[];
}

export interface ProfilePlan extends ProfileCounts, RemovalPlan {
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

const STAGE_COLUMNS = [
  'seq',
  'graph_id',
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
  'manager_graph_id',
  'keep_manager',
] as const;

const CREATE_STAGE = `
  drop table if exists profile_stage, removal_stage, photo_stage;
  create temp table profile_stage (
    seq int not null, graph_id text not null, external_id text not null, first_name text not null,
    last_name text not null, display_name text not null, email text not null, job_title text, department text,
    office text, business_phone text, mobile_phone text, employee_id text, manager_graph_id text,
    keep_manager boolean not null);
  create temp table removal_stage (graph_id text not null);
  create temp table photo_stage (graph_id text not null, content_type text, bytes bytea, etag text);`;

const REMOVAL_CHUNK = 10_000;
const SAMPLE_SIZE = 10;

/**
 * A run's changes to one source's profiles, staged on a reserved connection in temporary tables and
 * applied in one transaction, so the directory never holds half a run. Rows stream in through COPY as
 * the source pages arrive; unchanged people (same content hash) are never rewritten.
 */
export class ProfileStage {
  private seq = 0;
  private removedIds = new Set<string>();
  private sealed = false;

  private constructor(
    private readonly conn: Sql & { release(): void },
    private readonly sourceId: string,
    private readonly writer: CopyWriter,
  ) {}

  static async open(sql: Sql, sourceId: string): Promise<ProfileStage> {
    const conn = await sql.reserve();
    try {
      await conn.unsafe(CREATE_STAGE);
      const writer = await CopyWriter.open(conn, 'profile_stage', STAGE_COLUMNS);
      return new ProfileStage(conn, sourceId, writer);
    } catch (error) {
      conn.release();
      throw error;
    }
  }

  /** Queues people for staging; resolves when the database is ready for more (bounded memory). */
  async add(people: readonly StagedProfile[]): Promise<void> {
    if (people.length === 0) return;
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
    await this.writer.write(lines, people.length);
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
    if (counts.people < counts.n) {
      await conn`delete from profile_stage a using profile_stage b where a.graph_id = b.graph_id and a.seq < b.seq`;
    }
    let duplicates: Duplicate[] = [];
    if (counts.keys < counts.people) {
      const rows = await conn`
        delete from profile_stage a using profile_stage b
        where a.external_id = b.external_id and a.seq > b.seq
        returning a.external_id, a.display_name, a.email`;
      duplicates = rows.map((r) => ({ externalId: r.external_id, who: `${r.display_name} <${r.email}>` }));
    }
    // Temporary tables get no statistics by themselves; without them the joins below plan as nested loops.
    await conn`analyze profile_stage`;
    await conn`analyze removal_stage`;
    const [{ staged }] = await conn`select count(*)::int as staged from profile_stage`;
    return { staged, duplicates };
  }

  /** Who `apply` would remove, against how many are active: the deletion-safety check needs only this. */
  async removalPlan(mode: StageMode): Promise<RemovalPlan> {
    this.requireSealed();
    const conn = this.conn;
    const [{ removed }] = await conn`select count(*)::int as removed from (${this.removalIds(mode)}) r`;
    const [{ active }] = await conn`
      select count(*)::int as active from profiles where source_id = ${this.sourceId} and active`;
    const sample =
      removed === 0
        ? []
        : await conn`
          select display_name, email from profiles where id in (${this.removalIds(mode)})
          order by display_name, email limit ${SAMPLE_SIZE}`;
    return { removed, active, removalSample: sample.map((r) => ({ displayName: r.display_name, email: r.email })) };
  }

  /** What `apply` would do, without writing anything. */
  async plan(mode: StageMode): Promise<ProfilePlan> {
    this.requireSealed();
    const [upserts] = await this.conn`
      with r as (${this.resolved()})
      select count(*)::int as staged,
             count(*) filter (where p.id is null)::int as created,
             count(*) filter (where p.active and p.content_hash is distinct from r.content_hash)::int as changed,
             count(*) filter (where not p.active)::int as restored
      from r left join profiles p on p.source_id = ${this.sourceId} and p.external_id = r.external_id`;
    const updated = upserts.changed + upserts.restored;
    return {
      created: upserts.created,
      updated,
      restored: upserts.restored,
      unchanged: upserts.staged - upserts.created - updated,
      ...(await this.removalPlan(mode)),
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
  }

  /**
   * Writes the staged changes in one transaction; `alsoInTransaction` runs inside it with the counts (the
   * run record and the source's delta link), so either all of it is stored or none.
   */
  async apply(
    mode: StageMode,
    alsoInTransaction?: (tx: Sql, result: ApplyResult) => Promise<void>,
  ): Promise<ApplyResult> {
    this.requireSealed();
    const conn = this.conn;
    await conn`begin`;
    try {
      const [upserts] = await conn`
        with r as (${this.resolved()}),
        written as (
          insert into profiles (source_id, external_id, graph_id, first_name, last_name, display_name, email,
            job_title, department, office, business_phone, mobile_phone, employee_id, manager_external_id, content_hash)
          select ${this.sourceId}, external_id, graph_id, first_name, last_name, display_name, email,
            job_title, department, office, business_phone, mobile_phone, employee_id, manager_external_id, content_hash
          from r
          on conflict (source_id, external_id) do update set
            graph_id = excluded.graph_id, first_name = excluded.first_name, last_name = excluded.last_name,
            display_name = excluded.display_name, email = excluded.email, job_title = excluded.job_title,
            department = excluded.department, office = excluded.office, business_phone = excluded.business_phone,
            mobile_phone = excluded.mobile_phone, employee_id = excluded.employee_id,
            manager_external_id = excluded.manager_external_id, content_hash = excluded.content_hash,
            active = true, removed_at = null, last_synced_at = now()
          where profiles.content_hash is distinct from excluded.content_hash or not profiles.active
          returning xmax = 0 as created
        )
        select count(*) filter (where created)::int as created, count(*) filter (where not created)::int as updated,
               (select count(*)::int from profile_stage) as staged
        from written`;
      const removed = await conn`
        update profiles set active = false, removed_at = now() where id in (${this.removalIds(mode)})`;
      const result: ApplyResult = {
        created: upserts.created,
        updated: upserts.updated,
        unchanged: upserts.staged - upserts.created - upserts.updated,
        removed: removed.count,
        photos: await this.applyPhotos(),
      };
      await alsoInTransaction?.(conn, result);
      await conn`commit`;
      return result;
    } catch (error) {
      await conn`rollback`.catch(() => {});
      throw error;
    }
  }

  /** Drops the staging tables and returns the connection to the pool. */
  async close(): Promise<void> {
    if (!this.sealed) this.writer.abort(new Error('staging abandoned'));
    try {
      await this.conn`drop table if exists profile_stage, removal_stage, photo_stage`;
    } catch {
      // A broken connection took its temporary tables with it.
    } finally {
      this.conn.release();
    }
  }

  private requireSealed(): void {
    if (!this.sealed) throw new Error('ProfileStage: seal() must come first');
  }

  /**
   * Staged people as they will be stored: the manager's Entra id becomes the manager's external id
   * (found among the staged people first, then among the source's profiles, removed ones included; or the
   * stored one when the source did not say), and the content hash covers every stored attribute, so an
   * unchanged person compares equal and is not rewritten. A manager who is removed later stays referenced:
   * readers show the manager only while that profile is active, and a manager who returns is linked again.
   */
  private resolved() {
    const conn = this.conn;
    return conn`
      with m as (
        select s.*, case when s.keep_manager
          then (select manager_external_id from profiles
                where source_id = ${this.sourceId} and external_id = s.external_id)
          else coalesce(ms.external_id, mp.external_id) end as manager_external_id
        from profile_stage s
        left join profile_stage ms on ms.graph_id = s.manager_graph_id
        left join lateral (
          select external_id from profiles
          where ms.graph_id is null and s.manager_graph_id is not null
            and source_id = ${this.sourceId} and graph_id = s.manager_graph_id
          order by active desc, id desc limit 1
        ) mp on true
      )
      select graph_id, external_id, first_name, last_name, display_name, email, job_title, department, office,
             business_phone, mobile_phone, employee_id, manager_external_id,
             md5(row(graph_id, first_name, last_name, display_name, email, job_title, department, office,
                     business_phone, mobile_phone, employee_id, manager_external_id)::text) as content_hash
      from m`;
  }

  /**
   * Ids of the active profiles this run removes. Both modes: a profile whose Entra object now carries
   * another unique identifier (the person was re-keyed; the staged row replaces it). Written as a union of
   * plain joins so the planner hashes them; OR-ed EXISTS would rescan the stage for every profile.
   */
  private removalIds(mode: StageMode) {
    const conn = this.conn;
    const byMode =
      mode === 'full'
        ? conn`
          select p.id from profiles p
          where p.source_id = ${this.sourceId} and p.active
            and not exists (select 1 from profile_stage s where s.external_id = p.external_id)`
        : conn`
          select p.id from profiles p join removal_stage r on r.graph_id = p.graph_id
          where p.source_id = ${this.sourceId} and p.active
            and not exists (select 1 from profile_stage s where s.graph_id = p.graph_id)`;
    return conn`${byMode}
      union
      select p.id from profiles p join profile_stage s on s.graph_id = p.graph_id
      where p.source_id = ${this.sourceId} and p.active and s.external_id <> p.external_id`;
  }

  private async applyPhotos(): Promise<number> {
    const conn = this.conn;
    const target = conn`
      from photo_stage ps
      join profile_stage s on s.graph_id = ps.graph_id
      join profiles p on p.source_id = ${this.sourceId} and p.external_id = s.external_id`;
    const stored = await conn`
      insert into profile_photos (profile_id, content_type, bytes, etag)
      select p.id, ps.content_type, ps.bytes, ps.etag ${target} where ps.bytes is not null
      on conflict (profile_id) do update set content_type = excluded.content_type, bytes = excluded.bytes,
        etag = excluded.etag, updated_at = now()
      where profile_photos.etag is distinct from excluded.etag`;
    const dropped = await conn`
      delete from profile_photos ph using photo_stage ps
      join profile_stage s on s.graph_id = ps.graph_id
      join profiles p on p.source_id = ${this.sourceId} and p.external_id = s.external_id
      where ps.bytes is null and ph.profile_id = p.id`;
    await conn`
      update profiles p set photo_etag = ps.etag
      from photo_stage ps join profile_stage s on s.graph_id = ps.graph_id
      where p.source_id = ${this.sourceId} and p.external_id = s.external_id and p.photo_etag is distinct from ps.etag`;
    return stored.count + dropped.count;
  }
}
