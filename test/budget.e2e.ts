import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataspaceClient, generateKeyFile, keyRequirements, publishKeyset, readKeyFile, waitForJob } from '#sdk';
import { builtinScenario, compilePlan, datasetDocumentFor, generateRoleRows } from '#scenario';
import { call, startTestServer } from './support/env.js';
import { toCsv } from './support/data.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;

describe('privacy budget: concurrent jobs never overspend', () => {
  let s: Server;
  let dir: string;
  before(async () => {
    s = await startTestServer();
    dir = mkdtempSync(join(tmpdir(), 'ds-budget-'));
  });
  after(async () => {
    await s.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('20 concurrent submissions against a budget for 5: exactly 5 run, 15 are refused with the budget reason', async () => {
    const id = 'smart-meter-differential-privacy';
    const scenario = builtinScenario(id);
    const plan = compilePlan(scenario, {}, {});
    assert.ok(plan.ok);
    const eps = plan.plan.epsilon;
    assert.ok(eps > 0);
    const provider = (await call(s.url, 'POST', '/participants', { token: s.adminToken, body: { role: 'provider', name: 'utility' } })).body
      .token;
    const consumer = (await call(s.url, 'POST', '/participants', { token: s.adminToken, body: { role: 'consumer', name: 'lab' } })).body
      .token;
    const doc = datasetDocumentFor(id, 'utility');
    const reg = await call(s.url, 'POST', '/datasets', {
      token: provider,
      // minGroupSize 1: the policy alone would not withhold counts; the noisy plan does (JobsService)
      body: { ...doc, policy: { ...doc.policy, minGroupSize: 1, epsilonBudget: 5 * eps } },
    });
    assert.equal(reg.status, 201, reg.text);
    const rows = generateRoleRows(id, 'utility', { rows: 200, seed: 3 });
    const imp = await call(s.url, 'POST', `/datasets/${reg.body.id}/rows`, {
      token: provider,
      raw: toCsv(Object.keys(doc.columns), rows),
      headers: { 'content-type': 'text/csv' },
    });
    assert.equal(imp.status, 200, imp.text);
    await generateKeyFile(join(dir, 'k'), keyRequirements(scenario));
    const client = new DataspaceClient({ url: s.url, token: consumer });
    const keyset = await publishKeyset(client, readKeyFile(join(dir, 'k')));
    const body = { scenario: id, bindings: { utility: reg.body.id }, keyset, purpose: 'public-service' };
    const results = await Promise.all(Array.from({ length: 20 }, () => call(s.url, 'POST', '/jobs', { token: consumer, body })));
    const accepted = results.filter((r) => r.status === 202);
    const refused = results.filter((r) => r.status === 403);
    assert.equal(accepted.length, 5, results.map((r) => r.status).join(','));
    assert.equal(refused.length, 15);
    for (const r of refused) {
      assert.equal(r.body.error, 'POLICY_REFUSED');
      assert.ok(
        r.body.details.some((d: { code: string }) => d.code === 'BUDGET_EXHAUSTED'),
        r.text,
      );
    }
    const spent = await s.dataSource.query('SELECT spent FROM budgets');
    assert.ok(Math.abs(Number(spent[0].spent) - 5 * eps) < 1e-9);
    for (const a of accepted) {
      const st = await waitForJob(client, a.body.id, undefined, 250, 240_000);
      assert.equal(st.status, 'completed', JSON.stringify(st.error));
      // a noisy job shows no exact count: its suppression is a noisy selection, an exact count would undo it
      assert.equal(st.progress.counts, 'withheld');
      for (const p of Object.values(st.progress.providers)) for (const k of ['rows', 'missingKeys', 'bytes']) assert.ok(!(k in p), k);
      const meta = st.meta as { rows?: unknown; withheld?: unknown; epsilonSpent?: number; selection?: { epsilon: number; delta: number } };
      assert.equal(meta.rows, undefined);
      assert.deepEqual(meta.withheld, ['rows', 'missingKeys']);
      // the published suppression list is the noisy selection's output, its (ε, δ) stated and charged
      assert.equal(meta.epsilonSpent, eps);
      assert.ok(meta.selection && meta.selection.epsilon > 0 && meta.selection.delta > 0);
    }
  });
});
