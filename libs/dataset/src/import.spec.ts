import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { validateRowStream } from './import.js';
import type { RowFormat, RowImportReport } from './import.js';
import type { Columns, DatasetRow } from './columns.js';

const columns: Columns = {
  meter_id: { type: 'id' },
  district: { type: 'category', values: ['shinan', 'shibei', 'li cang'] },
  m3: { type: 'number', min: 0, max: 50 },
  residents: { type: 'integer', min: 1, max: 12 },
};

/** Splits the file into small chunks so every boundary (mid-field, mid-CRLF, mid-UTF-8 character) is exercised. */
function chunked(text: string | Buffer, size = 7): Readable {
  const buf = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) parts.push(buf.subarray(i, i + size));
  return Readable.from(parts);
}

async function run(text: string | Buffer, format: RowFormat = 'csv', size = 7): Promise<RowImportReport & { staged: DatasetRow[] }> {
  const staged: DatasetRow[] = [];
  const report = await validateRowStream(chunked(text, size), {
    format,
    columns,
    batchSize: 2,
    onBatch: (rows) => {
      staged.push(...rows);
    },
  });
  return { ...report, staged };
}

function codes(r: RowImportReport): [number, string | null, string][] {
  return r.problems.map((p) => [p.line, p.column, p.code]);
}

const HEADER = 'meter_id,district,m3,residents';

describe('validateRowStream: CSV', () => {
  it('accepts a valid file and hands every row on, typed', async () => {
    const r = await run(`${HEADER}\nA1,shinan,12.5,3\nA2,shibei,0,1\nA3,shinan,50,12\n`);
    assert.equal(r.ok, true);
    assert.equal(r.rows, 3);
    assert.deepEqual(r.staged, [
      { meter_id: 'A1', district: 'shinan', m3: 12.5, residents: 3 },
      { meter_id: 'A2', district: 'shibei', m3: 0, residents: 1 },
      { meter_id: 'A3', district: 'shinan', m3: 50, residents: 12 },
    ]);
  });

  it('accepts the header in any order', async () => {
    const r = await run('m3,residents,district,meter_id\n1e1,2,shibei,X\n');
    assert.equal(r.ok, true);
    assert.deepEqual(r.staged, [{ meter_id: 'X', district: 'shibei', m3: 10, residents: 2 }]);
  });

  it('refuses a wrong header: missing, extra and duplicate columns', async () => {
    const r = await run('meter_id,district,m3,m3,colour\nA1,shinan,1,1,red\n');
    assert.equal(r.ok, false);
    assert.deepEqual(codes(r), [
      [1, 'm3', 'DUPLICATE_COLUMN'],
      [1, 'colour', 'EXTRA_COLUMN'],
      [1, 'residents', 'MISSING_COLUMN'],
    ]);
    assert.equal(r.staged.length, 0);
  });

  it('releases the input when it stops early on a bad header', async () => {
    const input = Readable.from(
      (function* () {
        yield 'a,b\n';
        for (let i = 0; i < 1000; i++) yield '1,2\n';
      })(),
    );
    const r = await validateRowStream(input, { format: 'csv', columns });
    assert.equal(r.ok, false);
    assert.equal(input.destroyed, true);
  });

  it('refuses an unknown category with line and column', async () => {
    const r = await run(`${HEADER}\nA1,shinan,1,1\nA2,laoshan,1,1\n`);
    assert.deepEqual(codes(r), [[3, 'district', 'UNKNOWN_CATEGORY']]);
    assert.equal(r.ok, false);
  });

  it('refuses out-of-range numbers (not clamped) and non-integers', async () => {
    const r = await run(`${HEADER}\nA1,shinan,50.0001,1\nA2,shinan,-0.5,1\nA3,shinan,3,13\nA4,shinan,3,2.5\n`);
    assert.deepEqual(codes(r), [
      [2, 'm3', 'OUT_OF_RANGE'],
      [3, 'm3', 'OUT_OF_RANGE'],
      [4, 'residents', 'OUT_OF_RANGE'],
      [5, 'residents', 'NOT_AN_INTEGER'],
    ]);
  });

  it('refuses non-numbers: text, empty, hex, Infinity, NaN', async () => {
    const r = await run(
      `${HEADER}\nA1,shinan,abc,1\nA2,shinan,,1\nA3,shinan,0x10,1\nA4,shinan,Infinity,1\nA5,shinan,NaN,1\nA6,shinan,1e999,1\n`,
    );
    assert.deepEqual(codes(r), [
      [2, 'm3', 'NOT_A_NUMBER'],
      [3, 'm3', 'MISSING_VALUE'],
      [4, 'm3', 'NOT_A_NUMBER'],
      [5, 'm3', 'NOT_A_NUMBER'],
      [6, 'm3', 'NOT_A_NUMBER'],
      [7, 'm3', 'NOT_A_NUMBER'],
    ]);
  });

  it('refuses rows with too many or too few fields', async () => {
    const r = await run(`${HEADER}\nA1,shinan,1,1,extra\nA2,shinan,1\n`);
    assert.deepEqual(codes(r), [
      [2, null, 'WRONG_FIELD_COUNT'],
      [3, null, 'WRONG_FIELD_COUNT'],
    ]);
  });

  it('refuses an empty id', async () => {
    const r = await run(`${HEADER}\n  ,shinan,1,1\n`);
    assert.deepEqual(codes(r), [[2, 'meter_id', 'MISSING_VALUE']]);
  });

  it('refuses a totally empty file', async () => {
    for (const text of ['', '\ufeff', '  \n\r\n']) {
      const r = await run(text);
      assert.equal(r.ok, false);
      assert.deepEqual(codes(r), [[1, null, 'EMPTY_FILE']]);
    }
  });

  it('accepts a header-only file as zero rows', async () => {
    const r = await run(`${HEADER}\r\n`);
    assert.equal(r.ok, true);
    assert.equal(r.rows, 0);
  });

  it('drops a UTF-8 BOM before the header', async () => {
    const r = await run(`\ufeff${HEADER}\nA1,shinan,1,1\n`, 'csv', 1);
    assert.equal(r.ok, true);
    assert.equal(r.rows, 1);
  });

  it('handles CRLF line endings and counts lines across them', async () => {
    const r = await run(`${HEADER}\r\nA1,shinan,1,1\r\nA2,shinan,1,99\r\nA3,shinan,1,1\r\n`, 'csv', 3);
    assert.deepEqual(codes(r), [[3, 'residents', 'OUT_OF_RANGE']]);
  });

  it("handles quoted fields with commas, quotes and line breaks; lines stay the file's lines", async () => {
    const text = `${HEADER}\r\n"A,1","li cang",1,1\r\n"multi\r\nline ""id""",shinan,2,2\r\n\r\nA3,shinan,bad,1\r\n`;
    const r = await run(text);
    assert.deepEqual(codes(r), [[6, 'm3', 'NOT_A_NUMBER']]);
    assert.equal(r.rows, 2);
    const ok = await run(text.replace('bad', '3'));
    assert.deepEqual(
      ok.staged.map((x) => x.meter_id),
      ['A,1', 'multi\r\nline "id"', 'A3'],
    );
    assert.equal(ok.staged[0]?.district, 'li cang');
  });

  it('switches from the quote-free fast path to the RFC 4180 parser at the first quote, lines and rows unchanged', async () => {
    // 300 plain lines (fast path), blank lines, a quoted multi-line field after them, then plain lines again; CRLF and LF mixed.
    const plain = Array.from({ length: 300 }, (_, i) => `P${i},shinan,${i % 50},1`);
    const text = `${HEADER}\r\n${plain.join('\n')}\n\r\n\n"Q,1","multi\nline",1,1\nA1,shibei,2,2\r\nA2,shinan,bad,3`;
    for (const size of [1, 5, 64, 4096]) {
      const r = await run(text, 'csv', size);
      // header line 1, 300 rows on lines 2..301, blank 302 and 303, the quoted record 304-305, A1 306, A2 307.
      assert.deepEqual(
        codes(r),
        [
          [304, 'district', 'UNKNOWN_CATEGORY'],
          [307, 'm3', 'NOT_A_NUMBER'],
        ],
        `chunk size ${size}`,
      );
      assert.equal(r.rows, 301);
      const ok = await run(text.replace('"multi\nline"', 'shinan').replace('bad', '4'), 'csv', size);
      assert.equal(ok.ok, true);
      assert.deepEqual(ok.staged.at(-3), { meter_id: 'Q,1', district: 'shinan', m3: 1, residents: 1 });
      assert.deepEqual(ok.staged.at(-1), { meter_id: 'A2', district: 'shinan', m3: 4, residents: 3 });
      assert.equal(ok.staged.length, 303);
      assert.deepEqual(ok.staged[299], { meter_id: 'P299', district: 'shinan', m3: 49, residents: 1 });
    }
  });

  it('reads a quote-free file without a final line break, and a final CR', async () => {
    assert.deepEqual((await run(`${HEADER}\nA1,shinan,1,1`)).staged, [{ meter_id: 'A1', district: 'shinan', m3: 1, residents: 1 }]);
    assert.deepEqual((await run(`${HEADER}\r\nA1,shinan,1,1\r`)).staged, [{ meter_id: 'A1', district: 'shinan', m3: 1, residents: 1 }]);
    assert.deepEqual(codes(await run(`${HEADER}\nA1,shinan,1\n\nA2,shinan,1,1,1`)), [
      [2, null, 'WRONG_FIELD_COUNT'],
      [4, null, 'WRONG_FIELD_COUNT'],
    ]);
  });

  it('reports a malformed CSV (unclosed quote) at the line where the record starts', async () => {
    const r = await run(`${HEADER}\nA1,shinan,1,1\n"A2,shinan,1,1\nA3,shinan,1,1\n`);
    assert.deepEqual(codes(r), [[3, null, 'MALFORMED_CSV']]);
  });

  it('keeps multi-byte UTF-8 characters split across chunks intact', async () => {
    const cols: Columns = { name: { type: 'category', values: ['青岛市南区', 'Zürich'] } };
    for (const size of [1, 2, 3, 5]) {
      const staged: DatasetRow[] = [];
      const r = await validateRowStream(chunked('name\n青岛市南区\nZürich\n', size), {
        format: 'csv',
        columns: cols,
        onBatch: (b) => {
          staged.push(...b);
        },
      });
      assert.equal(r.ok, true, `chunk size ${size}`);
      assert.deepEqual(staged, [{ name: '青岛市南区' }, { name: 'Zürich' }]);
    }
  });

  it('never quotes a cell value in a message', async () => {
    const secret = 'S3CRET-VALUE-42';
    const r = await run(`${HEADER}\n${secret},${secret},${secret},${secret}\n"${secret}\n`);
    assert.ok(r.problemCount >= 3);
    for (const p of r.problems) assert.ok(!p.message.includes(secret), p.message);
  });

  it('stops handing batches on after the first problem', async () => {
    const good = Array.from({ length: 10 }, (_, i) => `G${i},shinan,1,1`).join('\n');
    const r = await run(`${HEADER}\n${good}\nB,shinan,x,1\n${good}\n`);
    assert.equal(r.ok, false);
    assert.equal(r.rows, 20);
    assert.ok(r.staged.length <= 10, `staged ${r.staged.length}`);
  });

  it('keeps the first 100 problems and counts the rest', async () => {
    const bad = Array.from({ length: 250 }, (_, i) => `B${i},nowhere,1,1`).join('\n');
    const r = await validateRowStream(Readable.from([`${HEADER}\n${bad}\n`]), { format: 'csv', columns });
    assert.equal(r.problemCount, 250);
    assert.equal(r.problems.length, 100);
    assert.equal(r.problems[99]?.line, 101);
  });

  it('finds a bad row late in a large file (line 200,001)', async () => {
    const N = 200_000;
    async function* gen(): AsyncGenerator<string> {
      yield `${HEADER}\n`;
      let chunk = '';
      for (let i = 0; i < N; i++) {
        chunk += i === N - 1 ? `M${i},shinan,50.5,3\n` : `M${i},${i % 2 ? 'shinan' : 'shibei'},${(i % 500) / 10},${1 + (i % 12)}\n`;
        if (chunk.length > 60_000) {
          yield chunk;
          chunk = '';
        }
      }
      yield chunk;
    }
    let batches = 0;
    const r = await validateRowStream(gen(), {
      format: 'csv',
      columns,
      onBatch: () => {
        batches++;
      },
    });
    assert.equal(r.ok, false);
    assert.deepEqual(codes(r), [[N + 1, 'm3', 'OUT_OF_RANGE']]);
    assert.equal(r.rows, N - 1);
    assert.equal(batches, Math.floor((N - 1) / 1000));
  });
});

describe('validateRowStream: JSON and NDJSON', () => {
  const rowsJson =
    '[\n  {"meter_id": "A1", "district": "shinan", "m3": 1.5, "residents": 2},\n  {"meter_id": 7, "district": "shibei", "m3": 0, "residents": 1}\n]\n';

  it('accepts a JSON array (numeric ids become strings)', async () => {
    const r = await run(rowsJson, 'json');
    assert.equal(r.ok, true);
    assert.deepEqual(r.staged, [
      { meter_id: 'A1', district: 'shinan', m3: 1.5, residents: 2 },
      { meter_id: '7', district: 'shibei', m3: 0, residents: 1 },
    ]);
  });

  it('accepts NDJSON, also when given as "json"', async () => {
    const nd =
      '{"meter_id": "A1", "district": "shinan", "m3": 1, "residents": 2}\r\n\r\n{"meter_id": "A2", "district": "shibei", "m3": 2, "residents": 3}';
    for (const f of ['ndjson', 'json'] as const) {
      const r = await run(`\ufeff${nd}`, f);
      assert.equal(r.ok, true, f);
      assert.equal(r.rows, 2);
    }
  });

  it('refuses extra and missing fields, wrong types, per line', async () => {
    const text =
      '[\n{"meter_id": "A1", "district": "shinan", "m3": 1, "residents": 2, "owner": "x"},\n' +
      '{"meter_id": "A2", "district": "shinan", "residents": 2},\n' +
      '{"meter_id": "A3", "district": "shinan", "m3": "12", "residents": 2},\n' +
      '{"meter_id": "A4", "district": 3, "m3": 99, "residents": null},\n' +
      '[1, 2],\n' +
      '{"meter_id": "A6", "district": "shinan", "m3": 1, "residents": 2}]';
    const r = await run(text, 'json');
    assert.deepEqual(codes(r), [
      [2, 'owner', 'EXTRA_FIELD'],
      [3, 'm3', 'MISSING_FIELD'],
      [4, 'm3', 'NOT_A_NUMBER'],
      [5, 'district', 'NOT_A_STRING'],
      [5, 'm3', 'OUT_OF_RANGE'],
      [5, 'residents', 'MISSING_VALUE'],
      [6, null, 'NOT_AN_OBJECT'],
    ]);
    assert.equal(r.rows, 1);
  });

  it('handles strings with brackets, braces, commas and escaped quotes', async () => {
    const cols: Columns = { k: { type: 'id' } };
    const staged: DatasetRow[] = [];
    const text = '[{"k": "a]b}c,d"}, {"k": "q\\"]\\\\"}, {"k": "\\u005d"}]';
    const r = await validateRowStream(chunked(text, 3), {
      format: 'json',
      columns: cols,
      onBatch: (b) => {
        staged.push(...b);
      },
    });
    assert.equal(r.ok, true, JSON.stringify(r.problems));
    assert.deepEqual(staged, [{ k: 'a]b}c,d' }, { k: 'q"]\\' }, { k: ']' }]);
  });

  it('accepts [] as zero rows and refuses an empty file', async () => {
    assert.equal((await run(' [ ] ', 'json')).ok, true);
    assert.deepEqual(codes(await run('', 'json')), [[1, null, 'EMPTY_FILE']]);
    assert.deepEqual(codes(await run('\n \n', 'ndjson')), [[1, null, 'EMPTY_FILE']]);
  });

  it('refuses structurally broken JSON', async () => {
    assert.deepEqual(codes(await run('[{"meter_id": "A1"}\n{"x": 1}]', 'json')), [
      [1, 'district', 'MISSING_FIELD'],
      [1, 'm3', 'MISSING_FIELD'],
      [1, 'residents', 'MISSING_FIELD'],
      [2, null, 'MALFORMED_JSON'],
    ]);
    assert.deepEqual(codes(await run('[\n{"meter_id": "A1", "district": "shinan", "m3": 1, "residents": 2},\n', 'json')), [
      [3, null, 'MALFORMED_JSON'],
    ]);
    assert.deepEqual(codes(await run('"just a string"', 'json')), [[1, null, 'NOT_AN_ARRAY']]);
    assert.deepEqual(codes(await run('[{"meter_id": }]', 'json')), [[1, null, 'MALFORMED_JSON']]);
    assert.deepEqual(codes(await run('{"meter_id": "A1", "district": "shinan", "m3": 1, "residents": 2}\n{oops\n', 'ndjson')), [
      [2, null, 'MALFORMED_JSON'],
    ]);
  });
});

describe('validateRowStream: argument checks', () => {
  it('refuses an unknown format and an empty column map', async () => {
    await assert.rejects(
      validateRowStream(Readable.from(['']), { format: 'xml' as RowFormat, columns }),
      /format must be "csv", "json" or "ndjson"/,
    );
    await assert.rejects(validateRowStream(Readable.from(['']), { format: 'csv', columns: {} }), /columns must be a non-empty column map/);
    await assert.rejects(
      validateRowStream(Readable.from(['']), { format: 'csv', columns, batchSize: 0 }),
      /batchSize must be a positive integer/,
    );
  });
  it('propagates a failing onBatch (the caller rolls back)', async () => {
    await assert.rejects(
      validateRowStream(Readable.from([`${HEADER}\nA1,shinan,1,1\n`]), {
        format: 'csv',
        columns,
        onBatch: () => {
          throw new Error('db down');
        },
      }),
      /db down/,
    );
  });
});
