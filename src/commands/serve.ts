import { loadConfig, SERVE_REQUIRES } from '../config.ts';
import { createLogger } from '../logger.ts';
import { startServer } from '../server.ts';
import { installLastResort, installShutdown } from '../shutdown.ts';
import type { CommandContext } from './args.ts';

/**
 * `aad-sync serve` (`npm start`): the Slack app, its routes and the scheduler, until SIGTERM or SIGINT.
 * Missing configuration is reported by the CLI, one line per variable (ConfigError).
 */
const SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

export async function run(ctx: CommandContext): Promise<number> {
  const config = loadConfig(SERVE_REQUIRES);
  const logger = createLogger({ level: config.logLevel, destination: ctx.stdout });
  installLastResort({ logger });
  const server = await startServer(config, { logger });
  logger.info({ url: server.url, publicUrl: config.publicUrl }, `aad-sync listening on port ${server.port}`);
  // The process ends in installShutdown's exit; until then the open server keeps it alive.
  return new Promise<number>(() => {
    installShutdown({ stop: () => server.stop(), logger, signals: SIGNALS });
  });
}
