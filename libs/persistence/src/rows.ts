import type { Database } from 'better-sqlite3';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { DataSource, EntityManager } from 'typeorm';

/**
 * A dataset's rows are stored in blocks (table `dataset_row_blocks`: dataset id, sequence number of
 * the block's first row, its row count, and its rows as one JSON array), not one database row per
 * data row (issue 20). A block costs the database one B-tree entry and the reader one `JSON.parse`
 * for up to ROWS_PER_BLOCK rows: a 10^6-row import writes 1,000 entries instead of 10^6 table and
 * 10^6 index entries, and the connector reads them back in 1,000 values instead of 10^6 (no row
 * object from the driver, no `JSON.parse` call per row). Rows keep their import order: block
 * `first_seq` ascending, then array order; a row's sequence number is `first_seq` + its index.
 */
export const ROWS_PER_BLOCK = 1000;

/**
 * Writes a dataset's rows in bulk, inside the transaction the caller opened (the import's): nothing
 * is committed here, so a refused file still rolls back whole.
 *
 * - SQLite (better-sqlite3): one prepared INSERT per block, run synchronously on the transaction's
 *   own connection (better-sqlite3 has one connection; TypeORM's BEGIN IMMEDIATE is on it).
 * - PostgreSQL: `COPY dataset_row_blocks FROM STDIN` (text format) through pg-copy-streams on the
 *   transaction's client, one COPY per `write`, so between writes the connection is idle and a
 *   rollback needs no COPY to be aborted.
 */
export interface DatasetRowWriter {
  /** Appends rows (plain JSON-serialisable objects) with the next sequence numbers. */
  write(rows: readonly object[]): Promise<void>;
  /** The sequence number the next row gets. */
  readonly nextSeq: number;
}

/** COPY text format (PostgreSQL docs, "COPY", File Formats / Text Format): backslash, newline, CR and tab are escaped. */
function copyText(s: string): string {
  return /[\\\n\r\t]/.test(s)
    ? s.replace(/[\\\n\r\t]/g, (c) => (c === '\\' ? '\\\\' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\t'))
    : s;
}

/**
 * A block's JSON stays near this size whatever the width of the rows: a dataset of very wide rows gets fewer rows
 * per block (estimated from the first row of each write: rows of one dataset have the same columns, and a text
 * cell is at most MAX_TEXT_LENGTH characters), so no block nears V8's or the database's largest string.
 */
const BLOCK_CHARS = 4 << 20;

/** Splits `rows` into blocks of at most ROWS_PER_BLOCK, each as [first sequence number, row count, JSON array]. */
function blocks(rows: readonly object[], firstSeq: number): [number, number, string][] {
  const out: [number, number, string][] = [];
  if (rows.length === 0) return out;
  const per = Math.max(1, Math.min(ROWS_PER_BLOCK, Math.floor(BLOCK_CHARS / JSON.stringify(rows[0]).length)));
  for (let i = 0; i < rows.length; i += per) {
    const part = rows.slice(i, i + per);
    out.push([firstSeq + i, part.length, JSON.stringify(part)]);
  }
  return out;
}

function sqliteOf(m: EntityManager): Database {
  return (m.connection.driver as unknown as { databaseConnection: Database }).databaseConnection;
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
        for (const [first, count, json] of blocks(rows, seq)) text += `${id}\t${first}\t${count}\t${copyText(json)}\n`;
        seq += rows.length;
        const stream = client.query(copyFrom('COPY dataset_row_blocks (dataset_id, first_seq, row_count, data) FROM STDIN'));
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
  const db = sqliteOf(m);
  // inTransaction (transaction.ts) opens it with BEGIN IMMEDIATE on this same connection.
  if (!db.inTransaction) throw new Error('datasetRowWriter needs a transaction');
  const insert = db.prepare('INSERT INTO dataset_row_blocks (dataset_id, first_seq, row_count, data) VALUES (?, ?, ?, ?)');
  return {
    get nextSeq() {
      return seq;
    },
    async write(rows) {
      if (!db.inTransaction) throw new Error('datasetRowWriter: the transaction ended');
      for (const [first, count, json] of blocks(rows, seq)) insert.run(datasetId, first, count, json);
      seq += rows.length;
    },
  };
}

/** `?` on SQLite, `$n` on PostgreSQL. */
function placeholders(m: EntityManager | DataSource): (n: number) => string {
  const c = 'connection' in m ? m.connection : m;
  return c.options.type === 'postgres' ? (n) => `$${n}` : () => '?';
}

/** The sequence number the dataset's next appended row gets (0 when it has none). */
export async function nextDatasetSeq(m: EntityManager, datasetId: string): Promise<number> {
  const p = placeholders(m);
  const r = (await m.query(`SELECT MAX(first_seq + row_count) AS next FROM dataset_row_blocks WHERE dataset_id = ${p(1)}`, [
    datasetId,
  ])) as { next: number | string | null }[];
  const next = r[0]?.next;
  return next === null || next === undefined ? 0 : Number(next);
}

/** Deletes every stored row of the dataset (in the caller's transaction). */
export async function deleteDatasetRows(m: EntityManager, datasetId: string): Promise<void> {
  await m.query(`DELETE FROM dataset_row_blocks WHERE dataset_id = ${placeholders(m)(1)}`, [datasetId]);
}

/** The number of rows stored for the dataset (the sum of its blocks' counts). */
export async function storedRowCount(m: EntityManager | DataSource, datasetId: string): Promise<number> {
  const r = (await m.query(`SELECT COALESCE(SUM(row_count), 0) AS n FROM dataset_row_blocks WHERE dataset_id = ${placeholders(m)(1)}`, [
    datasetId,
  ])) as { n: number | string }[];
  return Number(r[0]?.n ?? 0);
}

/**
 * The dataset's rows in import order, `blocksPerRead` blocks per query (keyset pagination on the
 * primary key), one batch per block. Every block is checked to hold a JSON array of `row_count`
 * objects; anything else is a corrupt store and throws.
 */
export async function* readDatasetRows(ds: DataSource, datasetId: string, blocksPerRead = 10): AsyncGenerator<Record<string, unknown>[]> {
  const p = placeholders(ds);
  const sql =
    `SELECT first_seq, row_count, data FROM dataset_row_blocks WHERE dataset_id = ${p(1)} AND first_seq >= ${p(2)} ` +
    `ORDER BY first_seq LIMIT ${p(3)}`;
  let from = 0;
  for (;;) {
    const part = (await ds.query(sql, [datasetId, from, blocksPerRead])) as {
      first_seq: number | string;
      row_count: number | string;
      data: string;
    }[];
    if (part.length === 0) return;
    for (const b of part) {
      let rows: unknown;
      try {
        rows = JSON.parse(b.data);
      } catch {
        // JSON.parse quotes the text around the fault: the store's rows never reach an error message
        throw new Error(`dataset ${datasetId}: stored block at ${b.first_seq} is not valid JSON`);
      }
      if (!Array.isArray(rows) || rows.length !== Number(b.row_count))
        throw new Error(`dataset ${datasetId}: stored block at ${b.first_seq} is not an array of ${b.row_count} rows`);
      yield rows as Record<string, unknown>[];
    }
    from = Number(part[part.length - 1]!.first_seq) + 1;
  }
}
