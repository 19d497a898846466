import {
  type AzureAuth,
  createGraphReader,
  type GraphReader,
  type GraphReaderOptions,
  type GraphRequestReport,
  type RetryOptions,
} from '../azure/index.ts';
import type { Source } from '../db/schema.ts';

/** What a run reads a source through: the Graph reader, or anything shaped like it. */
export type SourceReader = Pick<
  GraphReader,
  | 'usersDelta'
  | 'usersFull'
  | 'groupUserMembers'
  | 'groupMembersFull'
  | 'groupsDelta'
  | 'groupUserCount'
  | 'countUsers'
  | 'photos'
>;

export interface ReaderHooks {
  /** Called for every HTTP exchange with Graph (run details count requests and throttling). */
  onRequest(report: GraphRequestReport): void;
}

export type ReaderFactory = (source: Source, hooks: ReaderHooks) => SourceReader | Promise<SourceReader>;

/** Production readers: Graph over HTTPS with the source's own tokens. */
export function graphReaderFactory(options: {
  auth: AzureAuth;
  graphBaseUrl: string;
  retry?: Partial<RetryOptions>;
  timeoutMs?: number;
  fullReads?: GraphReaderOptions['fullReads'];
}): ReaderFactory {
  return (source, hooks) =>
    createGraphReader({
      graphBaseUrl: options.graphBaseUrl,
      getToken: options.auth.tokenProvider(source),
      onRequest: hooks.onRequest,
      retry: options.retry,
      timeoutMs: options.timeoutMs,
      fullReads: options.fullReads,
    });
}
