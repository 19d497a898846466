import { type CommandContext, UsageError } from './commands/args.ts';
import { ConfigError } from './config.ts';

/**
 * The `aad-sync` command line. Each command lives in src/commands/<name>.ts and is loaded only when
 * used, so `aad-sync whois` does not pay for Bolt or Agenda.
 */

interface CommandInfo {
  usage: string;
  summary: string;
  load: () => Promise<{ run(ctx: CommandContext): Promise<number> }>;
}

const COMMANDS: Record<string, CommandInfo> = {
  serve: {
    usage: 'serve',
    summary: 'run the Slack app, the /azure and /photos routes and the hourly scheduler (npm start)',
    load: () => import('./commands/serve.ts'),
  },
  demo: {
    usage: 'demo [--log-level LEVEL]',
    summary: 'show the whole product on this machine: emulated tenant and Slack, no accounts needed',
    load: () => import('./commands/demo.ts'),
  },
  emulator: {
    usage: 'emulator [--port 8443] [--users N] [--groups N] [--seed S] [--latency-ms L] [--redirect-uri URL]',
    summary: 'run the Entra ID + Microsoft Graph emulator alone over HTTPS',
    load: () => import('./commands/emulator.ts'),
  },
  sync: {
    usage: 'sync [--source ID] [--full]',
    summary: 'run one sync now, with a progress bar; exit code 0 on success, 1 on failure',
    load: () => import('./commands/sync.ts'),
  },
  whois: {
    usage: 'whois <query>',
    summary: 'search the synced directory as /whois does',
    load: () => import('./commands/whois.ts'),
  },
  migrate: {
    usage: 'migrate',
    summary: 'apply database migrations and exit',
    load: () => import('./commands/migrate.ts'),
  },
  bench: {
    usage: 'bench [--quick] [--check]',
    summary: 'run the performance benchmarks, one JSON line each (npm run bench)',
    load: () => import('./commands/bench.ts'),
  },
};

export function helpText(): string {
  const width = Math.max(...Object.values(COMMANDS).map((c) => c.usage.length));
  const lines = Object.values(COMMANDS).map((c) => `  aad-sync ${c.usage.padEnd(width)}  ${c.summary}`);
  return [
    'aad-sync: keeps your Slack people directory in step with Microsoft Entra ID.',
    '',
    'Usage:',
    ...lines,
    '',
    'Configuration comes from environment variables; see README.md. Try it with no accounts: npm run demo',
    '',
  ].join('\n');
}

export async function main(argv: string[], io: Omit<CommandContext, 'args'>): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    io.stdout.write(helpText());
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr.write(`aad-sync: unknown command "${name}".\n\n${helpText()}`);
    return 2;
  }
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout.write(`Usage: aad-sync ${command.usage}\n  ${command.summary}\n`);
    return 0;
  }
  try {
    const module = await command.load();
    return await module.run({ ...io, args });
  } catch (error) {
    if (error instanceof ConfigError) {
      io.stderr.write(
        `aad-sync ${name}: the configuration is incomplete:\n${error.problems.map((p) => `  - ${p}`).join('\n')}\n` +
          'Set these environment variables (see README.md → Configuration), or try everything locally with: npm run demo\n',
      );
      return 1;
    }
    if (error instanceof UsageError) {
      io.stderr.write(`aad-sync ${name}: ${error.message}\nUsage: aad-sync ${command.usage}\n`);
      return 2;
    }
    io.stderr.write(`aad-sync ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
