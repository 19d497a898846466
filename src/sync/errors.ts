import { AzureError } from '../azure/index.ts';
import { isConnectionLost } from '../db/client.ts';

/**
 * Why a run failed, as the product acts on it (DESIGN §6): the code picks the source status and the
 * alert's button; the message is written for an admin.
 */
export type FailureCode =
  | 'reauth_required'
  | 'app_misconfigured'
  | 'group_missing'
  | 'no_valid_people'
  | 'graph_unavailable'
  /** The process running it stopped (found by the next run). */
  | 'stale'
  /** Stopped on request (Ctrl-C, shutdown) before applying anything. */
  | 'cancelled'
  /** No progress for too long, or past the run deadline: ended without waiting for the stuck call. */
  | 'stalled'
  /** A fault of aad-sync itself or its database; the message says what. */
  | 'internal_error';

export class SyncFailure extends Error {
  constructor(
    readonly code: FailureCode,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
    this.name = 'SyncFailure';
  }
}

export function classifyFailure(error: unknown): { code: FailureCode; message: string } {
  if (error instanceof SyncFailure) return { code: error.code, message: error.message };
  if (error instanceof AzureError) {
    return { code: error.code === 'transient' ? 'graph_unavailable' : error.code, message: error.message };
  }
  if (isConnectionLost(error)) {
    return {
      code: 'internal_error',
      message: 'The sync lost its connection to the database and stopped; nothing was applied.',
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'internal_error', message: `The sync stopped on an unexpected error: ${message}` };
}

/** The source status a failure leaves behind. */
export function statusAfterFailure(code: FailureCode): 'needs_reauth' | 'failing' {
  return code === 'reauth_required' ? 'needs_reauth' : 'failing';
}
