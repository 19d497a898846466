import { randomUUID } from 'node:crypto';
import type { DemoStack } from './stack.ts';

/** Entra changes for the incremental sync: three new hires in `groupId`, five promotions, two departures. */
export async function changeTenant(stack: DemoStack, groupId: string) {
  const group = stack.entra.tenant.groups.get(groupId);
  if (!group) throw new Error('the chosen group is gone from the emulator');
  const members = [...group.members]
    .map((id) => stack.entra.tenant.users.get(id))
    .filter((u) => u?.mail && u.surname && u.accountEnabled);
  const hires = ['Noor Haddad', 'Mateo Rossi', 'Ingrid Dahl'].map((name) => {
    const [givenName, surname] = name.split(' ');
    const local = `${givenName}.${surname}`.toLowerCase();
    return {
      id: randomUUID(),
      displayName: name,
      givenName,
      surname,
      mail: `${local}@contoso.com`,
      userPrincipalName: `${local}@contoso.com`,
      jobTitle: 'Software Engineer',
      department: 'Engineering',
      accountEnabled: true,
    };
  });
  const promoted = members.slice(0, 5).map((u) => ({ id: u!.id, jobTitle: `Senior ${u!.jobTitle ?? 'Engineer'}` }));
  const leaving = members.slice(5, 7).map((u) => u!.id);
  await control(stack, 'POST', 'users', [...hires, ...promoted]);
  await control(stack, 'POST', `groups/${groupId}/members`, { add: hires.map((h) => h.id) });
  for (const id of leaving) await control(stack, 'DELETE', `users/${id}`);
  return { hired: hires.length, promoted: promoted.length, left: leaving.length };
}

/** One call to the emulator's control API (the Entra admin's change); a refusal stops the caller. */
export async function control(stack: DemoStack, method: string, path: string, body?: unknown): Promise<void> {
  const response = await fetch(`${stack.entra.graphBaseUrl}/_emulator/${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok)
    throw new Error(`the emulator refused ${method} ${path}: ${response.status} ${await response.text()}`);
}
