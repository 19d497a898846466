import type { FullReadReport } from '../../src/azure/users-full.ts';
import { listRecentRuns } from '../../src/sync/runs.ts';
import type { SyncFixture } from './sync.ts';

/** Every profile's content (ids, times and row versions left out), in one digest, with the row count. */
export async function profileContent(f: SyncFixture, sourceId: string): Promise<{ digest: string; rows: number }> {
  const [row] = await f.database.sql`
    select md5(coalesce(string_agg(concat_ws('|', graph_id, external_id, first_name, last_name, display_name, email,
      job_title, department, office, business_phone, mobile_phone, employee_id, manager_external_id, extra::text,
      active), E'\\n' order by graph_id), '')) as digest, count(*)::int as rows
    from profiles where source_id = ${sourceId}`;
  return { digest: row.digest, rows: row.rows };
}

/** How the source's last run read Graph (`details.fullRead` of its run record). */
export async function fullReadOf(f: SyncFixture, sourceId: string): Promise<FullReadReport> {
  const [run] = await listRecentRuns(f.database.db, sourceId, 1);
  return run.details.fullRead as FullReadReport;
}
