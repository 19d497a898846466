import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV_NAMES, parseConfig } from '../../src/config.ts';
import { REPO_ROOT } from '../helpers/cli.ts';
import { startTestDatabase, type TestDatabase } from '../helpers/database.ts';

/**
 * Docker cannot run on the build machines, so this checks the Dockerfile's essentials as text, and then
 * assembles the runtime stage's files (its COPY lines) in a temporary folder and runs the binary from there.
 */

interface Instruction {
  keyword: string;
  args: string;
}

function parseDockerfile(text: string): Instruction[][] {
  const lines = text
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const stages: Instruction[][] = [];
  const preamble: Instruction[] = [];
  for (const line of lines) {
    const [, keyword, args] = /^(\S+)\s*(.*)$/.exec(line)!;
    const instruction = { keyword: keyword.toUpperCase(), args };
    if (instruction.keyword === 'FROM') stages.push([instruction]);
    else (stages.at(-1) ?? preamble).push(instruction);
  }
  return stages;
}

const dockerfile = readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
const stages = parseDockerfile(dockerfile);
const runtime = stages.at(-1)!;
const all = (stage: Instruction[], keyword: string) => stage.filter((i) => i.keyword === keyword);
const dockerignore = readFileSync(path.join(REPO_ROOT, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));

/** Sources of the runtime stage's `COPY` lines that come from the build context (not `--from=`). */
const contextCopies = all(runtime, 'COPY')
  .filter((i) => !i.args.includes('--from='))
  .flatMap((i) =>
    i.args
      .split(/\s+/)
      .filter((a) => !a.startsWith('--'))
      .slice(0, -1),
  );

const SECRET_NAME = /SECRET|TOKEN|PASSWORD|KEY|DATABASE_URL|MONGODB_URL/;

describe('Dockerfile', () => {
  it('is multi-stage, on glibc Debian slim Node 20, installing with npm ci and no devDependencies', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
    for (const stage of stages) expect(stage[0].args).toMatch(/^\$\{NODE_IMAGE\} AS \w+$/);
    expect(stages.flat().filter((i) => /alpine/i.test(i.args))).toEqual([]);
    const installs = stages.flatMap((s) => all(s, 'RUN')).filter((i) => /\bnpm\b/.test(i.args));
    expect(installs.map((i) => i.args)).toEqual([expect.stringMatching(/^npm ci --omit=dev\b/)]);
    expect(all(runtime, 'COPY').some((i) => i.args.startsWith('--from=deps /app/node_modules'))).toBe(true);
  });

  it('runs as the unprivileged node user, set after anything that needs root', () => {
    const users = all(runtime, 'USER');
    expect(users.map((u) => u.args)).toEqual(['node']);
    const userAt = runtime.indexOf(users[0]);
    expect(runtime.slice(userAt).filter((i) => i.keyword === 'RUN' || i.keyword === 'COPY')).toEqual([]);
  });

  it('exposes the default PORT and starts `serve` with the real binary, checking /healthz', () => {
    expect(all(runtime, 'EXPOSE').map((i) => i.args)).toEqual([String(parseConfig({}).port)]);
    expect(JSON.parse(all(runtime, 'CMD')[0].args)).toEqual(['node', 'bin/aad-sync.js', 'serve']);
    expect(existsSync(path.join(REPO_ROOT, 'src/commands/serve.ts'))).toBe(true);
    expect(all(runtime, 'HEALTHCHECK')[0].args).toContain('/healthz');
  });

  it('bakes no secret into the image: no ENV or ARG of a secret-bearing name, no .env in the context', () => {
    const settings = stages.flat().filter((i) => i.keyword === 'ENV' || i.keyword === 'ARG');
    expect(settings.length).toBeGreaterThan(0);
    for (const setting of settings) {
      const name = setting.args.split(/[=\s]/)[0];
      expect(name, setting.args).not.toMatch(SECRET_NAME);
      expect(ENV_NAMES, `${name} would override configuration`).not.toContain(name);
    }
    expect(dockerignore).toEqual(expect.arrayContaining(['.env', '.env.*', '.data', 'node_modules', '.git']));
  });

  it('copies only paths that exist and that .dockerignore lets through', () => {
    expect(contextCopies.sort()).toEqual(['bench', 'bin', 'migrations', 'package.json', 'src', 'tsconfig.json']);
    for (const source of contextCopies) {
      expect(existsSync(path.join(REPO_ROOT, source)), source).toBe(true);
      expect(dockerignore, source).not.toContain(source);
    }
  });

  it('needs no devDependency at run time: every package src/ and bench/ import is a production dependency', () => {
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
    const production = new Set(Object.keys(pkg.dependencies));
    const imported = new Map<string, string>();
    const files = ['src', 'bench'].flatMap((dir) =>
      readdirSync(path.join(REPO_ROOT, dir), { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.ts'))
        .map((f) => path.join(dir, f)),
    );
    for (const file of files) {
      const text = readFileSync(path.join(REPO_ROOT, file), 'utf8');
      const runtimeImports = [
        ...text.matchAll(/^(?:import|export)\s+(?!type\s)([^'";]*?)\s*from\s+'([^']+)'/gm),
        ...text.matchAll(/^import\s+'([^']+)'/gm),
        ...text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g),
      ]
        .filter((m) => m.length === 2 || !/^\{\s*(type\s+[\w$]+\s*,?\s*)+\}$/.test(m[1]))
        .map((m) => m[m.length - 1]);
      for (const specifier of runtimeImports) {
        if (specifier.startsWith('.') || specifier.startsWith('node:')) continue;
        const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0];
        imported.set(name, file);
      }
    }
    expect(imported.size).toBeGreaterThan(3);
    for (const [name, file] of imported) expect(production, `${name} (imported by ${file})`).toContain(name);
  });
});

describe('the runtime stage, assembled from its COPY lines', () => {
  let database: TestDatabase;
  let image: string;

  beforeAll(async () => {
    database = await startTestDatabase({ migrate: false });
    image = mkdtempSync(path.join(os.tmpdir(), 'aad-sync-image-'));
    for (const source of contextCopies)
      cpSync(path.join(REPO_ROOT, source), path.join(image, source), { recursive: true });
    symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(image, 'node_modules'));
  });
  afterAll(async () => {
    await database?.stop();
    if (image) rmSync(image, { recursive: true, force: true });
  });

  it('runs `aad-sync migrate` from those files alone and leaves the schema in place', async () => {
    const result = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ['bin/aad-sync.js', 'migrate'], {
        cwd: image,
        env: { PATH: process.env.PATH ?? '', HOME: image, DATABASE_URL: database.url },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (d) => {
        output += d;
      });
      child.stderr.on('data', (d) => {
        output += d;
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, output }));
    });
    expect(result.code, result.output).toBe(0);
    const [{ count }] = await database.sql<{ count: number }[]>`
      select count(*)::int as count from information_schema.tables where table_name = 'profiles'`;
    expect(count).toBe(1);
  });
});
