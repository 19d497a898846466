import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from './cli.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/scheduler-process.ts', import.meta.url));

export interface ReplicaProcess {
  child: ChildProcess;
  /** Resolves once the replica's run has begun (its `running` row exists). */
  runStarted: Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  stderr: () => string;
}

/** Starts test/fixtures/scheduler-process.ts with `settings` (see there); it is killed if still alive after 25 s. */
export function startReplicaProcess(settings: Record<string, unknown>): ReplicaProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, JSON.stringify(settings)], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => {
    stderr += chunk;
  });
  const runStarted = new Promise<void>((resolve, reject) => {
    let stdout = '';
    child.stdout!.on('data', (chunk) => {
      stdout += chunk;
      if (stdout.includes('"event":"run-started"')) resolve();
    });
    child.on('exit', () => reject(new Error(`the replica exited before its run started:\n${stderr}`)));
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() }));
  });
  const guard = setTimeout(() => child.kill('SIGKILL'), 25_000);
  exited.then(() => clearTimeout(guard));
  return { child, runStarted, exited, stderr: () => stderr };
}
