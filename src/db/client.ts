import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import * as schema from './schema.ts';

export type Db = PostgresJsDatabase<typeof schema>;
export type Sql = postgres.Sql;

export interface Database {
  /** Typed queries for small tables. */
  db: Db;
  /** Raw postgres.js for bulk work (COPY, set-based upserts) and advisory locks; returns real `Date`s. */
  sql: Sql;
  close(): Promise<void>;
}

/**
 * Two pools on one database: drizzle rewrites the date and JSON parsers of the client it wraps,
 * so raw queries get a client of their own.
 */
export function connectDatabase(url: string, options: { max?: number } = {}): Database {
  const common = { onnotice: () => {}, max: options.max ?? 10, idle_timeout: 30, connect_timeout: 15 };
  const sql = postgres(url, common);
  const drizzleClient = postgres(url, common);
  const db = drizzle(drizzleClient, { schema });
  return {
    db,
    sql,
    close: async () => {
      await Promise.all([sql.end({ timeout: 5 }), drizzleClient.end({ timeout: 5 })]);
    },
  };
}
