import type { Logger } from '../../logger.ts';

/**
 * Work that must not hold up Slack's 3-second answer (a preview dry run, refreshing the Home tab after a
 * submission): started after `ack()`, never awaited by the listener, failures logged.
 */
export function afterAck(logger: Logger, what: string, work: () => Promise<unknown>): void {
  work().catch((error: unknown) => logger.error({ err: error }, `${what} failed`));
}
