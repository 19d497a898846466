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

/**
 * The last resort: an exception or rejection nothing handled means the process is in a state nobody planned
 * for. It is logged once, as fatal, and the process exits 1 so the orchestrator (systemd, Kubernetes)
 * restarts it; a run it held is taken over by the next starter. Returns the uninstaller.
 */
export function installLastResort(options: { logger: Logger; exit?: (code: number) => void }): () => void {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const onFatal = (error: unknown, origin: string) => {
    options.logger.fatal({ err: error, origin }, 'unexpected error: exiting for a restart');
    exit(1);
  };
  const onRejection = (reason: unknown) => onFatal(reason, 'unhandledRejection');
  process.on('uncaughtException', onFatal);
  process.on('unhandledRejection', onRejection);
  return () => {
    process.off('uncaughtException', onFatal);
    process.off('unhandledRejection', onRejection);
  };
}

/**
 * For short commands (demo, migrate): Ctrl-C or SIGTERM runs `cleanup` (stop what the command started, the
 * embedded database included) and exits 130. Returns the uninstaller, for when the command ends by itself.
 */
export function exitOnInterrupt(cleanup: () => Promise<unknown>, exit = (code: number) => process.exit(code)) {
  const onSignal = () => {
    cleanup().finally(() => exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}
