import { describe, expect, it } from 'vitest';
import { decodeMetadata, encodeMetadata, METADATA_LIMIT, MetadataTooLargeError } from '../../src/slack/metadata.ts';

describe('private_metadata codec', () => {
  it('round-trips what a modal needs to remember', () => {
    const metadata = { sourceId: 's-1' };
    const encoded = encodeMetadata(metadata);
    expect(JSON.parse(encoded)).toMatchObject({ v: 1 });
    expect(decodeMetadata(encoded)).toEqual(metadata);
    expect(decodeMetadata(encodeMetadata({}))).toEqual({});
  });

  it('refuses to encode more than Slack stores, naming the size', () => {
    expect(() => encodeMetadata({ sourceId: 'x'.repeat(METADATA_LIMIT) })).toThrow(MetadataTooLargeError);
    expect(() => encodeMetadata({ sourceId: 'x'.repeat(METADATA_LIMIT) })).toThrow(/3000/);
  });

  it('refuses to encode a malformed value', () => {
    expect(() => encodeMetadata({ sourceId: '' })).toThrow();
  });

  it('decodes anything foreign, truncated, old or oversized to null', () => {
    for (const raw of [
      undefined,
      null,
      '',
      'not json',
      '[]',
      '{"v":2}',
      '{"sourceId":"s"}',
      '{"v":1,"sourceId":7}',
      `{"v":1,"x":"${'y'.repeat(3000)}"}`,
    ]) {
      expect(decodeMetadata(raw), String(raw).slice(0, 20)).toBeNull();
    }
  });

  it('drops fields it does not know, so a stale view cannot smuggle in state', () => {
    expect(decodeMetadata('{"v":1,"sourceId":"s","token":"xoxb-1","requestId":"r"}')).toEqual({ sourceId: 's' });
  });
});
