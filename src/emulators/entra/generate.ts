import { graphTimestamp } from './http.ts';
import {
  COMMUNITY_GROUPS,
  DEPARTMENTS,
  type Department,
  GIVEN_NAMES,
  GUEST_DOMAINS,
  OFFICES,
  type Office,
  PROJECT_NAMES,
  SURNAMES,
} from './names.ts';
import { GeneratedPhoto } from './photos.ts';
import { Random } from './random.ts';
import { blankUser, type EmulatedGroup, type EmulatedTenant, type EmulatedUser } from './tenant.ts';

/**
 * Builds a deterministic tenant from a seed: a company with a CEO, department heads and a reporting tree
 * under each, offices on three continents, guests from partner companies, and groups that nest (teams
 * inside departments inside "All Staff"). Shares of awkward data (no mail, no surname, disabled accounts)
 * are deliberate: a sync has to cope with them.
 */

export interface GenerateOptions {
  users: number;
  groups: number;
  seed: string | number;
  /** Share of members with a photo, 0..1. */
  photoShare: number;
  tenantId?: string;
  /** The organisation the tenant belongs to (default Contoso): its name, and domains `<name>.com`, `<name>.onmicrosoft.com`. */
  company?: string;
}

export interface GeneratedTenant {
  tenant: EmulatedTenant;
  /** The Global Administrator the authorize endpoint signs in by default. */
  adminId: string;
  /** An ordinary member, signed in when the emulator is told to sign in a non-admin. */
  memberId: string;
}

interface Company {
  name: string;
  domain: string;
  initialDomain: string;
}

function companyNamed(name: string): Company {
  const word = asciiWord(name).replace(/[^a-z0-9-]/g, '');
  if (!word) throw new Error(`the company name '${name}' has no letters to make a domain of`);
  return { name, domain: `${word}.com`, initialDomain: `${word}.onmicrosoft.com` };
}
const GUEST_SHARE = 0.03;
const NO_MAIL_SHARE = 0.03;
const NO_SURNAME_SHARE = 0.02;
const DISABLED_SHARE = 0.02;
const CONTRACTOR_SHARE = 0.08;
/** Direct reports per manager in the generated reporting tree. */
const SPAN = 6;
const CREATED_FROM = Date.UTC(2019, 0, 7, 9, 0, 0);
const HOUR = 3_600_000;
const HISTORY_MS = 6 * 365 * 24 * HOUR;

interface Placement {
  department: Department;
  /** Position within the department (0 = its head). */
  rank: number;
  depth: number;
  hasReports: boolean;
}

export function generateTenant(options: GenerateOptions): GeneratedTenant {
  const random = new Random(`${options.seed}`);
  const tenantId = (options.tenantId ?? new Random(`${options.seed}:tenant`).guid()).toLowerCase();
  const company = companyNamed(options.company ?? 'Contoso');
  const total = Math.max(1, Math.floor(options.users));
  const guestCount = total > 20 ? Math.round(total * GUEST_SHARE) : 0;
  const memberCount = total - guestCount;
  const upnCounts = new Map<string, number>();
  // Hire dates spread over the company's history, however many people it has.
  const hireStep = Math.min(7 * HOUR, HISTORY_MS / memberCount);
  const users = new Map<string, EmulatedUser>();
  const members: EmulatedUser[] = [];
  const placements = new Map<string, Placement>();
  const byDepartment = new Map<Department, EmulatedUser[]>();

  // Heads first so every department has one whenever the tenant is big enough to hold them all.
  for (let i = 0; i < memberCount; i++) {
    const department =
      i === 0 ? null : i <= DEPARTMENTS.length ? DEPARTMENTS[i - 1] : random.weighted(DEPARTMENTS, DEPARTMENT_WEIGHTS);
    const office = i === 0 ? OFFICES[0] : random.weighted(OFFICES, OFFICE_WEIGHTS);
    const user = makeMember(random, i, office, upnCounts, hireStep, company);
    if (department) {
      const colleagues = byDepartment.get(department) ?? [];
      const rank = colleagues.length;
      const parentRank = Math.floor((rank - 1) / SPAN);
      const parent = rank === 0 ? null : placements.get(colleagues[parentRank].id)!;
      user.managerId = rank === 0 ? members[0].id : colleagues[parentRank].id;
      colleagues.push(user);
      byDepartment.set(department, colleagues);
      placements.set(user.id, { department, rank, depth: parent ? parent.depth + 1 : 0, hasReports: false });
      if (parent) parent.hasReports = true;
    }
    members.push(user);
    users.set(user.id, user);
  }

  for (const user of members) {
    const placement = placements.get(user.id);
    user.department = placement ? placement.department.name : 'Executive';
    user.jobTitle = placement ? titleFor(random, placement) : 'Chief Executive Officer';
    user.onPremisesExtensionAttributes = costCentre(user.department);
    const leader = !placement || placement.depth <= 1;
    if (!leader) applyGaps(random, user);
  }

  for (let i = 0; i < guestCount; i++) {
    const guest = makeGuest(random, i, upnCounts, company);
    users.set(guest.id, guest);
  }

  const it = byDepartment.get(DEPARTMENTS.find((d) => d.name === 'IT')!);
  const admin = it?.[0] ?? members[0];
  const admins = new Set([admin.id]);
  if (it?.[1]) {
    it[1].jobTitle = 'Identity Administrator';
    admins.add(it[1].id);
  }
  const member = members.find((u) => !admins.has(u.id) && u.accountEnabled && u.mail && u.surname) ?? admin;

  const photos = new Map<string, GeneratedPhoto>();
  for (const user of members) {
    if (random.chance(options.photoShare)) photos.set(user.id, new GeneratedPhoto(user.id, 1));
  }

  const tenant: EmulatedTenant = {
    id: tenantId,
    displayName: company.name,
    domain: company.domain,
    initialDomain: company.initialDomain,
    users,
    deletedUsers: new Map(),
    groups: buildGroups(random, options.groups, members, placements, byDepartment, users, admins, company),
    photos,
    adminIds: admins,
  };
  return { tenant, adminId: admin.id, memberId: member.id };
}

const DEPARTMENT_WEIGHTS = DEPARTMENTS.map((d) => d.weight);
const OFFICE_WEIGHTS = OFFICES.map((o) => o.weight);

function makeMember(
  random: Random,
  index: number,
  office: Office,
  upnCounts: Map<string, number>,
  hireStep: number,
  company: Company,
): EmulatedUser {
  const givenName = random.pick(GIVEN_NAMES);
  const surname = random.pick(SURNAMES);
  const upn = `${uniqueLocalPart(`${asciiWord(givenName)}.${asciiWord(surname)}`, upnCounts)}@${company.domain}`;
  const floor = random.int(1, 9);
  return {
    id: random.guid(),
    userPrincipalName: upn,
    displayName: `${givenName} ${surname}`,
    givenName,
    surname,
    mail: upn,
    jobTitle: null,
    department: null,
    officeLocation: `${office.city} ${floor}.${random.int(1, 40) + floor * 100}`,
    businessPhones: [office.phone((n) => random.digits(n))],
    mobilePhone: random.chance(0.7) ? office.mobile((n) => random.digits(n)) : null,
    employeeId: String(100001 + index),
    employeeType: random.chance(CONTRACTOR_SHARE) ? 'Contractor' : 'Employee',
    companyName: company.name,
    city: office.city,
    country: office.country,
    usageLocation: office.usageLocation,
    preferredLanguage: office.preferredLanguage,
    accountEnabled: true,
    userType: 'Member',
    createdDateTime: graphTimestamp(CREATED_FROM + Math.floor(index * hireStep) + random.int(0, HOUR)),
    deletedDateTime: null,
    managerId: null,
  };
}

function makeGuest(random: Random, index: number, upnCounts: Map<string, number>, company: Company): EmulatedUser {
  const givenName = random.pick(GIVEN_NAMES);
  const surname = random.pick(SURNAMES);
  const domain = random.pick(GUEST_DOMAINS);
  const mail = `${uniqueLocalPart(`${asciiWord(givenName)}.${asciiWord(surname)}`, upnCounts)}@${domain}`;
  const upn = `${mail.replace('@', '_')}#EXT#@${company.initialDomain}`;
  const created = graphTimestamp(CREATED_FROM + HISTORY_MS / 2 + index * HOUR);
  return {
    ...blankUser(random.guid(), upn, `${givenName} ${surname}`, created),
    givenName: random.chance(0.5) ? givenName : null,
    mail,
    companyName: random.chance(0.5) ? domainCompany(domain) : null,
    userType: 'Guest',
  };
}

/** People below director level may lack a mailbox or a surname, or be disabled; leaders never are. */
function applyGaps(random: Random, user: EmulatedUser): void {
  if (random.chance(NO_SURNAME_SHARE)) {
    user.surname = null;
    user.displayName = user.givenName ?? user.displayName;
  }
  if (random.chance(NO_MAIL_SHARE)) user.mail = null;
  if (random.chance(DISABLED_SHARE)) user.accountEnabled = false;
}

function titleFor(random: Random, placement: Placement): string {
  const { department, depth, hasReports } = placement;
  if (depth === 0) return department.head;
  if (depth === 1) return `Director of ${department.name}`;
  if (hasReports)
    return depth === 2 ? `${department.name} Manager` : `Lead ${random.pick(department.individualTitles)}`;
  return random.pick(department.individualTitles);
}

const costCentres = new Map<string, Record<string, string | null>>();

/** Shared per department: 100,000 users need not carry 100,000 copies of the same cost centre. */
function costCentre(department: string): Record<string, string | null> {
  let attributes = costCentres.get(department);
  if (!attributes) {
    const code = 1000 + [...department].reduce((sum, c) => sum + c.charCodeAt(0), 0);
    attributes = { extensionAttribute1: `CC-${code}` };
    for (let i = 2; i <= 15; i++) attributes[`extensionAttribute${i}`] = null;
    costCentres.set(department, attributes);
  }
  return attributes;
}

function uniqueLocalPart(base: string, counts: Map<string, number>): string {
  const seen = (counts.get(base) ?? 0) + 1;
  counts.set(base, seen);
  return seen === 1 ? base : `${base}${seen}`;
}

const asciiWords = new Map<string, string>();

/** "Zoë" → "zoe", "O'Brien" → "obrien", "Van der Berg" → "vanderberg" (memoised: names repeat a lot). */
function asciiWord(word: string): string {
  let ascii = asciiWords.get(word);
  if (ascii === undefined) {
    ascii = toAscii(word);
    asciiWords.set(word, ascii);
  }
  return ascii;
}

function toAscii(word: string): string {
  return word
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .replace(/ø/g, 'o')
    .replace(/ł/g, 'l')
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '');
}

function domainCompany(domain: string): string {
  const name = domain.split('.')[0].replace(/-/g, ' ');
  return name.replace(/\b\w/g, (c) => c.toUpperCase());
}

// ---- groups ----

interface GroupDraft {
  group: EmulatedGroup;
  /** Users and drafts (nested groups) as direct members. */
  members: (EmulatedUser | GroupDraft)[];
}

function buildGroups(
  random: Random,
  wanted: number,
  members: EmulatedUser[],
  placements: Map<string, Placement>,
  byDepartment: Map<Department, EmulatedUser[]>,
  users: Map<string, EmulatedUser>,
  admins: Set<string>,
  company: Company,
): Map<string, EmulatedGroup> {
  let created = 0;
  const draft = (displayName: string, description: string, kind: 'security' | 'unified' | 'dynamic'): GroupDraft => {
    const nickname = asciiWord(displayName.replace(/\s+/g, '-'));
    const unified = kind === 'unified';
    const group: EmulatedGroup = {
      id: random.guid(),
      displayName,
      description,
      mail: unified ? `${nickname}@${company.domain}` : null,
      mailEnabled: unified,
      mailNickname: nickname,
      securityEnabled: !unified,
      groupTypes: unified ? ['Unified'] : kind === 'dynamic' ? ['DynamicMembership'] : [],
      visibility: unified ? (random.chance(0.7) ? 'Public' : 'Private') : null,
      membershipRule: null,
      createdDateTime: graphTimestamp(CREATED_FROM + created++ * 86_400_000 * 11),
      members: new Set(),
    };
    return { group, members: [] };
  };

  const allStaff = draft('All Staff', `Every department of ${company.name} (a group of groups).`, 'security');
  const departmentDrafts: GroupDraft[] = [];
  const nested: GroupDraft[] = [];
  for (const department of DEPARTMENTS) {
    const people = byDepartment.get(department) ?? [];
    const group = draft(department.name, `Everyone in ${department.name}.`, 'security');
    departmentDrafts.push(group);
    const subgroups =
      department.teams?.map((team) => draft(`${team} ${department.name}`, `The ${team} team.`, 'security')) ??
      (department.name === 'Sales'
        ? (['EMEA', 'Americas', 'APAC'] as const).map((region) =>
            draft(`Sales ${region}`, `Sales in ${region}.`, 'security'),
          )
        : []);
    nested.push(...subgroups);
    group.members.push(...subgroups);
    for (const person of people) {
      const placement = placements.get(person.id)!;
      if (subgroups.length === 0 || placement.depth <= 1) group.members.push(person);
      else if (department.name === 'Sales') {
        const region = OFFICES.find((o) => o.city === person.city)!.region;
        subgroups[['EMEA', 'Americas', 'APAC'].indexOf(region)].members.push(person);
      } else subgroups[placement.rank % subgroups.length].members.push(person);
    }
  }
  allStaff.members.push(...departmentDrafts);

  const executives = draft('Executives', 'The CEO and the heads of departments.', 'security');
  executives.members.push(members[0], ...DEPARTMENTS.flatMap((d) => byDepartment.get(d)?.slice(0, 1) ?? []));
  const guests = [...users.values()].filter((u) => u.userType === 'Guest');
  const partners = draft('External Partners', 'Guests from partner companies.', 'security');
  partners.members = guests;
  const itAdmins = draft('IT Admins', `Administrators of the ${company.name} tenant.`, 'security');
  itAdmins.members.push(...members.filter((u) => admins.has(u.id)));
  const contractors = draft('Contractors', 'People employed through agencies.', 'security');
  contractors.members = members.filter((u) => u.employeeType === 'Contractor');
  const alumni = draft('Alumni Network', 'Former colleagues (no members yet).', 'unified');

  const offices = new Map(
    OFFICES.map((office) => {
      const group = draft(`${office.city} Office`, `Everyone based in ${office.city}.`, 'dynamic');
      group.group.membershipRule = `(user.city -eq "${office.city}")`;
      return [office.city, group];
    }),
  );
  for (const user of members) offices.get(user.city!)?.members.push(user);
  const randomMembers = (share: number, minimum: number) =>
    members
      .filter(() => random.chance(share))
      .slice(0, 5000)
      .concat(members.slice(1, 1 + minimum));
  const communities = COMMUNITY_GROUPS.map((name) => {
    const group = draft(name, `${name}: open to everyone.`, 'unified');
    group.members = [...new Set(randomMembers(0.01, 3))];
    return group;
  });
  const projects: GroupDraft[] = [];
  const fixedCount = 1 + departmentDrafts.length + nested.length + 5 + offices.size + communities.length;
  for (let i = 0; fixedCount + projects.length < wanted; i++) {
    const round = Math.floor(i / PROJECT_NAMES.length);
    const name = `Project ${PROJECT_NAMES[i % PROJECT_NAMES.length]}${round > 0 ? ` ${round + 1}` : ''}`;
    const group = draft(name, `Working group for ${name}.`, 'unified');
    group.members = [...new Set(randomMembers(0.002, 5))];
    projects.push(group);
  }

  const ordered = [
    allStaff,
    ...departmentDrafts,
    ...nested,
    executives,
    partners,
    itAdmins,
    contractors,
    alumni,
    ...offices.values(),
    ...communities,
    ...projects,
  ].slice(0, Math.max(0, wanted));
  const kept = new Set(ordered);
  const groups = new Map<string, EmulatedGroup>();
  for (const current of ordered) {
    for (const id of flatten(current, kept)) current.group.members.add(id);
    groups.set(current.group.id, current.group);
  }
  return groups;
}

/** Direct member ids; a nested group that did not make the cut is replaced by its own members. */
function flatten(draft: GroupDraft, kept: Set<GroupDraft>): string[] {
  const ids: string[] = [];
  for (const member of draft.members) {
    if (isDraft(member)) {
      if (kept.has(member)) ids.push(member.group.id);
      else ids.push(...flatten(member, kept));
    } else ids.push(member.id);
  }
  return ids;
}

function isDraft(member: EmulatedUser | GroupDraft): member is GroupDraft {
  return (member as GroupDraft).group !== undefined && (member as GroupDraft).members !== undefined;
}
