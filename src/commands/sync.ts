import cliProgress from 'cli-progress';
import { loadConfig, processFacts } from '../config.ts';
import { openDatabase } from '../db/open.ts';
import { createLogger } from '../logger.ts';
import { CLI_TEAM, chooseSource, registerTenantSource, SourceChoiceError } from '../sync/cli-sources.ts';
import { syncDepsFromConfig } from '../sync/compose.ts';
import { type RunOutcome, runSync } from '../sync/engine.ts';
import type { ProgressReport, SyncProgress } from '../sync/progress.ts';
import { type CommandContext, parseCommandArgs, UsageError } from './args.ts';

/**
 * `aad-sync sync [--source ID] [--full] [--preview] [--register-tenant TENANT_ID]`: one run now, with a
 * progress bar on a terminal and plain lines otherwise; exit 0 when it succeeded, 1 otherwise.
 */

export async function run(ctx: CommandContext): Promise<number> {
  const { values } = parseCommandArgs(ctx.args, {
    source: { type: 'string' },
    full: { type: 'boolean', default: false },
    preview: { type: 'boolean', default: false },
    'register-tenant': { type: 'string' },
  });
  if (values.full && values.preview) throw new UsageError('choose --full or --preview, not both');
  if (values.source && values['register-tenant']) throw new UsageError('choose --source or --register-tenant');
  const config = loadConfig(['AZURE_CLIENT_ID', 'AZURE_CLIENT_SECRET', 'ENCRYPTION_KEY']);
  const database = await openDatabase({ databaseUrl: config.databaseUrl });
  try {
    const { db } = database;
    let source: Awaited<ReturnType<typeof chooseSource>>;
    try {
      if (values['register-tenant']) {
        const registered = await registerTenantSource(db, values['register-tenant']);
        source = registered.source;
        ctx.stdout.write(
          `${registered.created ? 'Registered' : 'Using'} source ${source.id} for tenant ${source.tenantId} (application mode).\n`,
        );
      } else {
        source = await chooseSource(db, values.source);
      }
    } catch (error) {
      if (error instanceof SourceChoiceError) throw new UsageError(error.message);
      throw error;
    }
    // A terminal run logs only what needs attention; LOG_LEVEL=debug shows everything.
    const verbose = config.logLevel === 'debug' || config.logLevel === 'trace';
    const logger = createLogger({ level: verbose ? config.logLevel : 'warn', destination: ctx.stderr });
    // MSAL warns about normal client-credential answers (no client_info): only worth showing when debugging.
    const deps = syncDepsFromConfig(config, database, logger, { logMsal: verbose });
    const display = progressDisplay(ctx.stdout, processFacts().isTty);
    // Ctrl-C ends the run cleanly (recorded as cancelled, nothing applied) instead of leaving its lock behind.
    const cancel = new AbortController();
    const onSignal = () => cancel.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const started = Date.now();
    const outcome = await runSync(deps, {
      sourceId: source.id,
      trigger: 'cli',
      requestedBy: 'cli',
      mode: values.preview ? 'preview' : values.full ? 'full' : 'auto',
      progress: display,
      signal: cancel.signal,
    }).finally(() => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      display.stop();
    });
    ctx.stdout.write(`${summary(outcome, Date.now() - started)}\n`);
    if (outcome.status === 'failed' && source.slackTeamId === CLI_TEAM && outcome.errorCode === 'app_misconfigured') {
      ctx.stdout.write(
        'A tenant registered from the terminal needs admin consent for the app: Entra admin center → App registrations → ' +
          'this app → API permissions → Grant admin consent.\n',
      );
    }
    if (outcome.errorCode === 'cancelled') return 130;
    return outcome.status === 'succeeded' ? 0 : 1;
  } finally {
    await database.close();
  }
}

function summary(outcome: RunOutcome, ms: number): string {
  const c = outcome.counts;
  const seconds = (ms / 1000).toFixed(1);
  switch (outcome.status) {
    case 'succeeded': {
      const verb = outcome.mode === 'preview' ? 'Preview (nothing written)' : `Sync succeeded (${outcome.mode})`;
      const ignored =
        outcome.ignored.length > 0
          ? `; ignored: ${outcome.ignored.map((r) => `${r.count} ${r.reason}`).join(', ')}`
          : '';
      return (
        `${verb} in ${seconds} s: ${c.read} read, ${c.created} created, ${c.updated} updated, ${c.unchanged} unchanged, ` +
        `${c.removed} removed, ${c.ignored} ignored, ${c.photos} photos${ignored}.`
      );
    }
    case 'held':
      return (
        `Sync held after ${seconds} s: it would remove ${outcome.held!.removals} of ${outcome.held!.active} people ` +
        `(more than ${Math.round(outcome.held!.threshold * 100)}%). Nothing was changed; approve or reject it in Slack.`
      );
    case 'already_running': {
      const r = outcome.running!;
      return `A sync of this source is already running (run ${r.runId}, started ${r.startedAt.toISOString()} by ${r.requestedBy ?? r.trigger}).`;
    }
    default:
      if (outcome.errorCode === 'cancelled') return `Sync cancelled after ${seconds} s; nothing was changed.`;
      return `Sync failed (${outcome.errorCode}) after ${seconds} s: ${outcome.errorMessage} Nothing was changed.`;
  }
}

const PHASE_WORDS: Record<ProgressReport['phase'], string> = {
  starting: 'Starting',
  reading: 'Reading people',
  applying: 'Applying',
  photos: 'Checking photos',
  done: 'Done',
};

/** A bar on a terminal; elsewhere (logs, CI) one line per phase and one every few seconds. */
function progressDisplay(out: NodeJS.WritableStream, tty: boolean): SyncProgress & { stop(): void } {
  if (!tty) {
    let lastPhase = '';
    let lastAt = 0;
    return {
      onProgress(report) {
        const now = Date.now();
        if (report.phase === lastPhase && now - lastAt < 5_000) return;
        lastPhase = report.phase;
        lastAt = now;
        const photos = report.photosChecked === undefined ? '' : `, ${report.photosChecked} photos checked`;
        out.write(`${PHASE_WORDS[report.phase]}: ${report.read} read, ${report.written} written${photos}\n`);
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      format: '{phase} {bar} {read} read · {written} written',
      stream: out,
      hideCursor: true,
      clearOnComplete: true,
      barsize: 30,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    onProgress(report) {
      const total = Math.max(report.expected ?? 0, report.read, 1);
      const value = report.phase === 'reading' ? report.read : total;
      const payload = { phase: PHASE_WORDS[report.phase].padEnd(15), read: report.read, written: report.written };
      if (!started) {
        bar.start(total, value, payload);
        started = true;
      } else {
        bar.setTotal(total);
        bar.update(value, payload);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
