import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import jpeg from 'jpeg-js';

/**
 * Profile photos as Graph keeps them ("Get profilePhoto", learn.microsoft.com/graph/api/profilephoto-get):
 * the largest size uploaded, up to 648×648, served also in the smaller square sizes Microsoft 365 keeps
 * (48 … 504), JPEG mostly and PNG sometimes, tens of kB at full size. Generated photos are a head and
 * shoulders on a textured background; encoding is slow in JavaScript, so the few distinct pictures are
 * encoded once per size (and kept in .data/emulator-photos/ for the next process), and each owner's copy
 * differs only by a comment naming it (JPEG COM segment, PNG tEXt chunk) — the bytes are unique and
 * realistic in size at no per-user cost.
 */

/** The square sizes Graph serves at /photos/{size}, smallest first. */
export const PHOTO_SIZES = [48, 64, 96, 120, 240, 360, 432, 504, 648] as const;

export interface EmulatedPhoto {
  contentType: string;
  /** Width and height of the largest size (photos are square). */
  width: number;
  height: number;
  /** Graph's `@odata.mediaEtag`, quoted as Graph sends it; changes whenever the bytes do; '' for a placeholder. */
  etag: string;
  /** The sizes available: every standard size up to the uploaded one. */
  readonly sizes: readonly number[];
  /** The bytes at the largest size. */
  readonly bytes: Buffer;
  /** The bytes at `size` (one of `sizes`). */
  bytesAt(size: number): Buffer;
}

const FULL = 648;
const BACKGROUNDS: [number, number, number][] = [
  [74, 111, 165],
  [165, 88, 74],
  [74, 165, 122],
  [140, 90, 160],
];
/** About one photo in five is a PNG, the rest JPEG, as people upload them. */
const PNG_EVERY = 5;

export class GeneratedPhoto implements EmulatedPhoto {
  readonly contentType: string;
  readonly width = FULL;
  readonly height = FULL;
  readonly sizes = PHOTO_SIZES;
  private readonly variant: number;

  constructor(
    private readonly ownerId: string,
    private readonly version: number,
  ) {
    const digest = createHash('sha1').update(`${ownerId}:${version}`).digest();
    this.variant = digest[0] % BACKGROUNDS.length;
    this.contentType = digest[1] % PNG_EVERY === 0 ? 'image/png' : 'image/jpeg';
  }

  get etag(): string {
    return etagOf(`${this.ownerId}:${this.version}`);
  }

  get bytes(): Buffer {
    return this.bytesAt(FULL);
  }

  bytesAt(size: number): Buffer {
    const base = basePicture(this.contentType, this.variant, size);
    return withComment(this.contentType, base, `aad-sync emulator photo ${this.ownerId} v${this.version}`);
  }
}

export class UploadedPhoto implements EmulatedPhoto {
  readonly etag: string;
  readonly sizes: readonly number[];

  constructor(
    readonly contentType: string,
    readonly bytes: Buffer,
    readonly width = 96,
    readonly height = 96,
  ) {
    this.etag = etagOf(bytes);
    this.sizes = PHOTO_SIZES.filter((s) => s <= Math.max(width, PHOTO_SIZES[0]));
  }

  /** Uploaded bytes are served as they are at every size (the emulator does not resample). */
  bytesAt(): Buffer {
    return this.bytes;
  }
}

/**
 * What Graph may answer for someone without a photo instead of 404 ImageNotFound: a 1×1 image whose
 * `@odata.mediaEtag` is empty. A client must not take it for a photo.
 */
export class PlaceholderPhoto implements EmulatedPhoto {
  readonly contentType = 'image/png';
  readonly width = 1;
  readonly height = 1;
  readonly etag = '';
  readonly sizes = [1];
  readonly bytes = png(1, () => [255, 255, 255]);

  bytesAt(): Buffer {
    return this.bytes;
  }
}

function etagOf(content: string | Buffer): string {
  return `"${createHash('sha1').update(content).digest('hex').slice(0, 8).toUpperCase()}"`;
}

const encoded = new Map<string, Buffer>();
/** Bump when the pictures change, so files from an older drawing are not reused. */
const DRAWING = 1;
const CACHE_DIR = '.data/emulator-photos';

function basePicture(contentType: string, variant: number, size: number): Buffer {
  const key = `v${DRAWING}-${contentType.replace('image/', '')}-${variant}-${size}`;
  let bytes = encoded.get(key);
  if (!bytes) {
    bytes = readCached(key) ?? writeCached(key, draw(contentType, variant, size));
    encoded.set(key, bytes);
  }
  return bytes;
}

function draw(contentType: string, variant: number, size: number): Buffer {
  const colour = portrait(BACKGROUNDS[variant], size);
  return contentType === 'image/png'
    ? png(size, colour)
    : jpeg.encode({ data: rgba(size, colour), width: size, height: size }, 85).data;
}

function readCached(key: string): Buffer | undefined {
  try {
    return readFileSync(join(CACHE_DIR, key));
  } catch {
    return undefined;
  }
}

/** Best effort: a read-only or missing directory only means encoding again next time. */
function writeCached(key: string, bytes: Buffer): Buffer {
  try {
    mkdirSync(CACHE_DIR, { recursive: true });
    const temporary = join(CACHE_DIR, `${key}.${process.pid}.tmp`);
    writeFileSync(temporary, bytes);
    renameSync(temporary, join(CACHE_DIR, key));
  } catch {
    // keep the bytes in memory only
  }
  return bytes;
}

type Colour = (x: number, y: number) => [number, number, number];

/** A head and shoulders in a light tone, shaded top to bottom, with a little grain (so JPEG has work to do). */
function portrait(background: [number, number, number], size: number): Colour {
  const k = size / 96;
  const centre = size / 2;
  return (x, y) => {
    const head = (x - centre) ** 2 + (y - 38 * k) ** 2 <= (17 * k) ** 2;
    const shoulders = y > 62 * k && ((x - centre) / (34 * k)) ** 2 + ((y - 100 * k) / (36 * k)) ** 2 <= 1;
    const shade = Math.round((y / size) * 40);
    const grain = ((x * 7919 + y * 104729) % 9) - 4;
    const [r, g, b] = head || shoulders ? [232 - shade, 237 - shade, 243 - shade] : background;
    return [r + grain, g + grain, b + shade / 2 + grain];
  };
}

function rgba(size: number, colour: Colour): Buffer {
  const data = Buffer.alloc(size * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const at = (y * size + x) * 4;
      data.set(colour(x, y), at);
      data[at + 3] = 255;
    }
  }
  return data;
}

function png(size: number, colour: Colour): Buffer {
  const rowLength = 1 + size * 3;
  const raw = Buffer.alloc(rowLength * size);
  for (let y = 0; y < size; y++) {
    raw[y * rowLength] = 0; // filter: none
    for (let x = 0; x < size; x++) raw.set(colour(x, y), y * rowLength + 1 + x * 3);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit depth, truecolour, deflate, no filter, no interlace
  return Buffer.concat([
    PNG_SIGNATURE,
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(raw)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The picture with a comment inside: a COM segment right after a JPEG's SOI, a tEXt chunk after a PNG's IHDR. */
function withComment(contentType: string, picture: Buffer, comment: string): Buffer {
  const text = Buffer.from(comment, 'latin1');
  if (contentType === 'image/png') {
    const afterHeader = PNG_SIGNATURE.length + 12 + 13;
    const chunk = pngChunk('tEXt', Buffer.concat([Buffer.from('Comment\0', 'latin1'), text]));
    return Buffer.concat([picture.subarray(0, afterHeader), chunk, picture.subarray(afterHeader)]);
  }
  const segment = Buffer.alloc(4 + text.length);
  segment.writeUInt16BE(0xfffe, 0);
  segment.writeUInt16BE(2 + text.length, 2);
  text.copy(segment, 4);
  return Buffer.concat([picture.subarray(0, 2), segment, picture.subarray(2)]);
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
