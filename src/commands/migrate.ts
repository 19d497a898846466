import { loadConfig } from '../config.ts';
import { openDatabase } from '../db/open.ts';
import { exitOnInterrupt } from '../shutdown.ts';
import { type CommandContext, parseCommandArgs } from './args.ts';

export async function run(ctx: CommandContext): Promise<number> {
  parseCommandArgs(ctx.args, {});
  const config = loadConfig();
  const started = Date.now();
  const database = await openDatabase({ databaseUrl: config.databaseUrl });
  const uninstall = exitOnInterrupt(() => database.close());
  try {
    const where = database.embedded ? 'the embedded PostgreSQL in .data/postgres' : 'DATABASE_URL';
    ctx.stdout.write(`Migrations applied to ${where} in ${Date.now() - started} ms; the schema is current.\n`);
    return 0;
  } finally {
    uninstall();
    await database.close();
  }
}
