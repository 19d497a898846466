import { rerunUnlessTrusted } from '../demo/trust.ts';
import { type CommandContext, parseCommandArgs } from './args.ts';

/**
 * `aad-sync bench [--quick] [--check]` (npm run bench): the benchmarks of DESIGN §7 against the emulator,
 * one JSON line each on stdout, progress on stderr. `--check` exits 1 when a target was missed.
 */
export async function run(ctx: CommandContext): Promise<number> {
  const { values } = parseCommandArgs(ctx.args, {
    quick: { type: 'boolean', default: false },
    check: { type: 'boolean', default: false },
  });
  const rerunCode = await rerunUnlessTrusted();
  if (rerunCode !== null) return rerunCode;

  // The benchmarks live outside src/ (they start emulators and test databases): loaded only here.
  const { runBenchmarks } = await import('../../bench/index.ts');
  const started = Date.now();
  const { failed } = await runBenchmarks({
    quick: values.quick,
    out: (line) => ctx.stdout.write(`${line}\n`),
    log: (text) => ctx.stderr.write(`${text}\n`),
  });
  const took = Math.round((Date.now() - started) / 1000);
  ctx.stderr.write(
    failed.length === 0
      ? `Every target met (${took} s).\n`
      : `Targets missed: ${failed.join(', ')} (${took} s). Figures depend on the machine and its load.\n`,
  );
  return values.check && failed.length > 0 ? 1 : 0;
}
