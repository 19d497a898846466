import type { User } from '@microsoft/microsoft-graph-types';

/**
 * A user as the reader hands it out: Graph's properties (only those selected), plus the manager's object
 * id lifted out of `manager@delta`. `managerId`: a string when Graph named a manager, null when it
 * reported the manager removed, undefined when the response said nothing about the manager.
 */
export type GraphUser = Omit<User, 'manager'> &
  Record<string, unknown> & {
    id: string;
    managerId?: string | null;
  };

export interface RemovedUser {
  id: string;
  /** `changed`: soft-deleted (restorable for 30 days); `deleted`: gone for good. */
  reason: 'changed' | 'deleted';
}

export interface UsersDeltaPage {
  users: GraphUser[];
  removed: RemovedUser[];
  /** On the last page only: where the next incremental read starts. */
  deltaLink?: string;
}

export interface GroupSummary {
  id: string;
  displayName: string;
  /** Not filled in: Graph has no cheap member count in search results. */
  memberCountHint?: number;
}

export interface PhotoRequest {
  userId: string;
  /** The `@odata.mediaEtag` saved with the photo we hold; absent when we hold none. */
  knownEtag?: string | null;
}

export type PhotoResult =
  | { kind: 'photo'; userId: string; etag: string | null; contentType: string; bytes: Uint8Array }
  | { kind: 'unchanged'; userId: string; etag: string }
  | { kind: 'none'; userId: string }
  /** Graph refused this one photo for a reason of its own; keep whatever photo is held. */
  | { kind: 'failed'; userId: string; status: number; reason: string };
