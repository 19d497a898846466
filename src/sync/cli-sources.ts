import { and, asc, eq } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { type Source, sources } from '../db/schema.ts';
import { createSource } from '../db/sources.ts';

/**
 * Sources for syncing from the terminal, before (or without) Slack: a tenant registered in application
 * mode under the pseudo team `cli`, or whichever single source exists.
 */

export const CLI_TEAM = 'cli';

const TENANT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class SourceChoiceError extends Error {}

/** The terminal's source for `tenantId`, created on first use (application mode: admin consent, no sign-in). */
export async function registerTenantSource(db: Db, tenantId: string): Promise<{ source: Source; created: boolean }> {
  if (!TENANT_ID.test(tenantId)) {
    throw new SourceChoiceError(`"${tenantId}" is not a tenant id: use the Directory (tenant) ID GUID from Entra.`);
  }
  const tenant = tenantId.toLowerCase();
  const [existing] = await db
    .select()
    .from(sources)
    .where(and(eq(sources.slackTeamId, CLI_TEAM), eq(sources.tenantId, tenant)));
  if (existing) return { source: existing, created: false };
  const source = await createSource(db, {
    slackTeamId: CLI_TEAM,
    tenantId: tenant,
    authMode: 'application',
    status: 'active',
  });
  return { source, created: true };
}

/** The source `sourceId`, or the only source there is. */
export async function chooseSource(db: Db, sourceId: string | undefined): Promise<Source> {
  if (sourceId) {
    const [source] = TENANT_ID.test(sourceId) ? await db.select().from(sources).where(eq(sources.id, sourceId)) : [];
    if (!source) throw new SourceChoiceError(`There is no source ${sourceId}.`);
    return source;
  }
  const all = await db.select().from(sources).orderBy(asc(sources.createdAt)).limit(20);
  if (all.length === 1) return all[0];
  if (all.length === 0) {
    throw new SourceChoiceError(
      'No Entra ID connection yet: connect one in Slack with /aad setup, or register a tenant with --register-tenant <tenant id>.',
    );
  }
  const list = all.map(
    (s) => `  ${s.id}  team ${s.slackTeamId}, tenant ${s.tenantId ?? '(not authorized)'}, ${s.status}`,
  );
  throw new SourceChoiceError(`Several sources exist; choose one with --source:\n${list.join('\n')}`);
}
