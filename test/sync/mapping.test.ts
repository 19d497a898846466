import { describe, expect, it } from 'vitest';
import { DEFAULT_MAPPING, graphSelect, mapUser, UNMAPPED, validateMapping } from '../../src/sync/mapping.ts';

const adele = {
  id: '87d349ed-44d7-43e1-9a83-5f2406dee5bd',
  userPrincipalName: 'AdeleV@contoso.com',
  givenName: 'Adele',
  surname: 'Vance',
  displayName: 'Adele Vance',
  mail: 'AdeleV@contoso.com',
  jobTitle: 'Retail Manager',
  businessPhones: ['', '+1 425 555 0109'],
  onPremisesExtensionAttributes: { extensionAttribute3: 'E-1042' },
};

describe('mapUser', () => {
  it('maps with the defaults, lower-casing email and taking the first non-empty phone', () => {
    const result = mapUser(adele, DEFAULT_MAPPING, 'manager-id');
    expect(result).toEqual({
      ok: true,
      profile: expect.objectContaining({
        graphId: adele.id,
        externalId: adele.id,
        firstName: 'Adele',
        lastName: 'Vance',
        email: 'adelev@contoso.com',
        jobTitle: 'Retail Manager',
        department: null,
        businessPhone: '+1 425 555 0109',
        managerGraphId: 'manager-id',
      }),
    });
  });

  it('reads nested extension attributes and leaves unmapped fields empty', () => {
    const result = mapUser(adele, {
      ...DEFAULT_MAPPING,
      employeeId: 'onPremisesExtensionAttributes.extensionAttribute3',
      jobTitle: UNMAPPED,
    });
    expect(result.ok && result.profile.employeeId).toBe('E-1042');
    expect(result.ok && result.profile.jobTitle).toBeNull();
  });

  it('ignores a person lacking a required value, saying which and who', () => {
    expect(mapUser({ ...adele, surname: '  ' }, DEFAULT_MAPPING)).toEqual({
      ok: false,
      reason: 'missing Last name (surname)',
      who: 'AdeleV@contoso.com',
    });
    expect(mapUser({ ...adele, mail: null }, DEFAULT_MAPPING)).toMatchObject({
      ok: false,
      reason: 'missing Email (mail)',
    });
    expect(mapUser({ ...adele, mail: 'not an address' }, DEFAULT_MAPPING)).toMatchObject({
      ok: false,
      reason: 'Email (mail) is not an address',
    });
  });

  it('falls back to "first last" when the display name is missing', () => {
    const result = mapUser({ ...adele, displayName: undefined }, DEFAULT_MAPPING);
    expect(result.ok && result.profile.displayName).toBe('Adele Vance');
  });
});

describe('validateMapping', () => {
  it('accepts the defaults', () => {
    expect(validateMapping(DEFAULT_MAPPING)).toEqual({});
  });
  it('requires the four required fields and rejects unknown or non-unique attributes', () => {
    const problems = validateMapping({
      ...DEFAULT_MAPPING,
      email: UNMAPPED,
      firstName: 'favouriteColour',
      externalId: 'displayName',
    });
    expect(Object.keys(problems).sort()).toEqual(['email', 'externalId', 'firstName']);
    expect(problems.email).toContain('Email is required');
    expect(problems.firstName).toContain('not an Entra attribute');
    expect(problems.externalId).toContain('not unique');
  });
});

describe('graphSelect', () => {
  it('selects every mapped attribute once, top-level names only', () => {
    const select = graphSelect({ ...DEFAULT_MAPPING, employeeId: 'onPremisesExtensionAttributes.extensionAttribute3' });
    expect(select).toContain('onPremisesExtensionAttributes');
    expect(select).toContain('accountEnabled');
    expect(new Set(select).size).toBe(select.length);
  });
});
