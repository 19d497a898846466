import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FilterError, parseFilter } from '../../../src/emulators/entra/graph/filter.ts';
import { parseSearch, words } from '../../../src/emulators/entra/graph/search.ts';
import { ensureEmulatorCertificate } from '../../../src/emulators/tls.ts';

/** Pure pieces: the certificate store, and the $filter / $search parsers. */

describe('ensureEmulatorCertificate', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });
  const temp = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'emu-tls-'));
    dirs.push(dir);
    return dir;
  };

  it('creates a CA certificate for localhost and 127.0.0.1 and reuses it while valid', async () => {
    const dir = await temp();
    const first = await ensureEmulatorCertificate(dir);
    const x509 = new X509Certificate(first.cert);
    expect(x509.ca).toBe(true);
    expect(x509.subjectAltName).toContain('DNS:localhost');
    expect(x509.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(await readFile(first.certPath, 'utf8')).toBe(first.cert);
    const again = await ensureEmulatorCertificate(dir);
    expect(again.cert).toBe(first.cert);
  });

  it('replaces a key that does not match the certificate, and garbage', async () => {
    const dir = await temp();
    const first = await ensureEmulatorCertificate(dir);
    const other = await ensureEmulatorCertificate(await temp());
    await writeFile(first.keyPath, other.key);
    const repaired = await ensureEmulatorCertificate(dir);
    expect(repaired.cert).not.toBe(first.cert);
    expect(
      new X509Certificate(repaired.cert).checkPrivateKey((await import('node:crypto')).createPrivateKey(repaired.key)),
    ).toBe(true);
    await writeFile(repaired.certPath, 'not a certificate');
    expect((await ensureEmulatorCertificate(dir)).cert).toContain('BEGIN CERTIFICATE');
  });

  it('lets concurrent callers agree on one certificate', async () => {
    const dir = await temp();
    const results = await Promise.all([1, 2, 3, 4].map(() => ensureEmulatorCertificate(dir)));
    const onDisk = await readFile(join(dir, 'cert.pem'), 'utf8');
    for (const result of results) expect(result.cert).toBe(onDisk);
  });
});

describe('$filter', () => {
  const rules = (advanced: boolean) => ({
    resource: 'User',
    properties: new Map(
      ['displayName', 'accountEnabled', 'userType', 'onPremisesExtensionAttributes/extensionAttribute1'].map((p) => [
        p.toLowerCase(),
        p,
      ]),
    ),
    advancedOnly: new Set(['onPremisesExtensionAttributes/extensionAttribute1']),
    advanced,
  });
  const people = [
    {
      displayName: "Aoife O'Brien",
      accountEnabled: true,
      userType: 'Member',
      onPremisesExtensionAttributes: { extensionAttribute1: 'CC-1' },
    },
    {
      displayName: 'Adele Vance',
      accountEnabled: false,
      userType: 'Member',
      onPremisesExtensionAttributes: { extensionAttribute1: 'CC-2' },
    },
    { displayName: 'Bao Tran', accountEnabled: true, userType: 'Guest', onPremisesExtensionAttributes: null },
  ];
  const names = (filter: string, advanced = false) =>
    people.filter(parseFilter(filter, rules(advanced))).map((p) => p.displayName);

  it('evaluates eq, in, startswith, and/or and parentheses, case-insensitively', () => {
    expect(names('accountEnabled eq true')).toEqual(["Aoife O'Brien", 'Bao Tran']);
    expect(names("startswith(displayName,'a') and (userType eq 'member' or accountEnabled eq false)")).toEqual([
      "Aoife O'Brien",
      'Adele Vance',
    ]);
    expect(names("displayName eq 'Aoife O''Brien'")).toEqual(["Aoife O'Brien"]);
    expect(names("userType in ('Guest', 'Nobody')")).toEqual(['Bao Tran']);
  });

  it('allows ne, not, endswith and some properties only in advanced queries', () => {
    for (const filter of [
      'accountEnabled ne true',
      "not startswith(displayName,'A')",
      "endswith(displayName,'Tran')",
      "onPremisesExtensionAttributes/extensionAttribute1 eq 'CC-2'",
    ]) {
      expect(() => names(filter)).toThrow(FilterError);
    }
    expect(names('accountEnabled ne true', true)).toEqual(['Adele Vance']);
    expect(names("onPremisesExtensionAttributes/extensionAttribute1 eq 'CC-2'", true)).toEqual(['Adele Vance']);
  });

  it('refuses unknown properties and broken syntax with the right Graph codes', () => {
    const code = (filter: string) => {
      try {
        names(filter);
      } catch (error) {
        return (error as FilterError).code;
      }
      return 'accepted';
    };
    expect(code("favouriteColour eq 'blue'")).toBe('Request_UnsupportedQuery');
    expect(code("displayName eq 'unterminated")).toBe('Request_BadRequest');
    expect(code('accountEnabled eq true extra')).toBe('Request_BadRequest');
  });
});

describe('$search', () => {
  const properties = new Map([
    ['displayname', 'displayName'],
    ['mail', 'mail'],
  ]);
  const groups = [
    { displayName: 'Sales EMEA', mail: 'sales-emea@contoso.com' },
    { displayName: 'SalesOps2024', mail: null },
    { displayName: 'Wholesale Partners', mail: 'wholesale@contoso.com' },
  ];
  const found = (search: string) => groups.filter(parseSearch(search, properties)).map((g) => g.displayName);

  it('matches word prefixes in any order, splitting on case changes and digits, not inside words', () => {
    expect(words('SalesOps2024 Team')).toEqual(['sales', 'ops', '2024', 'team']);
    expect(found('"displayName:sal"')).toEqual(['Sales EMEA', 'SalesOps2024']);
    expect(found('"displayName:emea sales"')).toEqual(['Sales EMEA']);
    expect(found('"displayName:ops"')).toEqual(['SalesOps2024']);
    expect(found('"displayName:ale"')).toEqual([]);
  });

  it('joins clauses with AND/OR and matches other properties by prefix', () => {
    expect(found('"displayName:sales" AND "mail:sales"')).toEqual(['Sales EMEA']);
    expect(found('"displayName:wholesale" OR "mail:sales-emea"')).toEqual(['Sales EMEA', 'Wholesale Partners']);
  });

  it('requires quoted property:value clauses', () => {
    expect(() => found('sales')).toThrow(FilterError);
    expect(() => found('"sales"')).toThrow(FilterError);
    expect(() => found('"colour:red"')).toThrow(FilterError);
  });
});
