import { describe, expect, it } from 'vitest';
import { editDistance, editSimilarity } from '../../src/directory/edit-distance.ts';

describe('editDistance', () => {
  it.each([
    ['', '', 0],
    ['adele', 'adele', 0],
    ['adle', 'adele', 1],
    ['adele', 'adelle', 1],
    ['vanse', 'vance', 1],
    ['chole', 'chloe', 1],
    ['chole paetl', 'chloe patel', 2],
    ['abc', '', 3],
    ['kitten', 'sitting', 3],
    ['ca', 'abc', 3],
  ])('%j → %j is %i', (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance);
    expect(editDistance(b, a)).toBe(distance);
  });

  it('counts letters, not UTF-16 units, and bounds long input', () => {
    expect(editDistance('zoë', 'zoe')).toBe(1);
    expect(editDistance('😀a', 'a')).toBe(1);
    expect(editDistance('x'.repeat(5000), 'y'.repeat(5000))).toBe(64);
  });
});

describe('editSimilarity', () => {
  it('is 1 for equal text in any case, lower with every slip', () => {
    expect(editSimilarity('Adele Vance', 'adele vance')).toBe(1);
    expect(editSimilarity('chole paetl', 'Chloe Patel')).toBeCloseTo(1 - 2 / 11);
    expect(editSimilarity('zzzz', 'adele')).toBe(0);
    expect(editSimilarity('', '')).toBe(1);
  });
});
