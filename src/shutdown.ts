import type { Logger } from './logger.ts';

/**
 * Runs `stop` once on SIGTERM or SIGINT, then ends the process: 0 when it stopped cleanly, 1 when `stop`
 * threw. A second signal while stopping exits 1 at once. The explicit exit is needed because Agenda
 * leaves timers behind that would keep Node alive.
 */
export function installShutdown(options: {
  stop: (signal: NodeJS.Signals) => Promise<void>;
  logger: Logger;
  exit?: (code: number) => void;
  signals?: readonly NodeJS.Signals[];
}): () => void {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  let stopping = false;

  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      options.logger.warn({ signal }, 'second signal while shutting down: exiting now');
      exit(1);
      return;
    }
    stopping = true;
    options.logger.info({ signal }, 'shutting down');
    options.stop(signal).then(
      () => {
        options.logger.info('shut down cleanly');
        exit(0);
      },
      (error: unknown) => {
        options.logger.error({ err: error }, 'shutdown failed');
        exit(1);
      },
    );
  };

  for (const signal of signals) process.on(signal, onSignal);
  return () => {
    for (const signal of signals) process.off(signal, onSignal);
  };
}
