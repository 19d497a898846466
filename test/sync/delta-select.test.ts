import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { EmulatedUser } from '../../src/emulators/entra/index.ts';
import { runSync } from '../../src/sync/engine.ts';
import { type SyncFixture, startSyncFixture } from '../helpers/sync.ts';

/**
 * Graph's delta tracks only the properties its first request selected (the emulator does the same), so a
 * delta run sees a change only when the product asked for that attribute. Every mapped attribute must
 * therefore reach the next delta run — including one an admin maps after the delta link was issued.
 */

let f: SyncFixture;

beforeAll(async () => {
  f = await startSyncFixture({ users: 120, groups: 4, seed: 'delta-select' });
});
afterAll(async () => {
  await f?.stop();
});
beforeEach(async () => {
  await f.emu.control('POST', 'reset');
});

const sync = (sourceId: string) => runSync(f.deps, { sourceId, trigger: 'cli', requestedBy: 'test' });

async function row(sourceId: string, graphId: string): Promise<Record<string, unknown>> {
  const [profile] = await f.database.sql`
    select first_name, last_name, display_name, email, job_title, department, office, business_phone,
      mobile_phone, employee_id, manager_external_id
    from profiles where source_id = ${sourceId} and graph_id = ${graphId}`;
  return profile;
}

function validPeople(count: number): EmulatedUser[] {
  return [...f.emu.emulator.tenant.users.values()]
    .filter((u) => u.accountEnabled && u.givenName && u.surname && u.mail && u.userType === 'Member')
    .slice(0, count);
}

describe('delta runs see a change to every mapped attribute', () => {
  it('picks up a change to each default-mapped attribute and the manager in the next delta run', async () => {
    const sourceId = await f.createSource();
    expect((await sync(sourceId)).mode).toBe('full');
    const people = validPeople(11);
    const changes: [string, unknown, string, unknown][] = [
      ['givenName', 'Anneliese', 'first_name', 'Anneliese'],
      ['surname', 'Zweig', 'last_name', 'Zweig'],
      ['mail', 'moved.mail@contoso.com', 'email', 'moved.mail@contoso.com'],
      ['displayName', 'Shown Differently', 'display_name', 'Shown Differently'],
      ['jobTitle', 'Night Auditor', 'job_title', 'Night Auditor'],
      ['department', 'Night Shift', 'department', 'Night Shift'],
      ['officeLocation', 'Tower 9', 'office', 'Tower 9'],
      ['businessPhones', ['+1 206 555 0111'], 'business_phone', '+1 206 555 0111'],
      ['mobilePhone', '+1 425 555 0199', 'mobile_phone', '+1 425 555 0199'],
      ['employeeId', 'E-424242', 'employee_id', 'E-424242'],
    ];
    await f.emu.control(
      'POST',
      'users',
      changes.map(([attribute, value], i) => ({ id: people[i].id, [attribute]: value })),
    );
    const newManager = people[0];
    await f.emu.control('POST', 'users', [{ id: people[10].id, manager: { id: newManager.id } }]);

    const outcome = await sync(sourceId);
    expect(outcome).toMatchObject({ status: 'succeeded', mode: 'delta' });
    for (const [i, [, , column, expected]] of changes.entries()) {
      expect((await row(sourceId, people[i].id))[column], column).toBe(expected);
    }
    expect((await row(sourceId, people[10].id)).manager_external_id).toBe(newManager.id);
  });

  it('after an admin maps employeeType and an extension attribute, the next delta runs track them', async () => {
    const sourceId = await f.createSource();
    await sync(sourceId);
    await f.database.sql`
      update sources set mapping = ${f.database.sql.json({
        jobTitle: 'employeeType',
        department: 'onPremisesExtensionAttributes.extensionAttribute7',
      })} where id = ${sourceId}`;
    const [typed, extended] = validPeople(2);
    await f.emu.control('POST', 'users', [
      { id: typed.id, employeeType: 'Employee' },
      { id: extended.id, onPremisesExtensionAttributes: { extensionAttribute7: 'Cost centre 100' } },
    ]);
    // The delta link in hand tracks the old $select: the new mapping needs a full read first.
    const remapped = await sync(sourceId);
    expect(remapped).toMatchObject({ status: 'succeeded', mode: 'full' });
    expect(await row(sourceId, typed.id)).toMatchObject({ job_title: 'Employee' });
    expect(await row(sourceId, extended.id)).toMatchObject({ department: 'Cost centre 100' });

    await f.emu.control('POST', 'users', [
      { id: typed.id, employeeType: 'Contractor' },
      { id: extended.id, onPremisesExtensionAttributes: { extensionAttribute7: 'Cost centre 200' } },
    ]);
    const delta = await sync(sourceId);
    expect(delta).toMatchObject({ status: 'succeeded', mode: 'delta' });
    expect(delta.counts.updated).toBe(2);
    expect(await row(sourceId, typed.id)).toMatchObject({ job_title: 'Contractor' });
    expect(await row(sourceId, extended.id)).toMatchObject({ department: 'Cost centre 200' });
  });
});
