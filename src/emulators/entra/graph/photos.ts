import type { EmulatorReply } from '../http.ts';
import { isReply } from './collection.ts';
import type { GraphContext } from './context.ts';
import { readQuery } from './odata.ts';

/** GET /users/{id}/photo (metadata with `@odata.mediaEtag`) and /users/{id}/photo/$value (the bytes). */

const PHOTO_READ = ['ProfilePhoto.Read.All', 'User.Read.All', 'User.ReadWrite.All', 'Directory.Read.All'];
/** A user may always read their own photo with User.Read. */
const OWN_PHOTO_READ = [...PHOTO_READ, 'User.Read', 'User.ReadBasic.All'];

function imageNotFound(context: GraphContext): EmulatorReply {
  return context.error(
    404,
    'ImageNotFound',
    "Exception of type 'Microsoft.Fast.Profile.Core.Exception.ImageNotFoundException' was thrown.",
  );
}

export function photoMetadata(context: GraphContext, id: string, self: boolean): EmulatorReply {
  const denied = context.require(self ? OWN_PHOTO_READ : PHOTO_READ);
  if (denied) return denied;
  const query = readQuery(context, ['$select']);
  if (isReply(query)) return query;
  const { store } = context.state;
  const user = store.findUser(id);
  if (!user) return context.notFound(id);
  const photo = store.tenant.photos.get(user.id);
  if (!photo) return imageNotFound(context);
  return context.ok({
    '@odata.context': `${context.base}/v1.0/$metadata#users('${user.id}')/photo/$entity`,
    '@odata.mediaContentType': photo.contentType,
    '@odata.mediaEtag': photo.etag,
    id: `${photo.width}x${photo.height}`,
    height: photo.height,
    width: photo.width,
  });
}

export function photoValue(context: GraphContext, id: string, self: boolean): EmulatorReply {
  const denied = context.require(self ? OWN_PHOTO_READ : PHOTO_READ);
  if (denied) return denied;
  const { store } = context.state;
  const user = store.findUser(id);
  if (!user) return context.notFound(id);
  const photo = store.tenant.photos.get(user.id);
  if (!photo) return imageNotFound(context);
  const bytes = photo.bytes;
  return {
    status: 200,
    headers: context.headers({
      'content-type': photo.contentType,
      'content-length': String(bytes.length),
      etag: photo.etag,
    }),
    body: bytes,
  };
}
