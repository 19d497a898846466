import type { EmulatorReply } from '../http.ts';
import { type EmulatedPhoto, PlaceholderPhoto } from '../photos.ts';
import { isReply } from './collection.ts';
import type { GraphContext } from './context.ts';
import { readQuery } from './odata.ts';

/**
 * Profile photos as Graph serves them ("Get profilePhoto", learn.microsoft.com/graph/api/profilephoto-get):
 * /photo (the largest size's metadata, with `@odata.mediaEtag`) and /photo/$value, /photos (every size
 * kept) and /photos/{size}[/$value] with `size` such as `240x240`. Someone without a photo gets 404
 * ImageNotFound — or, when the emulator is told to answer like some tenants do, a 1×1 image whose
 * `@odata.mediaEtag` is empty.
 */

const PHOTO_READ = ['ProfilePhoto.Read.All', 'User.Read.All', 'User.ReadWrite.All', 'Directory.Read.All'];
/** A user may always read their own photo with User.Read. */
const OWN_PHOTO_READ = [...PHOTO_READ, 'User.Read', 'User.ReadBasic.All'];
const PLACEHOLDER = new PlaceholderPhoto();

function imageNotFound(context: GraphContext): EmulatorReply {
  return context.error(
    404,
    'ImageNotFound',
    "Exception of type 'Microsoft.Fast.Profile.Core.Exception.ImageNotFoundException' was thrown.",
  );
}

/** The user's photo, or the reply that ends the request (denied, no such user, no photo). */
function findPhoto(
  context: GraphContext,
  id: string,
  self: boolean,
): { userId: string; photo: EmulatedPhoto } | EmulatorReply {
  const denied = context.require(self ? OWN_PHOTO_READ : PHOTO_READ);
  if (denied) return denied;
  const { state } = context;
  const user = state.store.findUser(id);
  if (!user) return context.notFound(id);
  const photo = state.store.tenant.photos.get(user.id) ?? (state.noPhoto === 'placeholder' ? PLACEHOLDER : undefined);
  return photo ? { userId: user.id, photo } : imageNotFound(context);
}

/** `size` as Graph names it (`240x240`, any case) → pixels, or null when the photo has no such size. */
function sizeOf(photo: EmulatedPhoto, size: string | null): number | null {
  if (size === null) return photo.sizes[photo.sizes.length - 1];
  const match = /^(\d+)x(\d+)$/i.exec(size);
  if (!match || match[1] !== match[2]) return null;
  const pixels = Number(match[1]);
  return photo.sizes.includes(pixels) ? pixels : null;
}

function metadata(photo: EmulatedPhoto, pixels: number) {
  return {
    '@odata.mediaContentType': photo.contentType,
    '@odata.mediaEtag': photo.etag,
    id: `${pixels}X${pixels}`,
    height: pixels,
    width: pixels,
  };
}

export function photoMetadata(
  context: GraphContext,
  id: string,
  self: boolean,
  size: string | null = null,
): EmulatorReply {
  const query = readQuery(context, ['$select']);
  if (isReply(query)) return query;
  const found = findPhoto(context, id, self);
  if (isReply(found)) return found;
  const pixels = sizeOf(found.photo, size);
  if (pixels === null) return imageNotFound(context);
  const path = size === null ? 'photo' : `photos('${pixels}X${pixels}')`;
  return context.ok({
    '@odata.context': `${context.base}/v1.0/$metadata#users('${found.userId}')/${path}/$entity`,
    ...metadata(found.photo, pixels),
  });
}

export function photoList(context: GraphContext, id: string, self: boolean): EmulatorReply {
  const query = readQuery(context, ['$select']);
  if (isReply(query)) return query;
  const found = findPhoto(context, id, self);
  if (isReply(found)) return found;
  return context.ok({
    '@odata.context': `${context.base}/v1.0/$metadata#users('${found.userId}')/photos`,
    value: found.photo.sizes.map((pixels) => metadata(found.photo, pixels)),
  });
}

export function photoValue(
  context: GraphContext,
  id: string,
  self: boolean,
  size: string | null = null,
): EmulatorReply {
  const found = findPhoto(context, id, self);
  if (isReply(found)) return found;
  const pixels = sizeOf(found.photo, size);
  if (pixels === null) return imageNotFound(context);
  const bytes = found.photo.bytesAt(pixels);
  return {
    status: 200,
    headers: context.headers({
      'content-type': found.photo.contentType,
      'content-length': String(bytes.length),
      ...(found.photo.etag ? { etag: found.photo.etag } : {}),
    }),
    body: bytes,
  };
}
