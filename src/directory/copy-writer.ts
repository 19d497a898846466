import type { Writable } from 'node:stream';
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
 * Streams rows into `table` with one `COPY … FROM STDIN` on a reserved connection, so the database
 * ingests while the caller is still producing rows.
 *
 * postgres.js never settles the stream when the server rejects COPY data (nor when the connection drops
 * after the last chunk), so completion is not awaited on the stream: after the final write has reached
 * the socket, a row count is queued on the same connection. It runs once the COPY is over, whatever its
 * outcome, and a count that differs from the rows sent means the COPY failed.
 */
export class CopyWriter {
  private rows = 0;
  private failure: Error | undefined;
  private flushed: Promise<unknown> = Promise.resolve();
  private ended = false;

  private constructor(
    private readonly conn: Sql,
    private readonly table: string,
    private readonly stream: Writable,
    private readonly rowsBefore: number,
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
    const [{ n }] = await conn`select count(*)::int as n from ${conn(table)}`;
    const stream = await conn`copy ${conn(table)} (${conn(columns as string[])}) from stdin`.writable();
    return new CopyWriter(conn, table, stream, n);
  }

  /** Sends a chunk of already formatted lines; resolves when the connection can take more. */
  async write(lines: string, count: number): Promise<void> {
    if (this.failure) throw this.failure;
    this.rows += count;
    let accepted = true;
    this.flushed = new Promise((resolve) => {
      accepted = this.stream.write(lines, resolve);
    });
    if (!accepted) await this.drained();
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

  /** Ends the COPY and checks that every row arrived; returns the number of rows sent. */
  async finish(): Promise<number> {
    if (this.failure) throw this.failure;
    // With nothing left in flight, end() hands CopyDone to the socket at once, so the count below queues after it.
    await this.flushed;
    if (this.failure) throw this.failure;
    this.ended = true;
    this.stream.end();
    const [{ n }] = await this.conn`select count(*)::int as n from ${this.conn(this.table)}`;
    if (this.failure) throw this.failure;
    if (n - this.rowsBefore !== this.rows) {
      throw new CopyError(`staging ${this.table} failed: ${this.rows} rows sent, ${n - this.rowsBefore} stored`);
    }
    return this.rows;
  }

  /** Abandons the COPY (CopyFail); the server discards what it received. */
  abort(reason: Error): void {
    this.ended = true;
    if (!this.stream.destroyed) this.stream.destroy(reason);
  }
}
