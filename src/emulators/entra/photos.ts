import { createHash } from 'node:crypto';
import { deflateSync } from 'node:zlib';

/**
 * Profile photos. Generated ones are real PNG files (a silhouette on a colour picked from the owner's id
 * and the photo's version) made on demand, so 100,000 users cost no photo memory until someone asks.
 */

export interface EmulatedPhoto {
  contentType: string;
  width: number;
  height: number;
  /** Graph's `@odata.mediaEtag`, quoted as Graph sends it; changes whenever the bytes do. */
  etag: string;
  readonly bytes: Buffer;
}

const SIZE = 96;
const BACKGROUNDS: [number, number, number][] = [
  [74, 111, 165],
  [165, 88, 74],
  [74, 165, 122],
  [140, 90, 160],
  [200, 140, 60],
  [60, 140, 160],
  [110, 120, 130],
  [180, 80, 120],
];

export class GeneratedPhoto implements EmulatedPhoto {
  readonly contentType = 'image/png';
  readonly width = SIZE;
  readonly height = SIZE;

  constructor(
    private readonly ownerId: string,
    private readonly version: number,
  ) {}

  get etag(): string {
    return etagOf(`${this.ownerId}:${this.version}`);
  }

  get bytes(): Buffer {
    const digest = createHash('sha1').update(`${this.ownerId}:${this.version}`).digest();
    return silhouettePng(BACKGROUNDS[digest[0] % BACKGROUNDS.length], digest[1] % 12);
  }
}

export class UploadedPhoto implements EmulatedPhoto {
  readonly etag: string;

  constructor(
    readonly contentType: string,
    readonly bytes: Buffer,
    readonly width = SIZE,
    readonly height = SIZE,
  ) {
    this.etag = etagOf(bytes);
  }
}

function etagOf(content: string | Buffer): string {
  return `"${createHash('sha1').update(content).digest('hex').slice(0, 8).toUpperCase()}"`;
}

/** A head and shoulders in a light tone on `background`; `offset` moves the figure so photos differ. */
function silhouettePng(background: [number, number, number], offset: number): Buffer {
  const figure: [number, number, number] = [232, 237, 243];
  const rowLength = 1 + SIZE * 3;
  const raw = Buffer.alloc(rowLength * SIZE);
  const centre = SIZE / 2 + offset - 6;
  for (let y = 0; y < SIZE; y++) {
    raw[y * rowLength] = 0; // filter: none
    for (let x = 0; x < SIZE; x++) {
      const head = (x - centre) ** 2 + (y - 38) ** 2 <= 17 ** 2;
      const shoulders = y > 62 && ((x - centre) / 34) ** 2 + ((y - 100) / 36) ** 2 <= 1;
      const colour = head || shoulders ? figure : background;
      raw.set(colour, y * rowLength + 1 + x * 3);
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(SIZE, 0);
  header.writeUInt32BE(SIZE, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit depth, truecolour, deflate, no filter, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(raw)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

function pngChunk(type: string, data: Buffer): Buffer {
  const chunk = Buffer.alloc(12 + data.length);
  chunk.writeUInt32BE(data.length, 0);
  chunk.write(type, 4, 'latin1');
  data.copy(chunk, 8);
  chunk.writeUInt32BE(crc32(chunk.subarray(4, 8 + data.length)), 8 + data.length);
  return chunk;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

export function crc32(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
