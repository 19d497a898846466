/** The Azure layer's public surface: MSAL sign-in and tokens, the Graph reader, errors, permissions. */

export { type AzureAuth, createAzureAuth, type GetToken } from './auth.ts';
export type { AzureSource, GraphToken } from './auth-context.ts';
export { type AuthErrorKind, authFailure, classifyAuthError } from './auth-errors.ts';
export { type CallbackQuery, callbackError } from './callback-errors.ts';
export type { AuthorizeRequest, RedeemInput, SignedInAdmin } from './delegated.ts';
export { AzureError, type AzureErrorCode, type AzureErrorDetail, DeltaExpiredError } from './errors.ts';
export { createGraphReader, type GraphReader, type GraphReaderOptions } from './graph-reader.ts';
export type { GraphRequestReport } from './graph-transport.ts';
export type { GraphUser, GroupSummary, PhotoRequest, PhotoResult, RemovedUser, UsersDeltaPage } from './graph-types.ts';
export { membersReadIsCheaper } from './group-members-full.ts';
export { GROUPS_DELTA_MAX_IDS, type GroupDeltaItem } from './groups-delta.ts';
export { type AppRegistration, appRegistration } from './msal-client.ts';
export * from './permissions.ts';
export { DEFAULT_RETRY, type RetryOptions } from './retry-policy.ts';
export {
  type CreatedSubscription,
  type CreateSubscription,
  createSubscriptionClient,
  MAX_SUBSCRIPTION_MINUTES,
  type SubscriptionClient,
  type SubscriptionRefusal,
} from './subscriptions.ts';
export { createTokenCacheStore, type TokenCacheStore } from './token-cache-store.ts';
export { USERS_DELTA_MAX_IDS } from './users-delta.ts';
export { type FullReadReport, newFullReadReport, PartitionMismatchError } from './users-full.ts';
