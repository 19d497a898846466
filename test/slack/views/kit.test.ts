import { describe, expect, it } from 'vitest';
import { duration } from '../../../src/slack/views/kit.ts';

describe('duration', () => {
  it.each([
    [0, '0.0 s'],
    [420, '0.4 s'],
    [9_400, '9.4 s'],
    [45_000, '45 s'],
    [60_000, '1 min'],
    [185_000, '3 min 5 s'],
    [3_720_000, '1 h 2 min'],
    [-5, '0.0 s'],
  ])('%i ms reads as %s', (ms, text) => expect(duration(ms)).toBe(text));
});
