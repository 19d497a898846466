import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/logger.ts';

export interface RecordingLogger {
  /** The product's own pino logger, writing JSON lines into `lines` instead of stdout. */
  logger: Logger;
  lines: string[];
  /** Everything logged so far, as one string (for `toContain` checks, e.g. that no secret was logged). */
  text(): string;
  /** Forgets what was logged so far. */
  clear(): void;
}

/** The one way tests read what the app logged; `lines` may be passed in to collect several loggers' lines. */
export function recordingLogger(
  options: { level?: 'debug' | 'info' | 'warn' | 'error'; lines?: string[] } = {},
): RecordingLogger {
  const lines = options.lines ?? [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return {
    logger: createLogger({ level: options.level ?? 'info', destination }),
    lines,
    text: () => lines.join(''),
    clear: () => {
      lines.length = 0;
    },
  };
}
