import type { Sql } from '../../db/client.ts';
import type { SourceStatus } from '../../db/schema.ts';

/** What the scheduler checks before each tick: whether the source exists, syncs, and can sign in. */
export interface SourceState {
  status: SourceStatus;
  syncEnabled: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Source ids are uuids; anything else names no source (and would be a type error in a query). */
export const isSourceId = (sourceId: string) => UUID.test(sourceId);

export async function loadSourceState(sql: Sql, sourceId: string): Promise<SourceState | undefined> {
  if (!isSourceId(sourceId)) return undefined;
  const [row] = await sql<{ status: SourceStatus; sync_enabled: boolean }[]>`
    select status, sync_enabled from sources where id = ${sourceId}`;
  return row && { status: row.status, syncEnabled: row.sync_enabled };
}
