import { processFacts } from '../config.ts';
import { runInstallStory } from '../demo/install-story.ts';
import { runDemoScript } from '../demo/script.ts';
import { ADMIN, ADMIN_CHANNEL, DEMO_TENANT, type DemoStack, MEMBER, startDemoStack } from '../demo/stack.ts';
import { Transcript } from '../demo/transcript.ts';
import { rerunUnlessTrusted } from '../demo/trust.ts';
import { exitOnInterrupt } from '../shutdown.ts';
import { type CommandContext, parseCommandArgs, UsageError } from './args.ts';

/**
 * `aad-sync demo [--story setup|install] [--log-level LEVEL]` (npm run demo): the whole product on this machine
 * with no accounts, told as a transcript on stdout. The default story sets a workspace up and syncs it; `install`
 * installs by OAuth into a workspace and a Grid org, then uninstalls one. The app's JSON logs go to stderr at LEVEL (default: errors only).
 * Exit 0 when every step worked; 1 with the reason otherwise. Nothing is left running either way.
 */

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export async function run(ctx: CommandContext): Promise<number> {
  const { values } = parseCommandArgs(ctx.args, {
    'log-level': { type: 'string', default: 'error' },
    story: { type: 'string', default: 'setup' },
  });
  const logLevel = values['log-level'];
  if (!LEVELS.includes(logLevel)) throw new UsageError(`--log-level must be one of ${LEVELS.join(', ')}`);
  if (!['setup', 'install'].includes(values.story)) throw new UsageError('--story must be setup or install');
  const installStory = values.story === 'install';

  const rerunCode = await rerunUnlessTrusted();
  if (rerunCode !== null) return rerunCode;
  const facts = processFacts();

  const started = Date.now();
  const seconds = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
  const t = new Transcript(ctx.stdout, {
    color: facts.isTty,
    users: { [ADMIN.id]: ADMIN.name, [MEMBER.id]: MEMBER.name },
    channels: { [ADMIN_CHANNEL.id]: ADMIN_CHANNEL.name, C0GENERAL: 'general' },
  });
  t.title('aad-sync demo: the whole product on this machine, no accounts needed');
  t.note(
    `An emulated Entra ID tenant (Contoso, ${DEMO_TENANT.users.toLocaleString('en-US')} people, ${DEMO_TENANT.groups} groups) ` +
      'and an emulated Slack workspace talk to the real aad-sync server: signed Slack requests into its Bolt app, ' +
      'MSAL and the Microsoft Graph client over HTTPS to the emulator, a real PostgreSQL.',
  );

  let stack: DemoStack | undefined;
  // Ctrl-C stops the servers and deletes the demo's database folder before exiting.
  const uninstall = exitOnInterrupt(async () => stack?.stop());
  try {
    stack = await startDemoStack({
      logs: ctx.stderr,
      logLevel,
      progress: (what) => t.note(`starting ${what}…`),
      installByOAuth: installStory,
    });
    t.note(`Entra ID + Graph emulator at ${stack.entra.graphBaseUrl}, Slack emulator at ${stack.slack.url}`);
    t.note(`aad-sync server at ${stack.server.url} (ready after ${seconds()})`);
    if (installStory) {
      const installs = await runInstallStory(stack, t);
      await stack.stop();
      t.line();
      t.title(
        `✔ Install story finished in ${seconds()}: ${installs.installed} installations by OAuth, ${installs.left} left after one uninstall.`,
      );
      return 0;
    }
    const result = await runDemoScript(stack, t);
    await stack.stop();
    t.line();
    t.title(
      `✔ Demo finished in ${seconds()}: ${result.synced.toLocaleString('en-US')} people in the directory, ` +
        `${result.skipped.toLocaleString('en-US')} skipped by the last full sync (reasons above), 3 /whois answers.`,
    );
    t.note('Everything it started has stopped. Next: npm test, and README.md → Deploying to production.');
    return 0;
  } catch (error) {
    // fetch says only "fetch failed"; what failed is in its cause.
    const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : '';
    ctx.stderr.write(`\naad-sync demo: stopped after ${seconds()}: ${(error as Error).message}${cause}\n`);
    return 1;
  } finally {
    uninstall();
    await stack?.stop();
  }
}
