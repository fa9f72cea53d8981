/**
 * The CSV import path as it was before issue 20, kept only so the import benchmark can run it side
 * by side with today's: csv-parse with `raw: true` and `on_record` yielding one record at a time
 * through an async generator (libs/dataset readers.ts), the per-row validation loop of
 * validateRowStream with an awaited `accept` per row, and TypeORM multi-row INSERTs of 500 rows
 * (apps/provider datasets.service.ts). Valid files only (the bench's); no problem reporting.
 *
 * Also the store's previous layout, one database row per data row (table `dataset_rows`, dropped by
 * migration 1797200000000 for blocks of rows), recreated here as FORMER_TABLE with the same columns
 * and key: its bulk writer (prepared INSERT of 64 rows on SQLite, COPY per batch on PostgreSQL) and
 * the connector's read of it (pages of 5,000 rows by keyset, `JSON.parse` per row).
 */
import type { Database } from 'better-sqlite3';
import { parse } from 'csv-parse';
import type { Options as CsvOptions } from 'csv-parse';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { DataSource, EntityManager } from 'typeorm';
import { type Columns, type DatasetRow, parseCsvCell } from '#dataset';

/** The former `dataset_rows` table, under another name in the bench's own database. */
export const FORMER_TABLE = 'former_dataset_rows';

export async function createFormerTable(ds: DataSource): Promise<void> {
  await ds.query(
    ds.options.type === 'postgres'
      ? `CREATE TABLE "${FORMER_TABLE}" ("dataset_id" character varying(64) NOT NULL, "seq" integer NOT NULL, "data" text NOT NULL, PRIMARY KEY ("dataset_id", "seq"))`
      : `CREATE TABLE "${FORMER_TABLE}" ("dataset_id" varchar(64) NOT NULL, "seq" integer NOT NULL, "data" text NOT NULL, PRIMARY KEY ("dataset_id", "seq"))`,
  );
}

function breaksIn(raw: string): number {
  let n = 0;
  for (let i = 0; i < raw.length; i++) if (raw.charCodeAt(i) === 10) n++;
  if (raw.length > 0 && raw.charCodeAt(raw.length - 1) === 13) n++;
  return n;
}

async function* formerCsvRecords(chunks: AsyncIterable<string>): AsyncGenerator<{ line: number; value: string[] }> {
  const pending: { fields: string[]; raw: string }[] = [];
  let error: Error | undefined;
  const options: CsvOptions = {
    raw: true,
    relax_column_count: true,
    record_delimiter: ['\r\n', '\n'],
    on_record: (rec: unknown) => {
      const r = rec as { record: string[]; raw: string };
      pending.push({ fields: r.record, raw: r.raw });
      return null;
    },
  };
  const parser = parse(options);
  parser.on('error', (e: Error) => {
    error = e;
  });
  parser.resume();
  let line = 1;
  function* drain(): Generator<{ line: number; value: string[] }> {
    for (const r of pending) {
      const start = line;
      line += breaksIn(r.raw);
      if (r.fields.length === 1 && r.fields[0] === '' && /^\r?\n?$/.test(r.raw)) continue;
      yield { line: start, value: r.fields };
    }
    pending.length = 0;
  }
  for await (const chunk of chunks) {
    await new Promise<void>((resolve) => {
      parser.write(chunk, () => resolve());
    });
    yield* drain();
    if (error) break;
  }
  if (!error)
    await new Promise<void>((resolve) => {
      parser.end(() => resolve());
    });
  await new Promise<void>((resolve) => setImmediate(resolve));
  yield* drain();
  if (error) throw error;
}

async function* text(chunks: Iterable<Buffer>): AsyncGenerator<string> {
  for (const c of chunks) yield c.toString('utf8');
}

/** The former parse + validate loop, handing batches of `batchSize` rows to `onBatch`; returns the row count. */
export async function formerValidate(
  chunks: Iterable<Buffer>,
  columns: Columns,
  batchSize: number,
  onBatch: (rows: DatasetRow[]) => Promise<void> | void,
): Promise<number> {
  let header: string[] | null = null;
  let rows = 0;
  let batch: DatasetRow[] = [];
  const accept = async (row: DatasetRow): Promise<void> => {
    rows++;
    batch.push(row);
    if (batch.length >= batchSize) {
      const b = batch;
      batch = [];
      await onBatch(b);
    }
  };
  for await (const item of formerCsvRecords(text(chunks))) {
    if (header === null) {
      header = item.value.map((h) => h.trim());
      continue;
    }
    const row: DatasetRow = {};
    let good = true;
    for (let i = 0; i < header.length; i++) {
      const name = header[i]!;
      const r = parseCsvCell(columns[name]!, item.value[i]!);
      if (r.ok) row[name] = r.value;
      else good = false;
    }
    if (!good) throw new Error(`bench CSV has a bad row at line ${item.line}`);
    await accept(row);
  }
  if (batch.length > 0) await onBatch(batch);
  return rows;
}

/** The former store: TypeORM multi-row INSERTs of 500 rows. */
export async function formerInsert(m: EntityManager, id: string, rows: DatasetRow[], seq: { n: number }): Promise<void> {
  for (let i = 0; i < rows.length; i += 500) {
    const part = rows.slice(i, i + 500).map((r) => ({ dataset_id: id, seq: seq.n++, data: JSON.stringify(r) }));
    await m.createQueryBuilder().insert().into(FORMER_TABLE, ['dataset_id', 'seq', 'data']).values(part).execute();
  }
}

function copyText(s: string): string {
  return /[\\\n\r\t]/.test(s)
    ? s.replace(/[\\\n\r\t]/g, (c) => (c === '\\' ? '\\\\' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\t'))
    : s;
}

/**
 * The previous bulk writer (libs/persistence rows.ts before blocks), one database row per data row: on SQLite a
 * prepared INSERT of 64 rows on the transaction's connection, on PostgreSQL one COPY per call.
 */
export async function previousRowWriter(m: EntityManager, datasetId: string): Promise<(rows: readonly DatasetRow[]) => Promise<void>> {
  let seq = 0;
  if (m.connection.options.type === 'postgres') {
    const client = (await m.queryRunner!.connect()) as PoolClient;
    const id = copyText(datasetId);
    return async (rows) => {
      if (rows.length === 0) return;
      let text = '';
      for (const r of rows) text += `${id}\t${seq++}\t${copyText(JSON.stringify(r))}\n`;
      const stream = client.query(copyFrom(`COPY ${FORMER_TABLE} (dataset_id, seq, data) FROM STDIN`));
      await new Promise<void>((resolve, reject) => {
        stream.on('error', reject);
        stream.on('finish', resolve);
        stream.end(text);
      });
    };
  }
  const K = 64;
  const db = (m.connection.driver as unknown as { databaseConnection: Database }).databaseConnection;
  const values = Array.from({ length: K }, () => '(?, ?, ?)').join(', ');
  const many = db.prepare(`INSERT INTO ${FORMER_TABLE} (dataset_id, seq, data) VALUES ${values}`);
  const one = db.prepare(`INSERT INTO ${FORMER_TABLE} (dataset_id, seq, data) VALUES (?, ?, ?)`);
  const args: (string | number)[] = new Array(3 * K);
  return (rows) => {
    const json = rows.map((r) => JSON.stringify(r));
    let i = 0;
    for (; i + K <= json.length; i += K) {
      for (let j = 0; j < K; j++) {
        args[3 * j] = datasetId;
        args[3 * j + 1] = seq++;
        args[3 * j + 2] = json[i + j]!;
      }
      many.run(args);
    }
    for (; i < json.length; i++) one.run(datasetId, seq++, json[i]!);
    return Promise.resolve();
  };
}

/** The previous read for encryption (DatasetsService.rows before blocks): keyset pages of 5,000 rows, `JSON.parse` per row. */
export async function* previousReadRows(ds: DataSource, id: string, batch = 5000): AsyncGenerator<DatasetRow[]> {
  let from = 0;
  for (;;) {
    const part: { seq: number | string; data: string }[] = await ds
      .createQueryBuilder()
      .from(FORMER_TABLE, 'r')
      .select('r.seq', 'seq')
      .addSelect('r.data', 'data')
      .where('r.dataset_id = :id AND r.seq >= :from', { id, from })
      .orderBy('r.seq', 'ASC')
      .limit(batch)
      .getRawMany();
    if (part.length === 0) return;
    yield part.map((r) => JSON.parse(r.data) as DatasetRow);
    from = Number(part[part.length - 1]!.seq) + 1;
  }
}
