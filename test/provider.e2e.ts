import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { JobName, QueueName } from '#contracts';
import { storedRowCount } from '#persistence';
import { datasetDocumentFor } from '#scenario';
import { call, startTestServer } from './support/env.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;

const doc = datasetDocumentFor('water-district-consumption', 'utility');
const HEADER = Object.keys(doc.columns).join(',');

async function waitFor<T>(fn: () => Promise<T | null | undefined>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('provider connector: datasets, imports refused whole, forged tasks refused', () => {
  let s: Server;
  let provider: string;
  let other: string;
  let auditor: string;
  let id: string;
  before(async () => {
    s = await startTestServer();
    provider = (await call(s.url, 'POST', '/participants', { token: s.adminToken, body: { role: 'provider', name: 'utility' } })).body
      .token;
    other = (await call(s.url, 'POST', '/participants', { token: s.adminToken, body: { role: 'provider', name: 'someone else' } })).body
      .token;
    auditor = (await call(s.url, 'POST', '/participants', { token: s.adminToken, body: { role: 'auditor', name: 'audit' } })).body.token;
    const r = await call(s.url, 'POST', '/datasets', { token: provider, body: doc });
    assert.equal(r.status, 201, r.text);
    id = r.body.id;
    const ok = await call(s.url, 'POST', `/datasets/${id}/rows`, {
      token: provider,
      raw: `${HEADER}\nm1,shinan,1.5,0.01\nm2,shibei,2,0\n`,
      headers: { 'content-type': 'text/csv' },
    });
    assert.equal(ok.status, 200, ok.text);
  });
  after(async () => s.cleanup());

  const rowsOf = async (): Promise<number> => (await call(s.url, 'GET', `/datasets/${id}`, { token: provider })).body.rows;

  it('an invalid dataset document is refused with paths, nothing stored', async () => {
    const before = (await call(s.url, 'GET', '/datasets', { token: provider })).body.length;
    const r = await call(s.url, 'POST', '/datasets', {
      token: provider,
      body: { ...doc, columns: { m3: { type: 'number', min: 5, max: 1 } } },
    });
    assert.equal(r.status, 400);
    assert.ok(
      r.body.details.some((d: { path: string }) => d.path.startsWith('$.columns.m3')),
      r.text,
    );
    assert.equal((await call(s.url, 'GET', '/datasets', { token: provider })).body.length, before);
  });

  it('another provider cannot see or import into the dataset', async () => {
    assert.equal((await call(s.url, 'GET', `/datasets/${id}`, { token: other })).status, 404);
    assert.equal(
      (await call(s.url, 'POST', `/datasets/${id}/rows`, { token: other, raw: `${HEADER}\n`, headers: { 'content-type': 'text/csv' } }))
        .status,
      404,
    );
  });

  const refused: [string, string, number, string | null][] = [
    ['wrong header', 'meter_id,district,m3\nm9,shinan,1\n', 1, null],
    ['unknown category', `${HEADER}\nm9,atlantis,1,0\n`, 2, 'district'],
    ['out-of-range number', `${HEADER}\nm9,shinan,51,0\n`, 2, 'm3'],
    ['non-number', `${HEADER}\nm9,shinan,abc,0\n`, 2, 'm3'],
    ['extra field', `${HEADER}\nm9,shinan,1,0,7\n`, 2, null],
    [
      'a bad row late in a large file',
      `${HEADER}\n${Array.from({ length: 20000 }, (_, i) => `x${i},laoshan,1,0.01`).join('\n')}\nbad,laoshan,-1,0\n`,
      20002,
      'm3',
    ],
  ];
  for (const [name, csv, line, column] of refused) {
    it(`refused whole: ${name} (line ${line}${column ? `, column ${column}` : ''}); row count unchanged`, async () => {
      const before = await rowsOf();
      const r = await call(s.url, 'POST', `/datasets/${id}/rows`, { token: provider, raw: csv, headers: { 'content-type': 'text/csv' } });
      assert.equal(r.status, 422, r.text);
      assert.equal(r.body.error, 'UNPROCESSABLE');
      assert.equal(r.body.details[0].line, line, r.text);
      if (column) assert.equal(r.body.details[0].column, column, r.text);
      assert.equal(await rowsOf(), before);
      assert.equal(await storedRowCount(s.dataSource, id), before);
    });
  }

  it('an empty file is refused; BOM, CRLF and quoted commas are accepted', async () => {
    const empty = await call(s.url, 'POST', `/datasets/${id}/rows`, { token: provider, raw: '', headers: { 'content-type': 'text/csv' } });
    assert.equal(empty.status, 422, empty.text);
    const before = await rowsOf();
    const ok = await call(s.url, 'POST', `/datasets/${id}/rows`, {
      token: provider,
      raw: `\uFEFF${HEADER}\r\n"m,10",shinan,1,0\r\nm11,shibei,2,0.2\r\n`,
      headers: { 'content-type': 'text/csv' },
    });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(await rowsOf(), before + 2);
  });

  it('replace mode swaps the rows', async () => {
    const r = await call(s.url, 'POST', `/datasets/${id}/rows?mode=replace`, {
      token: provider,
      raw: `${HEADER}\nm1,shinan,1.5,0.01\n`,
      headers: { 'content-type': 'text/csv' },
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(await rowsOf(), 1);
  });

  it('JSON rows are imported; a JSON row with an extra field is refused', async () => {
    const before = await rowsOf();
    const good = await call(s.url, 'POST', `/datasets/${id}/rows`, {
      token: provider,
      raw: JSON.stringify([{ meter_id: 'j1', district: 'jimo', m3: 3, night_flow: 0 }]),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(good.status, 200, good.text);
    const bad = await call(s.url, 'POST', `/datasets/${id}/rows`, {
      token: provider,
      raw: JSON.stringify([{ meter_id: 'j2', district: 'jimo', m3: 3, night_flow: 0, name: 'x' }]),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(bad.status, 422, bad.text);
    assert.equal(await rowsOf(), before + 1);
  });

  it('a forged encryption task (no such job) is refused by the connector and the refusal is in the ledger', async () => {
    const forged = { jobId: 'forged-job-1', role: 'utility', datasetId: id, consumerId: 'someone', purpose: 'marketing' };
    const queue = QueueName.encrypt(s.config.CONNECTOR_ID);
    const taskId = await s.queues.add(queue, JobName.encryptInputs, forged, { jobId: 'forged-1', attempts: 3 });
    assert.equal(taskId, 'forged-1');
    const failed = await waitFor(async () => {
      const j = await s.queues.job(queue, taskId);
      return j?.state === 'failed' ? j : null;
    });
    assert.equal(failed.attemptsMade, 1, 'a refusal is not retried');
    const entry = await waitFor(async () => {
      const e = await call(s.url, 'GET', '/ledger/entries?type=inputs.refused', { token: auditor });
      return e.body.entries.find((x: { event: { job: string } }) => x.event.job === 'forged-job-1');
    });
    assert.deepEqual(entry.event.data.reasons, ['UNKNOWN_JOB']);
    const cts = await s.dataSource.query(`SELECT COUNT(*) AS n FROM job_ciphertexts WHERE job_id = 'forged-job-1'`);
    assert.equal(Number(cts[0].n), 0);
  });
});
