import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { installShutdown } from '../src/shutdown.ts';
import { recordingLogger } from './helpers/logs.ts';

const SHUTDOWN_MODULE = new URL('../src/shutdown.ts', import.meta.url).href;
const LOGGER_MODULE = new URL('../src/logger.ts', import.meta.url).href;

// Signals are delivered with process.emit, which calls the listeners without touching the test process.

function harness(stop: () => Promise<void>) {
  const exits: number[] = [];
  const { logger, lines } = recordingLogger();
  const uninstall = installShutdown({
    stop,
    logger,
    exit: (code) => exits.push(code),
    signals: ['SIGUSR2'],
  });
  const signal = () => process.emit('SIGUSR2', 'SIGUSR2');
  return { exits, lines, uninstall, signal };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 10));

describe('installShutdown', () => {
  it('stops once and exits 0', async () => {
    let stops = 0;
    const h = harness(async () => {
      stops++;
    });
    h.signal();
    await tick();
    h.uninstall();
    expect(stops).toBe(1);
    expect(h.exits).toEqual([0]);
  });

  it('exits 1 when stopping fails, and logs why', async () => {
    const h = harness(async () => {
      throw new Error('database gone');
    });
    h.signal();
    await tick();
    h.uninstall();
    expect(h.exits).toEqual([1]);
    expect(h.lines.join('')).toContain('database gone');
  });

  it('a second signal while stopping exits 1 at once', async () => {
    let release = () => {};
    const h = harness(() => new Promise<void>((resolve) => (release = resolve)));
    h.signal();
    h.signal();
    expect(h.exits).toEqual([1]);
    release();
    await tick();
    h.uninstall();
    expect(h.exits).toEqual([1, 0]);
  });

  it('uninstall removes the listeners', () => {
    const h = harness(async () => {});
    h.uninstall();
    h.signal();
    expect(h.exits).toEqual([]);
  });
});

describe('installLastResort', () => {
  // A real process: the handlers must end it, which a test process cannot show about itself.
  const crash = (how: string) =>
    spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `const { installLastResort } = await import('${SHUTDOWN_MODULE}');
         const { createLogger } = await import('${LOGGER_MODULE}');
         installLastResort({ logger: createLogger({ level: 'info', destination: process.stdout }) });
         setTimeout(() => console.log('still running'), 2000);
         ${how}`,
      ],
      { encoding: 'utf8', timeout: 20_000 },
    );

  it.each([
    ['an exception thrown from a timer', "setImmediate(() => { throw new TypeError('boom from a timer'); });"],
    ['a rejection nobody handles', "Promise.reject(new Error('boom from a promise'));"],
  ])('logs %s as fatal and exits 1 at once', (_what, how) => {
    const result = crash(how);
    expect(result.status).toBe(1);
    const line = JSON.parse(result.stdout.trim().split('\n')[0]);
    expect(line).toMatchObject({ level: 60, msg: 'unexpected error: exiting for a restart' });
    expect(line.err.message).toMatch(/^boom from a/);
    expect(result.stdout).not.toContain('still running');
  });
});
