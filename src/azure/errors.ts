/**
 * Failures of the Azure layer, in the terms the rest of the product acts on. `message` is written for an
 * admin (it ends up in alerts and run reports); `detail` carries the protocol facts for logs.
 */

export type AzureErrorCode =
  | 'reauth_required'
  | 'app_misconfigured'
  | 'graph_unavailable'
  | 'group_missing'
  | 'transient';

export interface AzureErrorDetail {
  /** AADSTS number from the token endpoint, e.g. "50173". */
  aadsts?: string;
  /** OAuth `error` / MSAL errorCode, e.g. "invalid_grant". */
  oauthError?: string;
  /** HTTP status of the failing response, when there was one. */
  status?: number;
  /** Graph error code, e.g. "Authorization_RequestDenied". */
  graphCode?: string;
  /** Graph `request-id`, for a support ticket with Microsoft. */
  requestId?: string;
  /** The Graph path that failed (no query string: it may hold search text). */
  path?: string;
  groupId?: string;
  attempts?: number;
}

export class AzureError extends Error {
  constructor(
    readonly code: AzureErrorCode,
    message: string,
    readonly detail: AzureErrorDetail = {},
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
    this.name = 'AzureError';
  }
}

/**
 * A delta link Graph no longer honours (tokens live about 7 days; Graph may also ask for a resync).
 * The caller starts over with a full read.
 */
export class DeltaExpiredError extends Error {
  constructor(
    readonly status: number,
    readonly graphCode: string | undefined,
  ) {
    super(`Microsoft Graph no longer accepts the saved delta link (${status}${graphCode ? ` ${graphCode}` : ''}).`);
    this.name = 'DeltaExpiredError';
  }
}
