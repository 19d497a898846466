import { createHash } from 'node:crypto';
import { graphSelect, type Mapping, PROFILE_FIELDS } from './mapping.ts';

/**
 * Which kind of read a run does. A delta read is only trusted when it continues a read of the same scope
 * (same groups, same mapping): otherwise people who entered the scope, or attributes newly mapped, would
 * never show up as changes. A full reconciliation also runs at least daily, to catch what deltas miss.
 */

export const FULL_SYNC_EVERY_MS = 24 * 3600 * 1000;

export type RequestedMode = 'auto' | 'full' | 'preview';

export function deltaScopeOf(groupIds: readonly string[], mapping: Mapping): string {
  const canonical = JSON.stringify({
    groups: [...groupIds].sort(),
    mapping: PROFILE_FIELDS.map((f) => [f.key, mapping[f.key]]),
    select: [...graphSelect(mapping)].sort(),
  });
  return createHash('sha256').update(canonical).digest('base64url');
}

export function chooseMode(
  requested: RequestedMode,
  source: { usersDeltaLink: string | null; deltaScope: string | null; lastFullSyncAt: Date | null },
  scope: string,
  now: Date,
): { mode: 'full' | 'delta' | 'preview'; why: string } {
  if (requested === 'preview') return { mode: 'preview', why: 'preview requested' };
  if (requested === 'full') return { mode: 'full', why: 'full sync requested' };
  if (!source.usersDeltaLink || !source.lastFullSyncAt) return { mode: 'full', why: 'first sync' };
  if (source.deltaScope !== scope) return { mode: 'full', why: 'groups or mappings changed' };
  if (now.getTime() - source.lastFullSyncAt.getTime() >= FULL_SYNC_EVERY_MS) {
    return { mode: 'full', why: 'daily full reconciliation' };
  }
  return { mode: 'delta', why: 'changes since the last sync' };
}
