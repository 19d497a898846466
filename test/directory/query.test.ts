import { describe, expect, it } from 'vitest';
import { cleanText, escapeLike, MAX_QUERY_CHARS, MAX_QUERY_WORDS, parseQuery } from '../../src/directory/query.ts';

describe('parseQuery', () => {
  it('is empty for nothing, whitespace and invisible characters', () => {
    expect(parseQuery('')).toEqual({ kind: 'empty' });
    expect(parseQuery('   \t\n ')).toEqual({ kind: 'empty' });
    expect(parseQuery('\u200b\u202e\u0000')).toEqual({ kind: 'empty' });
  });

  it('collapses whitespace, trims, and splits words', () => {
    expect(parseQuery('  Adele \t  Vance ')).toEqual({ kind: 'text', text: 'Adele Vance', words: ['Adele', 'Vance'] });
  });

  it('reads Slack mentions with and without a label', () => {
    expect(parseQuery('<@U012ABCDEF|adele>')).toEqual({ kind: 'mention', userId: 'U012ABCDEF', label: 'adele' });
    expect(parseQuery(' <@W012ABCDEF> ')).toEqual({ kind: 'mention', userId: 'W012ABCDEF' });
    // Not a mention: lower case id, extra text, a channel.
    expect(parseQuery('<@u012abcdef>').kind).toBe('text');
    expect(parseQuery('<@U012ABCDEF> and more').kind).toBe('text');
    expect(parseQuery('<#C012ABCDEF|general>').kind).toBe('text');
  });

  it('treats an unresolved @name as the name, but leaves an email address alone', () => {
    expect(parseQuery('@adele')).toMatchObject({ kind: 'text', text: 'adele', words: ['adele'] });
    expect(parseQuery('adele@contoso.com')).toMatchObject({
      kind: 'text',
      text: 'adele@contoso.com',
      email: 'adele@contoso.com',
      words: ['adele', 'contoso', 'com'],
    });
    expect(parseQuery('@')).toMatchObject({ kind: 'text', text: '@', words: [] });
  });

  it('keeps only letters and digits as words, so wildcards and quotes never become patterns', () => {
    expect(parseQuery(`%_\\'"; drop table profiles;--`)).toMatchObject({ words: ['drop', 'table', 'profiles'] });
    expect(parseQuery('%%%')).toMatchObject({ kind: 'text', words: [] });
    expect(parseQuery("O'Brien-Núñez")).toMatchObject({ words: ['O', 'Brien', 'Núñez'] });
  });

  it('folds compatibility forms and drops bidi overrides', () => {
    expect(parseQuery('ａｄｅｌｅ')).toMatchObject({ text: 'adele' });
    expect(parseQuery('\u202eecnav\u202c eleda')).toMatchObject({ text: 'ecnav eleda' });
    expect(parseQuery('אדל ואנס')).toMatchObject({ words: ['אדל', 'ואנס'] });
  });

  it('bounds very long input', () => {
    const parsed = parseQuery('x'.repeat(5000));
    expect(parsed).toMatchObject({ kind: 'text' });
    if (parsed.kind === 'text') expect(parsed.text).toHaveLength(MAX_QUERY_CHARS);
    const many = parseQuery(Array.from({ length: 50 }, (_, i) => `w${i}`).join(' '));
    if (many.kind !== 'text') throw new Error('expected text');
    expect(many.words).toHaveLength(MAX_QUERY_WORDS);
  });

  it('never splits an emoji when cutting', () => {
    const text = cleanText('😀'.repeat(150));
    expect(Array.from(text)).toHaveLength(MAX_QUERY_CHARS);
    expect(text).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
  });
});

describe('escapeLike', () => {
  it('escapes the three LIKE metacharacters', () => {
    expect(escapeLike('100%_a\\b')).toBe('100\\%\\_a\\\\b');
    expect(escapeLike('plain')).toBe('plain');
  });
});
