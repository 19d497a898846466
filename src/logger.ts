import pino, { type Logger } from 'pino';

export type { Logger };

/** Paths that may carry secrets anywhere in a log record; pino replaces them before serialising. */
export const REDACT_PATHS = [
  '*.token',
  '*.accessToken',
  '*.access_token',
  '*.refreshToken',
  '*.refresh_token',
  '*.clientSecret',
  '*.client_secret',
  '*.secret',
  '*.password',
  '*.authorization',
  '*.Authorization',
  '*.headers.authorization',
  '*.tokenCache',
  '*.codeVerifier',
  '*.pkceVerifier',
  '*.nonce',
  '*.encryptionKey',
];

export function createLogger(options: { level: string; destination?: NodeJS.WritableStream; name?: string }): Logger {
  return pino(
    {
      level: options.level,
      name: options.name ?? 'aad-sync',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? process.stderr,
  );
}
