import { describe, expect, it } from 'vitest';
import { authorityUrl, graphCustomHosts, graphOrigin, knownAuthorities } from '../../src/azure/endpoints.ts';
import { reportPath } from '../../src/azure/graph-transport.ts';
import { appRegistration } from '../../src/azure/msal-client.ts';
import { encodeQueryValue, odataString, pathSegment, queryString, searchClause } from '../../src/azure/odata-query.ts';
import { parseConfig } from '../../src/config.ts';

const HOSTILE = 'Sales & "Mkt" #1 100% back\\slash +plus ünï 日本 🚀 a=b;c?d';

describe('query building', () => {
  it('quotes a $search clause and escapes quotes and backslashes inside it', () => {
    expect(searchClause('displayName', 'Sales')).toBe('"displayName:Sales"');
    expect(searchClause('displayName', 'say "hi" \\o/')).toBe('"displayName:say \\"hi\\" \\\\o/"');
  });

  it('doubles single quotes in OData string literals', () => {
    expect(odataString("O'Brien's")).toBe("'O''Brien''s'");
  });

  it('encodes hostile text so that it survives as exactly one query value', () => {
    const clause = searchClause('displayName', HOSTILE);
    const qs = queryString({ $search: clause, $top: 10 });
    expect(qs).not.toMatch(/[ "#]/);
    expect(qs.split('&')).toHaveLength(2);
    const parsed = new URLSearchParams(qs);
    expect(parsed.get('$search')).toBe(clause);
    expect(parsed.get('$top')).toBe('10');
    expect([...parsed.keys()]).toEqual(['$search', '$top']);
  });

  it('keeps OData punctuation readable and encodes the rest', () => {
    expect(queryString({ $select: 'id,displayName,manager', $count: 'true' })).toBe(
      '?$select=id,displayName,manager&$count=true',
    );
    expect(encodeQueryValue("startswith(displayName,'A&B')")).toBe("startswith(displayName,'A%26B')");
    expect(encodeQueryValue('a+b')).toBe('a%2Bb');
    expect(queryString({ a: undefined })).toBe('');
  });

  it('encodes a path segment completely', () => {
    expect(pathSegment('../users?x=1')).toBe('..%2Fusers%3Fx%3D1');
  });
});

describe('endpoints', () => {
  it('trusts only named hosts: none extra for Microsoft, the host with its port otherwise', () => {
    expect(knownAuthorities('https://login.microsoftonline.com')).toEqual([]);
    expect(knownAuthorities('https://localhost:8443')).toEqual(['localhost:8443']);
    expect(knownAuthorities('https://login.example.test/')).toEqual(['login.example.test']);
  });

  it('sends the Graph token to custom hosts by name only', () => {
    expect(graphCustomHosts('https://graph.microsoft.com')).toBeUndefined();
    expect(graphCustomHosts('https://localhost:8444')).toEqual(new Set(['localhost']));
    expect(graphOrigin('https://localhost:8444/v1.0/')).toBe('https://localhost:8444');
  });

  it('builds tenant authorities and refuses plain http', () => {
    expect(authorityUrl('https://login.microsoftonline.com/', 'organizations')).toBe(
      'https://login.microsoftonline.com/organizations',
    );
    expect(authorityUrl('https://localhost:8443', 'contoso.com')).toBe('https://localhost:8443/contoso.com');
    expect(() => knownAuthorities('http://localhost:8443')).toThrow(/https/);
    expect(() => graphCustomHosts('http://localhost:8444')).toThrow(/https/);
  });
});

describe('appRegistration', () => {
  it('takes the app from Config.azure and names what is missing', () => {
    const config = parseConfig({
      AZURE_CLIENT_ID: 'app-id',
      AZURE_CLIENT_SECRET: 's3cret',
      AZURE_TENANT_ID: 'contoso.com',
    });
    expect(appRegistration(config.azure)).toEqual({
      clientId: 'app-id',
      clientSecret: 's3cret',
      authorityHost: 'https://login.microsoftonline.com',
      tenantId: 'contoso.com',
      log: undefined,
    });
    expect(() => appRegistration(parseConfig({}).azure)).toThrow('AZURE_CLIENT_ID and AZURE_CLIENT_SECRET must be set');
  });
});

describe('reportPath', () => {
  it('drops host, version and query and hides object ids', () => {
    expect(reportPath('https://localhost:8444/v1.0/users/delta?$skiptoken=abc')).toBe('/users/delta');
    expect(
      reportPath('/groups/0b1c2d3e-1111-2222-3333-444455556666/transitiveMembers/microsoft.graph.user?$top=999'),
    ).toBe('/groups/{id}/transitiveMembers/microsoft.graph.user');
    expect(reportPath('/$batch')).toBe('/$batch');
  });
});
