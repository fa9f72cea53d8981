import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DataSource } from 'typeorm';
import { datasetRowWriter, inTransaction, nextDatasetSeq, readDatasetRows, ROWS_PER_BLOCK, storedRowCount } from '#persistence';
import { migrationTestDatabase, revertThrough } from './support/migrations.js';

/**
 * Dataset rows are stored in blocks (migration 1797200000000): rows stored one per database row before it are
 * carried over in order and unchanged, `down` splits them back, and the block writer and reader keep import order
 * across appends. Runs on SQLite, and on PostgreSQL when DATABASE_URL is one.
 */
describe('dataset rows in blocks: migration of stored rows, writer and reader', () => {
  const t = migrationTestDatabase('blocks');
  const { p } = t;
  let ds: DataSource;
  before(() => {
    ds = t.db();
  });

  // Row texts as the former store held them: key order, number spelling and escapes must survive the move.
  const rowText = (i: number): string => `{"id":"m${i}","note":"a \\"quoted\\" back\\\\slash\\ttab é","v":${i / 4},"n":1e-7}`;

  it('rows stored one per database row are moved into blocks in order, and split back by down', async () => {
    await revertThrough(ds, 'DatasetRowBlocks1797200000000');
    const insert = `INSERT INTO dataset_rows (dataset_id, seq, data) VALUES (${p(1)}, ${p(2)}, ${p(3)})`;
    await inTransaction(ds, async (m) => {
      for (let i = 0; i < 2500; i++) await m.query(insert, ['ds-a', i, rowText(i)]);
      for (const seq of [0, 5, 7]) await m.query(insert, ['ds-b', seq, rowText(100 + seq)]);
    });
    await ds.runMigrations({ transaction: 'each' });

    const a: unknown[] = [];
    const sizes: number[] = [];
    for await (const part of readDatasetRows(ds, 'ds-a', 2)) {
      sizes.push(part.length);
      a.push(...part);
    }
    assert.deepEqual(sizes, [1000, 1000, 500]);
    assert.deepEqual(
      a,
      Array.from({ length: 2500 }, (_, i) => JSON.parse(rowText(i)) as unknown),
    );
    const b: unknown[] = [];
    for await (const part of readDatasetRows(ds, 'ds-b')) b.push(...part);
    assert.deepEqual(
      b,
      [0, 5, 7].map((s) => JSON.parse(rowText(100 + s)) as unknown),
    );
    assert.equal(await storedRowCount(ds, 'ds-a'), 2500);
    assert.equal(await nextDatasetSeq(ds.manager, 'ds-a'), 2500);
    assert.equal(await nextDatasetSeq(ds.manager, 'ds-b'), 3);

    await revertThrough(ds, 'DatasetRowBlocks1797200000000');
    const back = (await ds.query(`SELECT seq, data FROM dataset_rows WHERE dataset_id = ${p(1)} ORDER BY seq`, ['ds-a'])) as {
      seq: number | string;
      data: string;
    }[];
    assert.equal(back.length, 2500);
    back.forEach((r, i) => {
      assert.equal(Number(r.seq), i);
      assert.equal(r.data, rowText(i), `row ${i} text unchanged`);
    });
    await ds.runMigrations({ transaction: 'each' });
    assert.equal(await storedRowCount(ds, 'ds-a'), 2500);
  });

  it('the block writer appends after what is stored; the reader returns every row in order; a rollback leaves nothing', async () => {
    const rows = (from: number, n: number): Record<string, unknown>[] =>
      Array.from({ length: n }, (_, i) => ({ k: from + i, s: `r${from + i}` }));
    await inTransaction(ds, async (m) => {
      const w = await datasetRowWriter(m, 'ds-c', await nextDatasetSeq(m, 'ds-c'));
      await w.write(rows(0, ROWS_PER_BLOCK + 1));
      await w.write(rows(ROWS_PER_BLOCK + 1, 3));
      assert.equal(w.nextSeq, ROWS_PER_BLOCK + 4);
    });
    await inTransaction(ds, async (m) => {
      const start = await nextDatasetSeq(m, 'ds-c');
      assert.equal(start, ROWS_PER_BLOCK + 4);
      await (await datasetRowWriter(m, 'ds-c', start)).write(rows(start, 10));
    });
    await assert.rejects(
      inTransaction(ds, async (m) => {
        await (await datasetRowWriter(m, 'ds-c', await nextDatasetSeq(m, 'ds-c'))).write(rows(0, 5));
        throw new Error('refused');
      }),
      /refused/,
    );
    const got: unknown[] = [];
    for await (const part of readDatasetRows(ds, 'ds-c', 1)) got.push(...part);
    assert.deepEqual(got, rows(0, ROWS_PER_BLOCK + 14));
    assert.equal(await storedRowCount(ds, 'ds-c'), ROWS_PER_BLOCK + 14);
  });

  it('wide rows get fewer rows per block, so a block stays a few MiB', async () => {
    const wide = Array.from({ length: 100 }, (_, i) => ({ i, text: String(i % 10).repeat(100_000) }));
    await inTransaction(ds, async (m) => (await datasetRowWriter(m, 'ds-wide', 0)).write(wide));
    const sizes: number[] = [];
    const got: unknown[] = [];
    for await (const part of readDatasetRows(ds, 'ds-wide')) {
      sizes.push(part.length);
      got.push(...part);
    }
    // 4 MiB / about 100 kB a row: 41 rows a block
    assert.deepEqual(sizes, [41, 41, 18]);
    assert.deepEqual(got, wide);
  });
});
