import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { Sql } from '../db/client.ts';

/** One field in PostgreSQL's COPY text format: `\N` is NULL, and the four characters that delimit are escaped. */
export function copyField(value: string | number | null): string {
  if (value === null) return '\\N';
  if (typeof value === 'number') return String(value);
  // PostgreSQL text cannot hold NUL at all; dropping it beats failing the whole run over one attribute.
  return value.replace(/[\\\t\n\r\0]/g, (c) =>
    c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '',
  );
}

export function copyLine(fields: (string | number | null)[]): string {
  return `${fields.map(copyField).join('\t')}\n`;
}

export class CopyError extends Error {}

/**
 * Streams rows into `table` with one `COPY … FROM STDIN` on a reserved connection. The COPY settles when
 * the server has stored every row (CommandComplete), rejected them, or lost the connection; postgres.js
 * left the last two unsettled or crashed the process, which patches/postgres+3.4.9.patch fixes.
 */
export class CopyWriter {
  private rows = 0;
  private failure: Error | undefined;
  private ended = false;

  private constructor(
    private readonly table: string,
    private readonly stream: Writable,
  ) {
    stream.on('error', (error) => {
      this.failure ??= error;
    });
    // A stream that closes before finish() ended it lost its connection (the backend was terminated).
    stream.on('close', () => {
      if (!this.ended) this.failure ??= new CopyError(`staging ${table} failed: the database connection closed`);
    });
  }

  static async open(conn: Sql, table: string, columns: readonly string[]): Promise<CopyWriter> {
    const stream = await conn`copy ${conn(table)} (${conn(columns as string[])}) from stdin`.writable();
    return new CopyWriter(table, stream);
  }

  /** One COPY of already formatted lines into `table`: resolves once they are stored; a failure aborts it. */
  static async copy(conn: Sql, table: string, columns: readonly string[], lines: string, count: number): Promise<void> {
    const writer = await CopyWriter.open(conn, table, columns);
    try {
      await writer.write(lines, count);
      await writer.finish();
    } catch (error) {
      writer.abort(error as Error);
      throw error;
    }
  }

  /** Sends a chunk of already formatted lines; resolves when the connection can take more. */
  async write(lines: string, count: number): Promise<void> {
    if (this.failure) throw this.failure;
    this.rows += count;
    if (!this.stream.write(lines)) await this.drained();
  }

  private drained(): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (error?: Error) => {
        this.stream.off('drain', done);
        this.stream.off('error', done);
        this.stream.off('close', closed);
        error ? reject(error) : resolve();
      };
      const closed = () => done(this.failure);
      this.stream.on('drain', done);
      this.stream.on('error', done);
      this.stream.on('close', closed);
    });
  }

  /** Ends the COPY and waits until the server stored every row; returns the number of rows sent. */
  async finish(): Promise<number> {
    if (this.failure) throw this.failure;
    this.ended = true;
    this.stream.end();
    try {
      await finished(this.stream);
    } catch (error) {
      throw this.failure ?? new CopyError(`staging ${this.table} failed: ${(error as Error).message}`);
    }
    if (this.failure) throw this.failure;
    return this.rows;
  }

  /** Abandons the COPY (CopyFail); the server discards what it received. */
  abort(reason: Error): void {
    this.ended = true;
    if (!this.stream.destroyed) this.stream.destroy(reason);
  }
}
