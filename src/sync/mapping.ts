import type { StagedProfile } from '../directory/profile-stage.ts';

/**
 * Entra attribute → profile field mapping: which fields exist, which are required, what an admin may
 * choose for each, and how one Graph user becomes a profile (or is ignored, with a reason).
 */

export const PROFILE_FIELDS = [
  { key: 'externalId', label: 'Unique Identifier', required: true, default: 'id' },
  { key: 'firstName', label: 'First name', required: true, default: 'givenName' },
  { key: 'lastName', label: 'Last name', required: true, default: 'surname' },
  { key: 'email', label: 'Email', required: true, default: 'mail' },
  { key: 'displayName', label: 'Display name', required: false, default: 'displayName' },
  { key: 'jobTitle', label: 'Job title', required: false, default: 'jobTitle' },
  { key: 'department', label: 'Department', required: false, default: 'department' },
  { key: 'office', label: 'Office', required: false, default: 'officeLocation' },
  { key: 'businessPhone', label: 'Business phone', required: false, default: 'businessPhones' },
  { key: 'mobilePhone', label: 'Mobile phone', required: false, default: 'mobilePhone' },
  { key: 'employeeId', label: 'Employee ID', required: false, default: 'employeeId' },
] as const;

export type ProfileFieldKey = (typeof PROFILE_FIELDS)[number]['key'];
export type Mapping = Record<ProfileFieldKey, string>;

/** "Not mapped": allowed for optional fields only. */
export const UNMAPPED = 'none';

/** Entra user attributes an admin may map, with what Graph calls them and how they read to a person. */
export const ENTRA_ATTRIBUTES: { name: string; label: string }[] = [
  { name: 'id', label: 'Object ID (id)' },
  { name: 'userPrincipalName', label: 'User principal name' },
  { name: 'mail', label: 'Mail' },
  { name: 'givenName', label: 'Given name' },
  { name: 'surname', label: 'Surname' },
  { name: 'displayName', label: 'Display name' },
  { name: 'jobTitle', label: 'Job title' },
  { name: 'department', label: 'Department' },
  { name: 'officeLocation', label: 'Office location' },
  { name: 'businessPhones', label: 'Business phones (first)' },
  { name: 'mobilePhone', label: 'Mobile phone' },
  { name: 'employeeId', label: 'Employee ID' },
  { name: 'employeeType', label: 'Employee type' },
  { name: 'companyName', label: 'Company name' },
  { name: 'city', label: 'City' },
  { name: 'country', label: 'Country' },
  { name: 'onPremisesSamAccountName', label: 'On-premises SAM account name' },
  ...Array.from({ length: 15 }, (_, i) => ({
    name: `onPremisesExtensionAttributes.extensionAttribute${i + 1}`,
    label: `Extension attribute ${i + 1}`,
  })),
];

const ATTRIBUTE_NAMES = new Set(ENTRA_ATTRIBUTES.map((a) => a.name));

export const DEFAULT_MAPPING: Mapping = Object.fromEntries(PROFILE_FIELDS.map((f) => [f.key, f.default])) as Mapping;

/** Problems keyed by profile field; empty when the mapping is usable. */
export function validateMapping(candidate: Record<string, unknown>): Partial<Record<ProfileFieldKey, string>> {
  const problems: Partial<Record<ProfileFieldKey, string>> = {};
  for (const field of PROFILE_FIELDS) {
    const value = candidate[field.key];
    if (value === undefined || value === null || value === '' || value === UNMAPPED) {
      if (field.required) problems[field.key] = `${field.label} is required: choose the Entra attribute that holds it.`;
      continue;
    }
    if (typeof value !== 'string' || !ATTRIBUTE_NAMES.has(value)) {
      problems[field.key] = `"${String(value).slice(0, 60)}" is not an Entra attribute this app can read.`;
    }
  }
  const unique = candidate.externalId;
  if (
    typeof unique === 'string' &&
    ['displayName', 'givenName', 'surname', 'jobTitle', 'department'].includes(unique)
  ) {
    problems.externalId = `${unique} is not unique per person and changes over time: use Object ID, UPN, mail or employee ID.`;
  }
  return problems;
}

/** Normalises a stored mapping: defaults for fields it lacks, so old rows keep working when fields are added. */
export function completeMapping(stored: Record<string, string> | null | undefined): Mapping {
  return { ...DEFAULT_MAPPING, ...(stored ?? {}) } as Mapping;
}

/** The `$select` list for Graph: every mapped attribute plus what the sync itself needs. */
export function graphSelect(mapping: Mapping): string[] {
  const names = new Set(['id', 'accountEnabled', 'userType', 'displayName', 'userPrincipalName']);
  for (const attribute of Object.values(mapping)) {
    if (attribute !== UNMAPPED) names.add(attribute.split('.')[0]);
  }
  return [...names];
}

export type GraphUserLike = Record<string, unknown> & { id: string };

/** A valid person, as the directory stages them; the manager is resolved to their unique identifier there. */
export type MappedProfile = Omit<StagedProfile, 'keepManager'>;

export type MapResult = { ok: true; profile: MappedProfile } | { ok: false; reason: string; who: string };

function readAttribute(user: GraphUserLike, attribute: string): string | null {
  if (attribute === UNMAPPED) return null;
  const [head, tail] = attribute.split('.');
  let value: unknown = user[head];
  if (tail !== undefined) value = value && typeof value === 'object' ? (value as Record<string, unknown>)[tail] : null;
  if (Array.isArray(value)) value = value.find((v) => typeof v === 'string' && v.trim() !== '') ?? null;
  if (typeof value === 'number' || typeof value === 'boolean') value = String(value);
  if (typeof value !== 'string') return null;
  const trimmed = value.trim();
  return trimmed === '' ? null : trimmed;
}

/** Applies `mapping` to one Graph user; a person lacking a required value is ignored with a reason. */
export function mapUser(user: GraphUserLike, mapping: Mapping, managerGraphId: string | null = null): MapResult {
  const read = (key: ProfileFieldKey) => readAttribute(user, mapping[key]);
  const who = readAttribute(user, 'userPrincipalName') ?? readAttribute(user, 'displayName') ?? user.id;
  for (const field of PROFILE_FIELDS) {
    if (field.required && read(field.key) === null) {
      return { ok: false, reason: `missing ${field.label} (${mapping[field.key]})`, who };
    }
  }
  const email = read('email')!;
  if (!/^[^\s@]+@[^\s@]+$/.test(email)) return { ok: false, reason: `Email (${mapping.email}) is not an address`, who };
  const firstName = read('firstName')!;
  const lastName = read('lastName')!;
  return {
    ok: true,
    profile: {
      graphId: user.id,
      externalId: read('externalId')!,
      firstName,
      lastName,
      displayName: read('displayName') ?? `${firstName} ${lastName}`,
      email: email.toLowerCase(),
      jobTitle: read('jobTitle'),
      department: read('department'),
      office: read('office'),
      businessPhone: read('businessPhone'),
      mobilePhone: read('mobilePhone'),
      employeeId: read('employeeId'),
      managerGraphId,
    },
  };
}
