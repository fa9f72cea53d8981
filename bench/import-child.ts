/**
 * One database's half of the import benchmark (bench/import.ts), in its own process: the column
 * types of the entities are fixed by DATABASE_URL when they load, so SQLite and PostgreSQL cannot
 * share a process. Prints one JSON line per figure on stdout, prefixed `FIGURE `.
 *
 * Measured on the same pre-generated CSV (the water-district-consumption provider's rows, generated
 * once, not timed): parsing and validation alone, before and now; the whole import below HTTP
 * (parse, validate, store in one transaction), before (bench/lib/former-import.ts: csv-parse and
 * TypeORM INSERTs), previous (today's parsing, one database row per data row) and now
 * (`validateRowStream` + `datasetRowWriter`, blocks of rows); the connector's read of the stored
 * rows for an encryption task, previous and now; and the whole HTTP import
 * (`POST /datasets/:id/rows`) on the provider as deployed now.
 */
import { request } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DataSource } from 'typeorm';
import { type Columns, validateRowStream } from '#dataset';
import { datasetRowWriter, inTransaction, readDatasetRows, ROWS_PER_BLOCK, storedRowCount } from '#persistence';
import { datasetDocumentFor } from '#scenario';
import type { DataspaceClient } from '#sdk';
import { createFormerTable, FORMER_TABLE, formerInsert, formerValidate, previousReadRows, previousRowWriter } from './lib/former-import.js';
import { catalogRows, csvChunks, participant, registerCatalogDataset, startSystem } from './lib/system.js';

const ID = 'water-district-consumption';
const ROLE = 'utility';

interface Figure {
  name: string;
  rows: number;
  ms: number;
  /** CPU time of this process (all threads, user + system) over the same span */
  cpuMs: number;
  note?: string;
}
/** Starts a span: returns a function giving [wall ms, CPU ms] since then. */
function span(): () => [number, number] {
  const t = performance.now();
  const c = process.cpuUsage();
  return () => {
    const d = process.cpuUsage(c);
    return [performance.now() - t, (d.user + d.system) / 1000];
  };
}
const emit = (f: Figure): void => void process.stdout.write(`FIGURE ${JSON.stringify(f)}\n`);

type How = 'former' | 'previous' | 'now';

async function direct(ds: DataSource, columns: Columns, chunks: Buffer[], how: How, id: string): Promise<[number, number]> {
  const done = span();
  const rows = await inTransaction(ds, async (m) => {
    if (how === 'former') {
      const seq = { n: 0 };
      return formerValidate(chunks, columns, 2000, (b) => formerInsert(m, id, b, seq));
    }
    const write = how === 'previous' ? await previousRowWriter(m, id) : (await datasetRowWriter(m, id, 0)).write;
    const report = await validateRowStream(Readable.from(chunks), { format: 'csv', columns, batchSize: 10_000, onBatch: write });
    if (!report.ok) throw new Error(`bench CSV refused: ${JSON.stringify(report.problems.slice(0, 3))}`);
    return report.rows;
  });
  const spent = done();
  let stored: number;
  if (how === 'now') stored = await storedRowCount(ds, id);
  else {
    const placeholder = ds.options.type === 'postgres' ? '$1' : '?';
    const counted = (await ds.query(`SELECT COUNT(*) AS n FROM ${FORMER_TABLE} WHERE dataset_id = ${placeholder}`, [id])) as {
      n: number | string;
    }[];
    stored = Number(counted[0]?.n);
  }
  if (stored !== rows) throw new Error(`${how}: ${stored} rows stored, ${rows} read`);
  return spent;
}

/** Reads a stored dataset back as the encryption worker does (every row, in order); checks the count and the first row. */
async function readBack(ds: DataSource, id: string, how: 'previous' | 'now', n: number, first: unknown): Promise<[number, number]> {
  const done = span();
  let count = 0;
  let head: unknown;
  for await (const part of how === 'previous' ? previousReadRows(ds, id) : readDatasetRows(ds, id)) {
    head ??= part[0];
    count += part.length;
  }
  const spent = done();
  if (count !== n) throw new Error(`read back (${how}): ${count} rows, ${n} stored`);
  if (JSON.stringify(head) !== JSON.stringify(first)) throw new Error(`read back (${how}): the first row differs`);
  return spent;
}

async function overHttp(provider: DataspaceClient, datasetId: string, chunks: Buffer[]): Promise<[number, number]> {
  const url = new URL(
    `datasets/${encodeURIComponent(datasetId)}/rows`,
    provider.opts.url.endsWith('/') ? provider.opts.url : provider.opts.url + '/',
  );
  const done = span();
  await new Promise<void>((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'text/csv', authorization: `Bearer ${provider.opts.token ?? ''}`, 'transfer-encoding': 'chunked' },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => ((res.statusCode ?? 0) >= 400 ? reject(new Error(`HTTP ${res.statusCode} ${text.slice(0, 300)}`)) : resolve()));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    pipeline(Readable.from(chunks), req).catch(reject);
  });
  return done();
}

async function main(): Promise<void> {
  const n = Number(process.argv[2]);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error('usage: import-child.js ROWS');
  const columns = datasetDocumentFor(ID, ROLE).columns as unknown as Columns;
  const names = Object.keys(columns);
  const chunks: Buffer[] = [];
  // Chunks of 1,000 rows (about 32 KiB), as a client streaming a file would send them.
  for await (const c of csvChunks(names, catalogRows(ID, ROLE, n, 1), 1000)) chunks.push(c);
  const bytes = chunks.reduce((a, c) => a + c.length, 0);

  let done = span();
  const formerRows = await formerValidate(chunks, columns, 2000, () => undefined);
  let [ms, cpuMs] = done();
  emit({
    name: 'parse + validate only, before (csv-parse per record)',
    rows: formerRows,
    ms,
    cpuMs,
    note: `${(bytes / 2 ** 20).toFixed(1)} MiB CSV`,
  });
  done = span();
  const parsed = await validateRowStream(Readable.from(chunks), { format: 'csv', columns, batchSize: 10_000, onBatch: () => undefined });
  [ms, cpuMs] = done();
  emit({ name: 'parse + validate only, now (quote-free fast path, batched)', rows: parsed.rows, ms, cpuMs });

  // DATABASE_URL passed on explicitly: startSystem then gives the run its own schema, dropped at the end.
  const pg = process.env.DATABASE_URL;
  const sys = await startSystem({ env: { HE_THREADS: '0', ...(pg ? { DATABASE_URL: pg } : {}) } });
  try {
    const ds = sys.server.dataSource;
    await createFormerTable(ds);
    const pgStore = ds.options.type === 'postgres';
    [ms, cpuMs] = await direct(ds, columns, chunks, 'former', 'bench-import-former');
    emit({ name: 'parse + validate + store, before (TypeORM INSERT of 500 rows per statement), one transaction', rows: n, ms, cpuMs });
    [ms, cpuMs] = await direct(ds, columns, chunks, 'previous', 'bench-import-previous');
    emit({
      name: `parse + validate + store, previous (a database row per data row: ${pgStore ? 'COPY per 10,000 rows' : 'prepared INSERT of 64 rows'}), one transaction`,
      rows: n,
      ms,
      cpuMs,
    });
    [ms, cpuMs] = await direct(ds, columns, chunks, 'now', 'bench-import-now');
    emit({
      name: `parse + validate + store, now (blocks of ${ROWS_PER_BLOCK.toLocaleString('en-US')} rows: ${pgStore ? 'COPY per 10 blocks' : 'one INSERT per block'}), one transaction`,
      rows: n,
      ms,
      cpuMs,
    });
    // The rows as the bench CSV holds them, parsed: the first one, to check what is read back.
    let first: unknown;
    await validateRowStream(Readable.from(chunks.slice(0, 2)), {
      format: 'csv',
      columns,
      onBatch: (b) => void (first ??= b[0]),
    });
    [ms, cpuMs] = await readBack(ds, 'bench-import-previous', 'previous', n, first);
    emit({ name: 'read back for encryption, previous (pages of 5,000 database rows, JSON.parse per row)', rows: n, ms, cpuMs });
    [ms, cpuMs] = await readBack(ds, 'bench-import-now', 'now', n, first);
    emit({ name: 'read back for encryption, now (pages of 10 blocks, JSON.parse per block)', rows: n, ms, cpuMs });
    const provider = await participant(sys, 'provider', 'importer');
    const dsId = await registerCatalogDataset(provider, ID, ROLE);
    [ms, cpuMs] = await overHttp(provider, dsId, chunks);
    emit({ name: 'whole import over HTTP, now (POST /datasets/:id/rows, streamed CSV)', rows: n, ms, cpuMs });
  } finally {
    await sys.close();
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`import bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
