/**
 * The CSV import path as it was before issue 20, kept only so the import benchmark can run it side
 * by side with today's: csv-parse with `raw: true` and `on_record` yielding one record at a time
 * through an async generator (libs/dataset readers.ts), the per-row validation loop of
 * validateRowStream with an awaited `accept` per row, and TypeORM multi-row INSERTs of 500 rows
 * (apps/provider datasets.service.ts). Valid files only (the bench's); no problem reporting.
 */
import { parse } from 'csv-parse';
import type { Options as CsvOptions } from 'csv-parse';
import type { EntityManager } from 'typeorm';
import { type Columns, type DatasetRow, parseCsvCell } from '#dataset';
import { DatasetRowEntity } from '#persistence';

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
    const part = rows.slice(i, i + 500).map((r) => ({ datasetId: id, seq: seq.n++, data: JSON.stringify(r) }));
    await m.createQueryBuilder().insert().into(DatasetRowEntity).values(part).execute();
  }
}
