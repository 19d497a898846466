import postgres from 'postgres';
import type { DirectoryScope } from '../src/directory/people.ts';
import { searchPeople } from '../src/directory/search.ts';

/**
 * Runs one search while recording its statements, then replays them in a transaction with EXPLAIN in
 * front of each statement that reads profiles (after the same `set_config` guards the search sets).
 * Returns one plan per statement, as lines.
 */
export async function explainSearch(
  url: string,
  scope: DirectoryScope,
  text: string,
  explain = 'explain',
): Promise<string[][]> {
  const captured: { query: string; parameters: unknown[] }[] = [];
  const spy = postgres(url, {
    max: 1,
    onnotice: () => {},
    debug: (_c, query, parameters) => captured.push({ query, parameters: parameters as unknown[] }),
  });
  const raw = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await searchPeople(spy, { scope, text });
    return await raw.begin(async (tx) => {
      const plans: string[][] = [];
      let generic = false;
      for (const [i, { query, parameters }] of captured.entries()) {
        if (/^\s*select set_config/.test(query)) {
          await tx.unsafe(query, parameters as never[]);
          const mode = /'force_(generic|custom)_plan'/.exec(query)?.[1];
          if (mode) generic = mode === 'generic';
          continue;
        }
        if (!/from profiles p/.test(query)) continue;
        // The plan the search runs: under force_generic_plan the one made without the values (which
        // EXPLAIN shows for a statement of bound parameters only when it is executed as a prepared one).
        const plan = !generic
          ? await tx.unsafe(`${explain} ${query}`, parameters as never[])
          : /\banalyze\b/.test(explain)
            ? await explainPrepared(tx, explain, query, parameters, `explained_${i}`)
            : await tx.unsafe(`${explain.replace(/^explain\b/, 'explain (generic_plan)')} ${query}`).simple();
        plans.push(plan.map((r) => String(r['QUERY PLAN'])));
      }
      return plans;
    });
  } finally {
    await spy.end();
    await raw.end();
  }
}

/** EXPLAIN ANALYZE of a generic plan: the statement prepared, then executed with its values spelled out. */
async function explainPrepared(
  tx: postgres.TransactionSql,
  explain: string,
  query: string,
  parameters: unknown[],
  name: string,
) {
  const { types } = await tx.unsafe(query, parameters as never[]).describe();
  const typeNames = await tx<{ name: string }[]>`
    select format_type(t, null) as name from unnest(${types}::oid[]) with ordinality u(t, n) order by n`;
  const declared = typeNames.length ? `(${typeNames.map((t) => t.name).join(', ')})` : '';
  await tx.unsafe(`prepare ${name}${declared} as ${query}`).simple();
  // EXECUTE takes no bound parameters under EXPLAIN: the values are spelled out as quoted literals.
  const [literals]: Record<string, string>[] = typeNames.length
    ? await tx.unsafe(
        `select ${typeNames.map((t, j) => `quote_nullable($${j + 1}::${t.name}::text) as p${j}`).join(', ')}`,
        parameters as never[],
      )
    : [{}];
  const args = typeNames.map((t, j) => `${literals[`p${j}`]}::${t.name}`).join(', ');
  return tx.unsafe(`${explain} execute ${name}${args ? `(${args})` : ''}`).simple();
}

/**
 * The index reads of `plan` (EXPLAIN text) that are not limited to a source by their index condition, other
 * than reads by primary key: a search that has them reads other sources' rows. Reads of `profiles_default`
 * are not counted: it holds the rows of sources without a partition of their own, which a source has from its
 * first sync on (migration 0011), so it is empty wherever a source is searched, and a lookup by id that cannot
 * prune it at plan time reads it for nothing.
 */
export function unscopedIndexReads(plan: string[]): string[] {
  const unscoped: string[] = [];
  plan.forEach((line, i) => {
    const index = /(?:Index Scan|Index Only Scan|Bitmap Index Scan)(?: Backward)?(?: using| on) (profiles_\w+)/.exec(
      line,
    );
    // A partition's indexes are named after the profiles index they belong to (profiles_pkey_p16384).
    if (!index || /^profiles_pkey(?:_p\d+)?$/.test(index[1]) || / on profiles_default /.test(line)) return;
    const condition = plan.slice(i + 1).find((l) => /Index Cond:|->/.test(l)) ?? '';
    if (!/Index Cond:.*\bsource_id\b/.test(condition)) unscoped.push(line.trim());
  });
  return unscoped;
}
