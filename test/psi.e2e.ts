import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataspaceClient, fetchResult, generateKeyFile, keyRequirements, readKeyFile, submitJob, waitForJob } from '#sdk';
import {
  type Plan,
  type Row,
  builtinScenario,
  compareResult,
  datasetDocumentFor,
  evaluateReference,
  generateRoleRows,
  noisyCompareOptions,
  withInternalMetrics,
} from '#scenario';
import { call, startTestServer } from './support/env.js';
import { toCsv } from './support/data.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;

describe('align by private set intersection through the broker', () => {
  let s: Server;
  let dir: string;
  before(async () => {
    s = await startTestServer();
    dir = mkdtempSync(join(tmpdir(), 'ds-psi-'));
  });
  after(async () => {
    await s.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('chronic-elderly-care-demand: equals the reference, and nothing the broker holds contains a raw id', async () => {
    const id = 'chronic-elderly-care-demand';
    const scenario = builtinScenario(id);
    const consumer = (await call(s.url, 'POST', '/participants', { token: s.adminToken, body: { role: 'consumer', name: 'care bureau' } }))
      .body.token;
    const rows: Record<string, Row[]> = {};
    const bindings: Record<string, string> = {};
    for (const role of Object.keys(scenario.inputs)) {
      const provider = (await call(s.url, 'POST', '/participants', { token: s.adminToken, body: { role: 'provider', name: role } })).body
        .token;
      const doc = datasetDocumentFor(id, role);
      const reg = await call(s.url, 'POST', '/datasets', { token: provider, body: doc });
      assert.equal(reg.status, 201, reg.text);
      rows[role] = generateRoleRows(id, role, { rows: 400, seed: 9 });
      const imp = await call(s.url, 'POST', `/datasets/${reg.body.id}/rows`, {
        token: provider,
        raw: toCsv(Object.keys(doc.columns), rows[role]!),
        headers: { 'content-type': 'text/csv' },
      });
      assert.equal(imp.status, 200, imp.text);
      bindings[role] = reg.body.id;
    }
    await generateKeyFile(join(dir, 'k'), keyRequirements(scenario));
    const keys = readKeyFile(join(dir, 'k'));
    const client = new DataspaceClient({ url: s.url, token: consumer });
    const sub = await submitJob(client, keys, scenario, { scenario: id, bindings, purpose: 'public-service' });
    // The broker deletes the blinded sets once it has intersected them: capture every message while it runs.
    const seen = new Map<string, Buffer>();
    let done = false;
    const poll = (async () => {
      while (!done) {
        const msgs: { feature: string; blob: Buffer }[] = await s.dataSource.query(
          `SELECT feature, blob FROM job_ciphertexts WHERE kind = 'psi'`,
        );
        for (const m of msgs) seen.set(m.feature, Buffer.from(m.blob));
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const st = await waitForJob(client, String(sub.id), undefined, 200, 240_000).finally(() => {
      done = true;
    });
    await poll;
    assert.equal(st.status, 'completed', JSON.stringify(st.error));
    const result = await fetchResult(client, String(sub.id), keys);
    // the scenario is noisy (aligned roles with minGroupSize 5: ALIGNED_NOISE_REQUIRED): values within the plan's
    // Laplace bounds, a group nulled by its noisy joint count may differ from the reference's exact cut
    const got = await call(s.url, 'GET', `/jobs/${sub.id}/result`, { token: consumer });
    assert.equal(got.status, 200, got.text);
    const plan = got.body.plan as Plan;
    // (and the broker's noisy small-group selection may cut a group near its threshold that the exact rule keeps)
    const ref = evaluateReference(withInternalMetrics(scenario), {}, rows, { groupRows: true });
    const cmp = compareResult(scenario, result.metrics, ref.metrics, noisyCompareOptions(plan, ref.meta.groupRows));
    assert.ok(cmp.ok, JSON.stringify(cmp.problems.slice(0, 3)));

    // Everything stored outside the connector's own tables (the broker's and the ledger's) and every PSI message:
    // no raw resident id anywhere.
    const ids = new Set(Object.values(rows).flatMap((rs) => rs.map((r) => String(r.resident_id))));
    const tables = ['jobs', 'job_datasets', 'job_ciphertexts', 'offers', 'keysets', 'ledger_entries', 'scenarios'];
    for (const t of tables) {
      const all: Record<string, unknown>[] = await s.dataSource.query(`SELECT * FROM ${t}`);
      for (const row of all) {
        for (const v of Object.values(row)) {
          const text = Buffer.isBuffer(v) ? v.toString('latin1') : typeof v === 'string' ? v : JSON.stringify(v);
          for (const rid of ids) if (rid.length >= 4 && text?.includes(rid)) assert.fail(`raw id found in ${t}`);
        }
      }
    }
    assert.ok(seen.size > 0, 'the PSI messages went through the broker');
    assert.equal(
      Number((await s.dataSource.query(`SELECT COUNT(*) AS n FROM job_ciphertexts WHERE kind = 'psi'`))[0].n),
      0,
      'nothing of the intersection is kept after the job',
    );
    for (const [key, blob] of seen) {
      const text = blob.toString('latin1');
      for (const rid of ids) if (rid.length >= 4 && text.includes(rid)) assert.fail(`raw id found in PSI message ${key}`);
    }
  });
});
