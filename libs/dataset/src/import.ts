import { parseCsvCell, parseJsonCell } from './cells.js';
import type { Columns, DatasetRow } from './columns.js';
import { ProblemCollector } from './problems.js';
import type { ImportProblem } from './problems.js';
import { csvRecords, jsonArrayValues, ndjsonValues, utf8Chunks } from './readers.js';
import type { ReaderItem } from './readers.js';

export type RowFormat = 'csv' | 'json' | 'ndjson';

export interface RowImportOptions {
  format: RowFormat;
  columns: Columns;
  /**
   * Receives valid rows in batches, in file order, and is awaited before more input is read
   * (backpressure), so a caller can stage them in a transaction. It is called only while the file
   * is still clean: after the first problem no more batches are handed on, and the caller must
   * discard what it staged when the report says `ok: false` (a file is refused whole).
   */
  onBatch?: (rows: DatasetRow[]) => void | Promise<void>;
  /** Rows per batch (default 1000). */
  batchSize?: number;
  /** Problems kept in the report (default 100); all are counted. */
  maxProblems?: number;
}

export interface RowImportReport {
  /** True when every row is valid (and the file is not empty). */
  ok: boolean;
  /** Data rows read and found valid. When `ok`, the number of rows in the file. */
  rows: number;
  /** Every problem found, including those beyond `problems`. */
  problemCount: number;
  /** The first `maxProblems` problems, in file order. */
  problems: ImportProblem[];
}

type Chunks = AsyncIterable<Buffer | Uint8Array | string>;

function checkOptions(o: RowImportOptions): { batchSize: number; maxProblems: number } {
  if (o.format !== 'csv' && o.format !== 'json' && o.format !== 'ndjson') {
    throw new TypeError(`format must be "csv", "json" or "ndjson", got ${String(o.format)}`);
  }
  if (typeof o.columns !== 'object' || o.columns === null || Object.keys(o.columns).length === 0) {
    throw new TypeError('columns must be a non-empty column map (validate the dataset document first)');
  }
  const batchSize = o.batchSize ?? 1000;
  const maxProblems = o.maxProblems ?? 100;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new TypeError(`batchSize must be a positive integer, got ${batchSize}`);
  if (!Number.isSafeInteger(maxProblems) || maxProblems < 0) throw new TypeError(`maxProblems must be an integer >= 0, got ${maxProblems}`);
  return { batchSize, maxProblems };
}

/** Field names come from the file; keep them short in problems (they are names, not values). */
function fieldName(name: string): string {
  return name.length > 64 ? `${name.slice(0, 61)}...` : name;
}

/** Reads until the first non-whitespace character; returns it and a stream that replays everything. */
async function sniff(chunks: AsyncIterable<string>): Promise<{ first: string | null; all: AsyncIterable<string> }> {
  const it = chunks[Symbol.asyncIterator]();
  const head: string[] = [];
  let first: string | null = null;
  for (;;) {
    const n = await it.next();
    if (n.done) break;
    head.push(n.value);
    const m = /\S/.exec(n.value);
    if (m) {
      first = m[0];
      break;
    }
  }
  async function* all(): AsyncGenerator<string> {
    try {
      yield* head;
      for (;;) {
        const n = await it.next();
        if (n.done) return;
        yield n.value;
      }
    } finally {
      // Stopping early (bad header, malformed file) must release the input (destroys a Readable).
      await it.return?.();
    }
  }
  return { first, all: all() };
}

/**
 * Streams a CSV, JSON-array or NDJSON file, validating every row against the dataset's columns.
 *
 * - CSV: the first non-blank line is the header and must name exactly the dataset's columns
 *   (any order; missing, extra and duplicate names are problems, and stop the import). Quoted
 *   fields (RFC 4180) may hold commas and line breaks; CRLF or LF; blank lines are skipped.
 * - JSON: an array of row objects, or (when the file starts with `{`, or format `ndjson`) one
 *   object per line. Every column must be present; any other field is an `EXTRA_FIELD` problem.
 * - Both: a UTF-8 BOM is dropped. A file with no content at all is an `EMPTY_FILE` problem; a CSV
 *   with only a header (or JSON `[]`) is valid and has zero rows.
 * - Values: numbers finite, within `[min, max]` (out of range is refused here; clamping is a
 *   scenario's business), integers integral; categories from the list; ids non-empty.
 *
 * Line numbers are 1-based lines of the file (CSV: the header is line 1, the first row line 2);
 * a row spanning several lines is reported at its first. Problem messages name the column and the
 * problem, never the cell's value. Memory stays flat: one input chunk and one batch at a time.
 */
export async function validateRowStream(input: Chunks, options: RowImportOptions): Promise<RowImportReport> {
  const { batchSize, maxProblems } = checkOptions(options);
  const { columns, onBatch } = options;
  const problems = new ProblemCollector(maxProblems);
  let rows = 0;
  let batch: DatasetRow[] = [];

  /** Counts a valid row and stages it; true when a full batch waits for `flush` (awaited only then: no promise per row). */
  function stage(row: DatasetRow): boolean {
    rows++;
    if (problems.count > 0 || !onBatch) return false;
    batch.push(row);
    return batch.length >= batchSize;
  }
  async function flush(): Promise<void> {
    const b = batch;
    batch = [];
    await onBatch!(b);
  }
  async function accept(row: DatasetRow): Promise<void> {
    if (stage(row)) await flush();
  }
  async function finish(): Promise<RowImportReport> {
    if (problems.count === 0 && onBatch && batch.length > 0) await onBatch(batch);
    batch = [];
    return { ok: problems.count === 0, rows, problemCount: problems.count, problems: problems.problems };
  }

  const { first, all } = await sniff(utf8Chunks(input));
  if (first === null) {
    problems.add(1, null, 'EMPTY_FILE', 'the file is empty');
    return finish();
  }

  if (options.format === 'csv') {
    let header: string[] | null = null;
    const names = Object.keys(columns);
    records: for await (const items of csvRecords(all)) {
      for (const item of items) {
        if (item.kind === 'problem') {
          problems.add(item.line, null, item.code, item.message);
          break records;
        }
        if (header === null) {
          header = item.value.map((h) => h.trim());
          const seen = new Set<string>();
          for (const h of header) {
            if (seen.has(h)) problems.add(item.line, fieldName(h), 'DUPLICATE_COLUMN', 'column appears more than once in the header');
            else if (!Object.hasOwn(columns, h)) problems.add(item.line, fieldName(h), 'EXTRA_COLUMN', 'not a column of the dataset');
            seen.add(h);
          }
          for (const n of names) if (!seen.has(n)) problems.add(item.line, n, 'MISSING_COLUMN', 'column missing from the header');
          // Rows cannot be read against a wrong header.
          if (problems.count > 0) break records;
          continue;
        }
        if (item.value.length !== header.length) {
          problems.add(item.line, null, 'WRONG_FIELD_COUNT', `row has ${item.value.length} fields, the header ${header.length}`);
          continue;
        }
        const row: DatasetRow = {};
        let good = true;
        for (let i = 0; i < header.length; i++) {
          const name = header[i] as string;
          const r = parseCsvCell(columns[name]!, item.value[i] as string);
          if (r.ok) row[name] = r.value;
          else {
            good = false;
            problems.add(item.line, name, r.code, r.message);
          }
        }
        if (good && stage(row)) await flush();
      }
    }
    if (header === null && problems.count === 0) problems.add(1, null, 'EMPTY_FILE', 'the file has no header');
    return finish();
  }

  if (options.format === 'json' && first !== '[' && first !== '{') {
    problems.add(1, null, 'NOT_AN_ARRAY', 'a JSON file must be an array of row objects (or NDJSON, one object per line)');
    return finish();
  }
  const values: AsyncIterable<ReaderItem<unknown>> = options.format === 'json' && first === '[' ? jsonArrayValues(all) : ndjsonValues(all);
  let any = false;
  for await (const item of values) {
    if (item.kind === 'problem') {
      problems.add(item.line, null, item.code, item.message);
      if (item.fatal) break;
      continue;
    }
    any = true;
    const v = item.value;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      problems.add(item.line, null, 'NOT_AN_OBJECT', 'a row must be a JSON object');
      continue;
    }
    const obj = v as Record<string, unknown>;
    const row: DatasetRow = {};
    let good = true;
    for (const key of Object.keys(obj)) {
      if (!Object.hasOwn(columns, key)) {
        good = false;
        problems.add(item.line, fieldName(key), 'EXTRA_FIELD', 'not a column of the dataset');
      }
    }
    for (const [name, spec] of Object.entries(columns)) {
      if (!Object.hasOwn(obj, name)) {
        good = false;
        problems.add(item.line, name, 'MISSING_FIELD', 'field missing from the row');
        continue;
      }
      const r = parseJsonCell(spec, obj[name]);
      if (r.ok) row[name] = r.value;
      else {
        good = false;
        problems.add(item.line, name, r.code, r.message);
      }
    }
    if (good) await accept(row);
  }
  if (!any && problems.count === 0 && options.format === 'ndjson') problems.add(1, null, 'EMPTY_FILE', 'the file has no rows');
  return finish();
}
