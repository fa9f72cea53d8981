import type { Database } from 'better-sqlite3';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { EntityManager } from 'typeorm';

/**
 * Writes a dataset's rows (table `dataset_rows`: dataset id, sequence number, row as JSON text) in
 * bulk, inside the transaction the caller opened (the import's): nothing is committed here, so a
 * refused file still rolls back whole.
 *
 * - SQLite (better-sqlite3): one prepared INSERT, run synchronously for every row on the
 *   transaction's own connection (better-sqlite3 has one connection; TypeORM's BEGIN IMMEDIATE is
 *   on it). Per-row statements in one large transaction are SQLite's fast path (no SQL text to
 *   build or parse per batch, no journal sync before COMMIT).
 * - PostgreSQL: `COPY dataset_rows (dataset_id, seq, data) FROM STDIN` (text format) through
 *   pg-copy-streams on the transaction's client, one COPY per batch, so between batches the
 *   connection is idle and a rollback needs no COPY to be aborted.
 */
export interface DatasetRowWriter {
  /** Appends rows (already serialised as JSON) with the next sequence numbers. */
  write(rows: readonly string[]): Promise<void>;
  /** The sequence number the next row gets. */
  readonly nextSeq: number;
}

const SQLITE_ROWS_PER_STATEMENT = 64;

/** COPY text format (PostgreSQL docs, "COPY", File Formats / Text Format): backslash, newline, CR and tab are escaped. */
function copyText(s: string): string {
  return /[\\\n\r\t]/.test(s)
    ? s.replace(/[\\\n\r\t]/g, (c) => (c === '\\' ? '\\\\' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\t'))
    : s;
}

export async function datasetRowWriter(m: EntityManager, datasetId: string, firstSeq: number): Promise<DatasetRowWriter> {
  let seq = firstSeq;
  if (m.connection.options.type === 'postgres') {
    const qr = m.queryRunner;
    if (!qr?.isTransactionActive) throw new Error('datasetRowWriter needs a transaction');
    const client = (await qr.connect()) as PoolClient;
    const id = copyText(datasetId);
    return {
      get nextSeq() {
        return seq;
      },
      async write(rows) {
        if (rows.length === 0) return;
        let text = '';
        for (const r of rows) text += `${id}\t${seq++}\t${copyText(r)}\n`;
        const stream = client.query(copyFrom('COPY dataset_rows (dataset_id, seq, data) FROM STDIN'));
        await new Promise<void>((resolve, reject) => {
          stream.on('error', reject);
          stream.on('finish', resolve);
          stream.end(text);
        });
      },
    };
  }
  if (m.connection.options.type !== 'better-sqlite3')
    throw new Error(`datasetRowWriter: unsupported database ${m.connection.options.type}`);
  const db = (m.connection.driver as unknown as { databaseConnection: Database }).databaseConnection;
  // inTransaction (transaction.ts) opens it with BEGIN IMMEDIATE on this same connection.
  if (!db.inTransaction) throw new Error('datasetRowWriter needs a transaction');
  const values = (n: number): string => Array.from({ length: n }, () => '(?, ?, ?)').join(', ');
  const many = db.prepare(`INSERT INTO dataset_rows (dataset_id, seq, data) VALUES ${values(SQLITE_ROWS_PER_STATEMENT)}`);
  const one = db.prepare('INSERT INTO dataset_rows (dataset_id, seq, data) VALUES (?, ?, ?)');
  const args: (string | number)[] = new Array(3 * SQLITE_ROWS_PER_STATEMENT);
  return {
    get nextSeq() {
      return seq;
    },
    async write(rows) {
      if (!db.inTransaction) throw new Error('datasetRowWriter: the transaction ended');
      let i = 0;
      for (; i + SQLITE_ROWS_PER_STATEMENT <= rows.length; i += SQLITE_ROWS_PER_STATEMENT) {
        for (let j = 0; j < SQLITE_ROWS_PER_STATEMENT; j++) {
          args[3 * j] = datasetId;
          args[3 * j + 1] = seq++;
          args[3 * j + 2] = rows[i + j] as string;
        }
        many.run(args);
      }
      for (; i < rows.length; i++) one.run(datasetId, seq++, rows[i] as string);
    },
  };
}
