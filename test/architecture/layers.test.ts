import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/cli.ts';

/**
 * DESIGN §4 from the import graph: slack/ & http/ → services/ → sync/ → azure/ & directory/ → db/, each
 * folder depending only on those below it (type-only imports count: they are dependencies too). The
 * top-level helpers (config, logger, crypto, deadline, shutdown) sit below everything. Emulators, the
 * demo and the benchmarks are never imported by product code (nor the demo and benchmarks by an
 * emulator); only the CLI commands that run them
 * (`aad-sync demo`, `emulator`, `bench`) do. Variables are read from `process.env` in src/config.ts alone.
 */

type Layer =
  | 'base'
  | 'db'
  | 'azure'
  | 'directory'
  | 'sync'
  | 'services'
  | 'slack'
  | 'http'
  | 'composition'
  | 'emulators'
  | 'demo'
  | 'bench';

/** Lower numbers are lower layers; folders of one number must not import each other. */
const RANK: Record<Exclude<Layer, 'emulators' | 'demo' | 'bench'>, number> = {
  base: 0,
  db: 1,
  azure: 2,
  directory: 2,
  sync: 3,
  services: 4,
  slack: 5,
  http: 5,
  composition: 6,
};

const BASE_FILES = new Set(['config.ts', 'logger.ts', 'crypto.ts', 'deadline.ts', 'shutdown.ts']);
const COMPOSITION_FILES = new Set(['server.ts', 'cli.ts']);
/** The commands that exist to run the tooling, and what each may load. */
const TOOLING_COMMANDS: Record<string, Layer[]> = {
  'commands/demo.ts': ['demo'],
  'commands/emulator.ts': ['emulators'],
  'commands/bench.ts': ['bench', 'demo'],
};

/** `file` relative to the repository root, e.g. `src/sync/engine.ts`. */
function layerOf(file: string): Layer | undefined {
  if (file.startsWith('bench/')) return 'bench';
  if (!file.startsWith('src/')) return undefined;
  const inSrc = file.slice('src/'.length);
  const [top] = inSrc.split('/');
  if (inSrc === top) {
    if (BASE_FILES.has(top)) return 'base';
    if (COMPOSITION_FILES.has(top)) return 'composition';
    return undefined;
  }
  if (top === 'commands') return 'composition';
  return (['db', 'azure', 'directory', 'sync', 'services', 'slack', 'http', 'emulators', 'demo'] as const).find(
    (l) => l === top,
  );
}

/** Every module a file imports (static, dynamic, `export … from`), as repository paths. */
function importsOf(file: string, text: string): string[] {
  const specifiers = [
    ...text.matchAll(/^\s*(?:import|export)\s[^'";]*?\sfrom\s+'([^']+)'/gm),
    ...text.matchAll(/^\s*import\s+'([^']+)'/gm),
    ...text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g),
  ].map((m) => m[1]);
  return specifiers
    .filter((s) => s.startsWith('.'))
    .map((s) => path.posix.normalize(path.posix.join(path.posix.dirname(file), s)));
}

/** Why `from` may not import `to`, or null when it may. */
function forbidden(from: string, to: string): string | null {
  const a = layerOf(from);
  const b = layerOf(to);
  if (!a) return `${from} is in no layer: add it to DESIGN §4 and to this test`;
  if (!b) return to.startsWith('src/') ? `${to} is in no layer` : null;
  if (a === 'demo' || a === 'bench') return null;
  // An emulator that borrowed the product's code (its Block Kit limits, say) would agree with the product's
  // mistakes; only shared plumbing (base files such as the logger) may be used.
  if (a === 'emulators') return b === 'emulators' || b === 'base' ? null : `an emulator must not import ${b}/`;
  if (b === 'emulators' || b === 'demo' || b === 'bench') {
    const inSrc = from.slice('src/'.length);
    return TOOLING_COMMANDS[inSrc]?.includes(b) ? null : `product code must not import ${b}/`;
  }
  if (a === b) return null;
  if (RANK[b] < RANK[a]) return null;
  return RANK[b] === RANK[a] ? `${a}/ and ${b}/ are side by side` : `${a}/ must not depend on ${b}/, a layer above it`;
}

function sourceFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const dir of ['src', 'bench']) {
    for (const name of readdirSync(path.join(REPO_ROOT, dir), { recursive: true, encoding: 'utf8' })) {
      if (!name.endsWith('.ts')) continue;
      const file = `${dir}/${name.split(path.sep).join('/')}`;
      files.set(file, readFileSync(path.join(REPO_ROOT, file), 'utf8'));
    }
  }
  return files;
}

/** Tables with one owner (DESIGN §4, "one owner per table"): no other product file writes them. */
const TABLE_OWNERS: Record<string, { owner: string; drizzleName: string }> = {
  sources: { owner: 'src/db/sources.ts', drizzleName: 'sources' },
  sync_runs: { owner: 'src/sync/runs.ts', drizzleName: 'syncRuns' },
  group_trees: { owner: 'src/db/group-trees.ts', drizzleName: 'groupTrees' },
  group_tree_members: { owner: 'src/db/group-trees.ts', drizzleName: 'groupTreeMembers' },
};

/** The owned tables `text` writes, in SQL (`update t`, `insert into t`, `delete from t`) or through drizzle. */
function tablesWritten(text: string): string[] {
  return Object.entries(TABLE_OWNERS)
    .filter(
      ([table, { drizzleName }]) =>
        new RegExp(`\\b(update|insert\\s+into|delete\\s+from)\\s+${table}\\b`, 'i').test(text) ||
        new RegExp(`\\.(update|insert|delete)\\(\\s*${drizzleName}\\s*\\)`).test(text),
    )
    .map(([table]) => table);
}

function violations(files: Map<string, string>): string[] {
  const found: string[] = [];
  for (const [file, text] of files) {
    for (const target of importsOf(file, text)) {
      const why = forbidden(file, target);
      if (why) found.push(`${file} → ${target}: ${why}`);
    }
    // Reading a variable is config.ts's job; handing the whole environment to a child process is not reading.
    if (file.startsWith('src/') && file !== 'src/config.ts' && /\bprocess\.env(\.\w|\[|\s*\))/.test(text))
      found.push(`${file} reads process.env: only src/config.ts does`);
    // The emulators, demo and benchmarks stand outside the product (the demo seeds its story its own way).
    const layer = layerOf(file);
    if (layer === 'emulators' || layer === 'demo' || layer === 'bench') continue;
    for (const table of tablesWritten(text)) {
      const { owner } = TABLE_OWNERS[table];
      if (file !== owner) found.push(`${file} writes ${table}: only ${owner} does`);
    }
  }
  return found;
}

describe('layers (DESIGN §4)', () => {
  const files = sourceFiles();

  it('every import in src/ and bench/ goes down the layers', () => {
    expect(files.size).toBeGreaterThan(100);
    expect(violations(files)).toEqual([]);
  });

  // [file, line added to it, the violation named]
  const injected: [string, string, string][] = [
    [
      'src/services/admin.ts',
      "import { blockIds } from '../slack/ids.ts';",
      'src/services/admin.ts → src/slack/ids.ts: services/ must not depend on slack/, a layer above it',
    ],
    [
      'src/sync/engine.ts',
      "import type { RunReport } from '../services/model.ts';",
      'src/sync/engine.ts → src/services/model.ts: sync/ must not depend on services/, a layer above it',
    ],
    [
      'src/http/photos.ts',
      "import '../slack/app.ts';",
      'src/http/photos.ts → src/slack/app.ts: http/ and slack/ are side by side',
    ],
    [
      'src/server.ts',
      "const e = await import('./emulators/slack/index.ts');",
      'src/server.ts → src/emulators/slack/index.ts: product code must not import emulators/',
    ],
    [
      'src/emulators/entra/http.ts',
      "import { DEMO_TENANT } from '../../demo/stack.ts';",
      'src/emulators/entra/http.ts → src/demo/stack.ts: an emulator must not import demo/',
    ],
    [
      'src/emulators/slack/methods.ts',
      "import { LIMITS } from '../../slack/views/limits.ts';",
      'src/emulators/slack/methods.ts → src/slack/views/limits.ts: an emulator must not import slack/',
    ],
    [
      'src/db/client.ts',
      'const url = process.env.DATABASE_URL;',
      'src/db/client.ts reads process.env: only src/config.ts does',
    ],
    [
      'src/services/admin.ts',
      'await db.update(sources).set({ photoSync: true });',
      'src/services/admin.ts writes sources: only src/db/sources.ts does',
    ],
    [
      'src/sync/engine.ts',
      "await sql`update sources set status = 'held'`;",
      'src/sync/engine.ts writes sources: only src/db/sources.ts does',
    ],
    [
      'src/services/reports.ts',
      'await sql`delete from sync_runs where id = 1`;',
      'src/services/reports.ts writes sync_runs: only src/sync/runs.ts does',
    ],
  ];

  it.each(injected)('names a forbidden addition to %s: %s', (file, line, named) => {
    const copy = new Map(files);
    copy.set(file, `${line}\n${files.get(file)}`);
    expect(violations(copy)).toEqual([named]);
  });
});
