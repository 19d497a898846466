import type { ProfileFieldKey } from '../sync/mapping.ts';
import type {
  Actor,
  GroupRef,
  Mapping,
  PreviewReport,
  Refusal,
  RunProgress,
  RunReport,
  SourceReport,
} from './model.ts';

/**
 * What the Slack layer asks of the rest of the product. The composition root implements it over the
 * sync engine, the scheduler and the Azure sign-in; listeners only parse Slack payloads, call one of
 * these, and render the answer. Every method that changes something takes the acting admin (`Actor`),
 * already checked by the admin gate, so the services can record who did what.
 *
 * Expected failures come back as values (`ok: false`) with a `Refusal` the Slack layer puts in words;
 * thrown errors are bugs or outages and end up in the app's error handler.
 */

export type Outcome<T extends object = object> = ({ ok: true } & T) | { ok: false; refusal: Refusal };

/** A personal sign-in link: `/azure/authorize/:requestId`, single-use, bound to the admin and the source. */
export interface AuthorizationLink {
  requestId: string;
  /** The source the sign-in is for (created in status `setup` by the first `/aad setup`). */
  sourceId: string;
  url: string;
  expiresAt: Date;
  authMode: 'delegated' | 'application';
}

export interface AuthorizationRequest {
  /** The modal to update when the sign-in completes (from the callback). */
  viewId: string;
  purpose: 'setup' | 'reauthorize';
}

/** Saved settings (or defaults) for the wizard's steps 2 and 3 and the edit modals. */
export interface SetupDraft {
  sourceId: string;
  groups: GroupRef[];
  /** People with an enabled account in the tenant ("leave empty to import everyone (N people)"); null when Graph could not say. */
  tenantPeople: number | null;
  signedInAs: string | null;
  mapping: Mapping;
  adminChannel: string | null;
  photoSync: boolean;
  hourlySync: boolean;
  /** e.g. "60 minutes". */
  syncEvery: string;
}

export interface SettingsInput {
  /** Profile field → Entra attribute name, or `UNMAPPED`; validated by the service with `validateMapping`. */
  mapping: Record<string, string>;
  adminChannel: string;
  photoSync: boolean;
  hourlySync: boolean;
}

/** `errors` are per field: a mapping that does not hold (sync/mapping.ts says why), or no admin channel chosen. */
export type SettingsOutcome =
  | { ok: true }
  | { ok: false; errors: Partial<Record<ProfileFieldKey, string>> & { adminChannel?: 'missing' } }
  | { ok: false; refusal: Refusal };

/** Called by the engine while a run the admin started is going, to keep the progress message live. */
export interface SyncObserver {
  progress(progress: RunProgress): void;
  finished(run: RunReport): void;
}

export type SyncStart =
  | { started: true; run: RunReport }
  /** Another run (any replica, any trigger) holds the source's lock. */
  | { started: false; reason: 'running'; run: RunReport }
  | { started: false; reason: 'not_set_up' | 'needs_reauth' | 'disabled_by_error'; refusal: Refusal };

export interface AdminServices {
  /** The workspace's Entra connection, or null before `/aad setup` created one. Cheap: called on every Home open. */
  status(teamId: string): Promise<SourceReport | null>;

  /** Creates the source if needed (status `setup`) and a fresh single-use sign-in request for this admin. */
  beginAuthorization(actor: Actor, request: AuthorizationRequest): Promise<AuthorizationLink>;

  /**
   * Current settings with defaults filled in; fails when the source is not authorized yet. `countPeople`
   * asks Graph for `tenantPeople` too (up to 1.5 s more): only for the groups step, shown after Slack's ack.
   */
  draft(actor: Actor, options?: { countPeople?: boolean }): Promise<Outcome<{ draft: SetupDraft }>>;

  /**
   * Group type-ahead. Must answer within about 2 s (Slack gives options loads 3 s): time-box Graph and
   * return `ok: false` with a short message instead of running late.
   */
  searchGroups(teamId: string, query: string): Promise<Outcome<{ groups: GroupRef[] }>>;

  /** Stores the chosen groups by id (names resolved by the service; option texts may be truncated). Empty = everyone. */
  saveGroups(actor: Actor, groupIds: string[]): Promise<Outcome<{ groups: GroupRef[] }>>;

  saveSettings(actor: Actor, settings: SettingsInput): Promise<SettingsOutcome>;

  /** Dry run with the saved groups and mapping: who would be imported and who would be skipped, and why. */
  preview(actor: Actor): Promise<PreviewReport>;

  /**
   * Turns on the schedule (and ends setup); `run` is the first sync when one was started. Ending setup
   * queues the first sync (trigger 'setup'): `firstSync` settles once it started (or was refused), and
   * `observer` hears its progress and end, as with `syncNow`.
   */
  enable(
    actor: Actor,
    observer?: SyncObserver,
  ): Promise<Outcome<{ source: SourceReport; run: RunReport | null; firstSync?: Promise<SyncStart> }>>;

  disable(actor: Actor): Promise<Outcome<{ source: SourceReport }>>;

  setPhotoSync(actor: Actor, on: boolean): Promise<Outcome<{ source: SourceReport }>>;

  /** Starts a manual run unless one is running; `observer` hears its progress and end. */
  syncNow(actor: Actor, observer: SyncObserver): Promise<SyncStart>;

  /** Applies or discards the removals a held run is waiting on. */
  decideHeld(actor: Actor, runId: number, decision: 'approve' | 'reject'): Promise<Outcome<{ run: RunReport }>>;
}
