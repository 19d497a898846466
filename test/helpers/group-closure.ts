import type { EmulatedGroup, EmulatedUser } from '../../src/emulators/entra/index.ts';

/** The tests' own transitive closure over the emulated groups: the users and groups (the start included) reachable. */
export function groupClosure(
  tenant: { groups: ReadonlyMap<string, EmulatedGroup>; users: ReadonlyMap<string, EmulatedUser> },
  groupIds: readonly string[],
): { users: Set<string>; groups: Set<string> } {
  const users = new Set<string>();
  const groups = new Set<string>();
  const visit = (id: string) => {
    if (groups.has(id)) return;
    groups.add(id);
    for (const member of tenant.groups.get(id)?.members ?? []) {
      if (tenant.groups.has(member)) visit(member);
      else if (tenant.users.has(member)) users.add(member);
    }
  };
  groupIds.forEach(visit);
  return { users, groups };
}
