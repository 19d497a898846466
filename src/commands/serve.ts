import { type CommandContext, NotBuiltError } from '../cli.ts';

export async function run(_ctx: CommandContext): Promise<number> {
  throw new NotBuiltError('not built yet (issue 6); this command arrives when that issue lands.');
}
