import type { Sql } from '../db/client.ts';

/** Profile photos outside a sync run: serving them, and one-off writes. Runs stage photos with ProfileStage. */

export interface StoredPhoto {
  contentType: string;
  bytes: Buffer;
  etag: string;
}

export async function upsertPhoto(sql: Sql, profileId: number, photo: StoredPhoto): Promise<boolean> {
  const written = await sql.begin(async (tx) => {
    const result = await tx`
      insert into profile_photos (profile_id, content_type, bytes, etag)
      values (${profileId}, ${photo.contentType}, ${photo.bytes}, ${photo.etag})
      on conflict (profile_id) do update set content_type = excluded.content_type, bytes = excluded.bytes,
        etag = excluded.etag, updated_at = now()
      where profile_photos.etag is distinct from excluded.etag`;
    await tx`update profiles set photo_etag = ${photo.etag} where id = ${profileId} and photo_etag is distinct from ${photo.etag}`;
    return result.count;
  });
  return written > 0;
}

export async function getPhoto(sql: Sql, profileId: number): Promise<StoredPhoto | undefined> {
  const [row] = await sql`select content_type, bytes, etag from profile_photos where profile_id = ${profileId}`;
  return row ? { contentType: row.content_type, bytes: row.bytes, etag: row.etag } : undefined;
}

/** Entra object id → etag of the photo held, for the active profiles of a source that have one. */
export async function knownPhotoEtags(sql: Sql, sourceId: string): Promise<Map<string, string>> {
  const rows = await sql`
    select p.graph_id, ph.etag from profiles p join profile_photos ph on ph.profile_id = p.id
    where p.source_id = ${sourceId} and p.active`;
  return new Map(rows.map((r) => [r.graph_id, r.etag]));
}
