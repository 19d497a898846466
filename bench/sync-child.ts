import { loadConfig } from '../src/config.ts';
import { connectDatabase } from '../src/db/client.ts';
import { syncDepsFromConfig } from '../src/sync/compose.ts';
import { runSync } from '../src/sync/engine.ts';
import type { RequestedMode } from '../src/sync/scope.ts';

/**
 * One sync run in a process of its own, so its peak memory is the run's alone (bench/sync.ts starts it).
 * Usage: `node --import tsx bench/sync-child.ts <sourceId> <auto|full|preview>`; configuration from the
 * environment as for `aad-sync sync`. Prints one JSON line: the outcome, the run's wall time, peak RSS.
 */

const [sourceId, mode = 'auto'] = process.argv.slice(2);
const config = loadConfig(['DATABASE_URL', 'AZURE_CLIENT_ID', 'AZURE_CLIENT_SECRET', 'ENCRYPTION_KEY']);
const database = connectDatabase(config.databaseUrl!);
const deps = syncDepsFromConfig(config, database);
const started = performance.now();
const outcome = await runSync(deps, { sourceId, trigger: 'cli', requestedBy: 'bench', mode: mode as RequestedMode });
const wallMs = Math.round(performance.now() - started);
await database.close();
process.stdout.write(
  `${JSON.stringify({ outcome, wallMs, peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024) })}\n`,
);
process.exit(0);
