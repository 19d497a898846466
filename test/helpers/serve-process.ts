import type { SlackEmulator } from '../../src/emulators/slack/index.ts';
import { type CliResult, runCli } from './cli.ts';
import type { TestDatabase } from './database.ts';
import type { TestEmulator } from './emulator.ts';

/**
 * `aad-sync serve` as an operator runs it: the real binary in a child process, configured by its environment
 * for the test's PostgreSQL, Entra ID emulator and Slack emulator.
 */
export interface ServeProcess {
  /** `http://127.0.0.1:PORT`, the app's PUBLIC_URL. */
  url: string;
  /** Its standard output so far: the JSON log lines. */
  stdout(): string;
  /** Set once the process has ended. */
  ended(): CliResult | undefined;
  /** Sends `signal` and waits for the process to end. */
  stop(signal?: NodeJS.Signals): Promise<CliResult>;
}

/** The environment of a serve process (one workspace, delegated mode) on `port`. */
export function serveEnv(options: {
  db: Pick<TestDatabase, 'url'>;
  entra: TestEmulator;
  slack: SlackEmulator;
  port: number;
  signingSecret: string;
  encryptionKey: string;
}): Record<string, string> {
  const { entra, slack, port } = options;
  return {
    DATABASE_URL: options.db.url,
    SLACK_BOT_TOKEN: slack.botToken,
    SLACK_SIGNING_SECRET: options.signingSecret,
    SLACK_API_URL: slack.apiUrl,
    AZURE_CLIENT_ID: entra.emulator.clientId,
    AZURE_CLIENT_SECRET: entra.emulator.clientSecret,
    AZURE_AUTHORITY_HOST: entra.emulator.authorityHost,
    GRAPH_BASE_URL: entra.emulator.graphBaseUrl,
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    PORT: String(port),
    ENCRYPTION_KEY: options.encryptionKey,
    NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS ?? '',
  };
}

/** Starts serve with `env` and resolves once it listens; it is killed after `timeoutMs` if still running. */
export async function startServeProcess(env: Record<string, string>, timeoutMs = 120_000): Promise<ServeProcess> {
  const port = env.PORT;
  const stop = new AbortController();
  let output = '';
  let ended: CliResult | undefined;
  let listening: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    listening = resolve;
  });
  const result = runCli(['serve'], {
    env,
    signal: stop.signal,
    timeoutMs,
    onStdout: (text) => {
      output = text;
      if (text.includes(`listening on port ${port}`)) listening();
    },
  }).then((r) => {
    ended = r;
    return r;
  });
  await Promise.race([
    ready,
    result.then((r) => Promise.reject(new Error(`serve exited before listening:\n${r.stderr}${r.stdout}`))),
  ]);
  return {
    url: `http://127.0.0.1:${port}`,
    stdout: () => output,
    ended: () => ended,
    stop(signal = 'SIGTERM') {
      stop.abort(signal);
      return result;
    },
  };
}
