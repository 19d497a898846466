/**
 * Reading `@slack/web-api` errors without importing its classes (CommonJS named exports do not survive ESM
 * import; see reference/slack-bolt.md §0): the error `code` and `data.error` are the stable contract.
 */

/** Slack's `error` string of a failed call (`not_in_channel`, `hash_conflict`, …), or undefined. */
export function slackErrorCode(error: unknown): string | undefined {
  const data = (error as { data?: { error?: unknown } } | null)?.data;
  return typeof data?.error === 'string' ? data.error : undefined;
}

/** Seconds Slack asked us to wait when it answered 429, or undefined when the error is something else. */
export function retryAfterSeconds(error: unknown): number | undefined {
  const e = error as { code?: unknown; retryAfter?: unknown } | null;
  return e?.code === 'slack_webapi_rate_limited_error' && typeof e.retryAfter === 'number' ? e.retryAfter : undefined;
}
