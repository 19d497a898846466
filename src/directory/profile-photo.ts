import type { Queryable } from './people.ts';

export interface StoredPhoto {
  contentType: string;
  bytes: Buffer;
  etag: string;
}

/** The stored photo of an active profile; removed people's photos are never served. */
export async function readProfilePhoto(sql: Queryable, profileId: number): Promise<StoredPhoto | undefined> {
  if (!Number.isSafeInteger(profileId) || profileId <= 0) return undefined;
  const [row] = await sql<{ content_type: string; bytes: Buffer; etag: string }[]>`
    select ph.content_type, ph.bytes, ph.etag
    from profile_photos ph join profiles p on p.id = ph.profile_id
    where ph.profile_id = ${profileId} and p.active`;
  return row ? { contentType: row.content_type, bytes: row.bytes, etag: row.etag } : undefined;
}
