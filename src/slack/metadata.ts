import { z } from 'zod';

/**
 * The one codec for a modal's `private_metadata`: a small versioned JSON object naming the source a modal
 * was opened for, which listeners/ownership.ts checks against the installation that submits it (a forged
 * or stale modal naming another installation's source is refused). Never tokens. The services act on the
 * actor's own source, so nothing else needs remembering.
 */

export const METADATA_LIMIT = 3000;

const metadataSchema = z.object({
  v: z.literal(1),
  /** Source the modal edits; absent before setup has created one. */
  sourceId: z.string().min(1).optional(),
});

export type ModalMetadata = Omit<z.infer<typeof metadataSchema>, 'v'>;

export class MetadataTooLargeError extends Error {
  constructor(readonly length: number) {
    super(`private_metadata would be ${length} characters; Slack allows ${METADATA_LIMIT}`);
    this.name = 'MetadataTooLargeError';
  }
}

export function encodeMetadata(metadata: ModalMetadata): string {
  const text = JSON.stringify(metadataSchema.parse({ v: 1, ...metadata }));
  if (text.length > METADATA_LIMIT) throw new MetadataTooLargeError(text.length);
  return text;
}

/** The metadata of a view, or null when it is missing, not ours, or from an incompatible version. */
export function decodeMetadata(raw: string | undefined | null): ModalMetadata | null {
  if (!raw || raw.length > METADATA_LIMIT) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return null;
  }
  const result = metadataSchema.safeParse(parsed);
  if (!result.success) return null;
  const { v: _version, ...metadata } = result.data;
  return metadata;
}
