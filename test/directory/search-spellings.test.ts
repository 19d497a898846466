import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SearchResult, searchPeople } from '../../src/directory/search.ts';
import { createSource, type FixturePerson, insertPeople, seedDirectory } from '../fixtures/people.ts';
import { startTestDatabase, type TestDatabase } from '../helpers/database.ts';

/**
 * /whois in any spelling: accents and case folded both ways, names in other scripts by the prefix a
 * colleague types, slips in titles and departments, a query that matches thousands ranked whole, and every
 * search kept inside its own source (a second source holds the same people).
 */

let database: TestDatabase;
let contosoId: string;
let bigId: string;
const scope = { teamId: 'T0CONTOSO' };

const INTERNATIONAL: FixturePerson[] = [
  { externalId: 'elodie', firstName: 'Élodie', lastName: 'Lefèvre', email: 'elodie.lefevre@contoso.com' },
  { externalId: 'jurgen', firstName: 'Jürgen', lastName: 'Müller', email: 'jurgen.muller@contoso.com' },
  // Stored without accents: an accented query finds it too.
  { externalId: 'jose', firstName: 'Jose', lastName: 'Nunez', email: 'jose.nunez@contoso.com' },
  { externalId: 'sergei', firstName: 'Сергей', lastName: 'Иванов', email: 's.ivanov@contoso.com' },
  { externalId: 'nikos', firstName: 'Νίκος', lastName: 'Παπαδόπουλος', email: 'n.papadopoulos@contoso.com' },
  { externalId: 'taro', firstName: '太郎', lastName: '田中', displayName: '田中 太郎', email: 't.tanaka@contoso.com' },
  { externalId: 'wei', firstName: '伟', lastName: '王', displayName: '王伟', email: 'wang.wei@contoso.com' },
  { externalId: 'minjun', firstName: '민준', lastName: '김', displayName: '김 민준', email: 'minjun.kim@contoso.com' },
  { externalId: 'mohammed', firstName: 'محمد', lastName: 'العلي', email: 'm.alali@contoso.com' },
  { externalId: 'ahmed', firstName: 'أحمد', lastName: 'حسن', email: 'a.hassan@contoso.com' },
  {
    externalId: 'rex',
    firstName: 'Rex',
    lastName: 'Markting',
    email: 'rex.markting@contoso.com',
    jobTitle: 'Buyer',
    department: 'Procurement',
  },
];

beforeAll(async () => {
  database = await startTestDatabase();
  ({ sourceId: contosoId } = await seedDirectory(database));
  await insertPeople(database, contosoId, INTERNATIONAL);
  // The same people in another workspace's directory: never found from Contoso's.
  const fabrikam = await createSource(database, 'T0FABRIKAM');
  await insertPeople(
    database,
    fabrikam,
    INTERNATIONAL.map((p) => ({ ...p, email: p.email?.replace('contoso', 'fabrikam') })),
  );
  // 5,000 logistics coordinators, then (stored last) the one who heads Logistics and the coordinator whose
  // name sorts first: a search that ranked only the first rows it read would miss both.
  bigId = await createSource(database, 'T0BIG');
  await database.sql`
    insert into profiles (source_id, external_id, graph_id, first_name, last_name, display_name, email, job_title,
      department, content_hash)
    select ${bigId}, 'c' || i, 'c' || i, f, l, f || ' ' || l, 'c' || i || '@big.example', 'Logistics Coordinator',
      'Operations', md5(i::text)
    from generate_series(1, 5000) i,
      lateral (select (array['Mia','Noah','Olga','Pedro','Rosa','Sven','Tamar','Uma'])[1 + i % 8] as f,
        (array['Berg','Costa','Dahl','Engel','Fox','Gray','Holm'])[1 + i % 7] || i as l) n`;
  await insertPeople(database, bigId, [
    { externalId: 'head', firstName: 'Zed', lastName: 'Zulu', jobTitle: 'Director', department: 'Logistics' },
    { externalId: 'first', firstName: 'Aaron', lastName: 'Aalto', jobTitle: 'Logistics Coordinator' },
  ]);
  await database.sql`vacuum analyze profiles`;
});
afterAll(async () => {
  await database?.stop();
});

const search = (text: string, options: Partial<Parameters<typeof searchPeople>[1]> = {}) =>
  searchPeople(database.sql, { scope, text, ...options });

function best(result: SearchResult, text = ''): string {
  if (result.kind !== 'match')
    throw new Error(`${text}: expected a match, got ${JSON.stringify(result).slice(0, 300)}`);
  return result.best.displayName;
}

async function sourcesOf(result: SearchResult): Promise<string[]> {
  const people =
    result.kind === 'match' ? [result.best, ...result.others] : result.kind === 'none' ? result.suggestions : [];
  const ids = people.map((p) => p.id);
  const rows = await database.sql<
    { source_id: string }[]
  >`select distinct source_id from profiles where id = any(${ids})`;
  return rows.map((r) => r.source_id);
}

describe('accents and case', () => {
  it.each([
    ['elodie', 'Élodie Lefèvre'],
    ['ELODIE LEFEVRE', 'Élodie Lefèvre'],
    ['Élodie', 'Élodie Lefèvre'],
    ['lefevre', 'Élodie Lefèvre'],
    ['zoe nunez', "Zoë O'Brien-Núñez"],
    ['ZOË NÚÑEZ', "Zoë O'Brien-Núñez"],
    ["o'brien", "Zoë O'Brien-Núñez"],
    ['muller', 'Jürgen Müller'],
    ['MÜLLER', 'Jürgen Müller'],
    ['jurgen muller', 'Jürgen Müller'],
    ['Müller, Jürgen', 'Jürgen Müller'],
    ['José Núñez', 'Jose Nunez'],
  ])('%j finds %s first', async (text, expected) => {
    expect(best(await search(text), text)).toBe(expected);
  });
});

describe('names in other scripts', () => {
  it.each([
    ['иван', 'Сергей Иванов'],
    ['Серг', 'Сергей Иванов'],
    ['ИВАНОВ СЕРГЕЙ', 'Сергей Иванов'],
    ['νικος', 'Νίκος Παπαδόπουλος'],
    ['ΝΊΚΟΣ', 'Νίκος Παπαδόπουλος'],
    ['Παπα', 'Νίκος Παπαδόπουλος'],
    ['田中', '田中 太郎'],
    ['田', '田中 太郎'],
    ['太郎', '田中 太郎'],
    ['王', '王伟'],
    ['王伟', '王伟'],
    ['김', '김 민준'],
    ['민준', '김 민준'],
    ['محمد', 'محمد العلي'],
    ['العل', 'محمد العلي'],
    // Typed without the hamza, as most people type it.
    ['احمد', 'أحمد حسن'],
  ])('%j finds %s first', async (text, expected) => {
    expect(best(await search(text), text)).toBe(expected);
  });
});

describe('slips in titles and departments', () => {
  it('forgives them', async () => {
    const engineer = await search('sofware enginer');
    expect(engineer.kind === 'match' && engineer.best.jobTitle).toMatch(/Software Engineer/);
    const payroll = await search('payrol manger');
    expect(payroll.kind === 'match' && payroll.best.jobTitle).toBe('Payroll Manager');
    const research = await search('reserch');
    expect(research.kind === 'match' && [research.best.jobTitle, research.best.department].join(' ')).toMatch(
      /Research/,
    );
  });

  it('ranks them below exact and prefix matches', async () => {
    // "markting" is Rex's surname and a slip for Marketing: Rex alone, nobody from Marketing beside him.
    const rex = await search('markting');
    expect(best(rex)).toBe('Rex Markting');
    expect(rex.kind === 'match' && rex.others).toEqual([]);
    const marketing = await search('markting', { scope: { sourceIds: [contosoId] } });
    expect(best(marketing)).toBe('Rex Markting');
    const slip = await search('finanse');
    expect(slip.kind === 'match' && slip.best.department).toBe('Finance');
  });
});

describe('a query matching 5,000 people', () => {
  it('ranks them all: the best-ranked come first, not the first rows read', async () => {
    const result = await search('logistics', { scope: { teamId: 'T0BIG' } });
    if (result.kind !== 'match') throw new Error('expected a match');
    // The department head (a whole word of the department) above every coordinator, then coordinators by name.
    expect(result.best.displayName).toBe('Zed Zulu');
    const expected = await database.sql<{ display_name: string }[]>`
      select display_name from profiles
      where source_id = ${bigId} and job_title = 'Logistics Coordinator'
      order by lower(display_name) collate "C", id limit 5`;
    expect(result.others.map((p) => p.displayName)).toEqual(expected.map((r) => r.display_name));
    expect(result.others[0].displayName).toBe('Aaron Aalto');
  });

  it('ranks a name prefix matching thousands by name', async () => {
    const result = await search('mi', { scope: { teamId: 'T0BIG' } });
    if (result.kind !== 'match') throw new Error('expected a match');
    const names = [result.best, ...result.others].map((p) => p.displayName);
    expect(names).toHaveLength(6);
    expect(names.every((n) => n.startsWith('Mia '))).toBe(true);
    expect(names).toEqual([...names].sort());
  });
});

describe('sources', () => {
  it("never shows another source's people, whatever is typed", async () => {
    for (const text of ['elodie', 'muller', 'иван', '田中', 'محمد', 'logistics', 'finanse', 'elodei lefevr', 'zq']) {
      const result = await search(text);
      expect(await sourcesOf(result), text).not.toContain(bigId);
      const sources = await sourcesOf(result);
      expect(
        sources.every((s) => s === contosoId),
        text,
      ).toBe(true);
    }
    expect((await search('logistics coordinator')).kind).toBe('none');
  });
});
