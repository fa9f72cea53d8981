import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataspaceClient, fetchResult, generateKeyFile, keyRequirements, readKeyFile, submitJob, waitForJob } from '#sdk';
import { builtinScenario, compareResult, datasetDocumentFor, evaluateReference, generateRoleRows } from '#scenario';
import { call, startTestServer, testConfig } from './support/env.js';
import { toCsv } from './support/data.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;

describe('large inputs: partial sums fanned out to reduce jobs any worker can take', () => {
  let s: Server;
  let dir: string;
  before(async () => {
    s = await startTestServer({ config: testConfig({ REDUCE_SLICE: '2' }) });
    dir = mkdtempSync(join(tmpdir(), 'ds-fanout-'));
  });
  after(async () => {
    await s.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('water-district-consumption over many ciphertexts per feature equals the reference', async () => {
    const id = 'water-district-consumption';
    const scenario = builtinScenario(id);
    const provider = (await call(s.url, 'POST', '/participants', { token: s.adminToken, body: { role: 'provider', name: 'u' } })).body
      .token;
    const consumer = (await call(s.url, 'POST', '/participants', { token: s.adminToken, body: { role: 'consumer', name: 'c' } })).body
      .token;
    const doc = datasetDocumentFor(id, 'utility');
    const ds = (await call(s.url, 'POST', '/datasets', { token: provider, body: doc })).body.id;
    const rows = generateRoleRows(id, 'utility', { rows: 12_000, seed: 21 });
    const imp = await call(s.url, 'POST', `/datasets/${ds}/rows`, {
      token: provider,
      raw: toCsv(Object.keys(doc.columns), rows),
      headers: { 'content-type': 'text/csv' },
    });
    assert.equal(imp.status, 200, imp.text);
    await generateKeyFile(join(dir, 'k'), keyRequirements(scenario));
    const keys = readKeyFile(join(dir, 'k'));
    const client = new DataspaceClient({ url: s.url, token: consumer });
    const sub = await submitJob(client, keys, scenario, { scenario: id, bindings: { utility: ds }, purpose: 'public-service' });
    let slices = 0;
    const st = await waitForJob(
      client,
      String(sub.id),
      (j) => {
        const ev = (j.progress as { evaluation?: { slices?: number } }).evaluation;
        if (ev?.slices) slices = ev.slices;
      },
      100,
      240_000,
    );
    assert.equal(st.status, 'completed', JSON.stringify(st.error));
    const reduceJobs = await s.queues.queue('evaluate').getJobCounts('completed');
    assert.ok(slices > 2 || reduceJobs.completed > 2, `fanned out (${slices} slices)`);
    const result = await fetchResult(client, String(sub.id), keys);
    const cmp = compareResult(scenario, result.metrics, evaluateReference(scenario, {}, { utility: rows }).metrics);
    assert.ok(cmp.ok, JSON.stringify(cmp.problems.slice(0, 3)));
    const left = await s.dataSource.query(`SELECT COUNT(*) AS n FROM job_ciphertexts WHERE role = '$partial'`);
    assert.equal(Number(left[0].n), 0, 'partial sums are cleared');
  });
});
