/**
 * Issue 19, "done when" 2: scenarios written only from docs/scenario-format.md run. Every valid scenario
 * example of the document (together one per `agg`, cross-role where/by, both kinds of align, private
 * parameters, internal metrics, row-level release, suppression and noise) is registered by a consumer,
 * each role bound to a dataset a provider registers with a policy allowing exactly what the scenario
 * needs, synthetic rows drawn from the column specs, the job run on the embedded server, and the
 * decrypted result compared with the plaintext reference within the accuracy table.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataspaceClient, fetchResult, generateKeyFile, keyRequirements, readKeyFile, submitJob, waitForJob } from '#sdk';
import {
  type CompareOptions,
  type ParamValues,
  type Row,
  type Scenario,
  aggregationsByRole,
  compareResult,
  compilePlan,
  evaluateReference,
  noisyCompareOptions,
  validateScenario,
  withInternalMetrics,
} from '#scenario';
import { call, startTestServer } from './support/env.js';
import { prng } from '../libs/scenario/src/compiler/testkit.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;
const ROOT = new URL('../../', import.meta.url);
const ROWS = 300;
const PURPOSE = 'docs-example';

/** The valid scenario examples of the doc (no error marker, not the result document). */
function docScenarios(): Scenario[] {
  const lines = readFileSync(new URL('docs/scenario-format.md', ROOT), 'utf8').split('\n');
  const out: Scenario[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== '```json') continue;
    const end = lines.indexOf('```', i + 1);
    const json: unknown = JSON.parse(lines.slice(i + 1, end).join('\n'));
    const marked = (lines[i - 1] ?? '').trim().startsWith('<!-- error:');
    i = end;
    if (marked || (typeof json === 'object' && json !== null && 'job' in json)) continue;
    const v = validateScenario(json);
    assert.ok(v.ok);
    if (v.ok) out.push(v.scenario);
  }
  return out;
}

/** Rows of one role drawn from its column specs; aligned id columns take ids from a pool shared by the roles. */
function rowsFor(s: Scenario, role: string, seed: number): Row[] {
  const rnd = prng(seed);
  const cols = Object.entries(s.inputs[role]!.columns);
  const aligned = s.align?.on[role];
  const unit = s.release?.privacyUnit?.on[role];
  // aligned roles: ROWS distinct ids out of a pool of 1.25·ROWS, so the intersection is partial
  const pool = Array.from({ length: Math.round(ROWS * 1.25) }, (_, i) => `k${i}`);
  for (let i = pool.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return Array.from({ length: ROWS }, (_, i) => {
    const row: Row = {};
    for (const [name, c] of cols) {
      // a privacy unit's ids repeat (about 4 rows per unit), so its contribution bounds drop rows
      if (c.type === 'id')
        row[name] = name === aligned ? pool[i]! : name === unit ? `${role}-u${Math.floor(rnd() * (ROWS / 4))}` : `${role}-${i}`;
      else if (c.type === 'category') row[name] = c.values[Math.floor(rnd() * c.values.length)]!;
      else if (c.type === 'integer') row[name] = c.min + Math.floor(rnd() * (c.max - c.min + 1));
      else row[name] = Math.round((c.min + rnd() * (c.max - c.min)) * 1000) / 1000;
    }
    return row;
  });
}

/** Parameter values a consumer would give, per example (the doc says what each one means). */
const PARAMS: Record<string, ParamValues> = {
  'billed-energy': { tariff: [0.5, 0.55, 0.62, 0.48] },
  'firm-score': { firms: ['k1', 'k2', 'k3', 'k5', 'k8', 'k13', 'nobody'], w: [0.02, -0.5], b: 0.5 },
};

describe('the scenarios of docs/scenario-format.md run end to end', { timeout: 900_000 }, () => {
  let s: Server;
  let consumer: DataspaceClient;
  let admin: DataspaceClient;
  const dir = mkdtempSync(join(tmpdir(), 'dataspace-docs-run-'));

  before(async () => {
    s = await startTestServer();
    admin = new DataspaceClient({ url: s.url, token: s.adminToken });
    const c = await admin.post<{ token: string }>('participants', { role: 'consumer', name: 'docs reader' });
    consumer = new DataspaceClient({ url: s.url, token: c.token });
  });
  after(async () => {
    await s.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const scenarios = docScenarios();

  it('has the examples the doc promises', () => {
    assert.deepEqual(
      scenarios.map((x) => x.id),
      ['district-water', 'billed-energy', 'ev-charging', 'elderly-chronic', 'firm-score', 'noisy-water', 'noisy-water-per-meter'],
    );
  });

  for (const [k, sc] of scenarios.entries()) {
    it(`${sc.id}: registers, runs, and decrypts to the reference within the accuracy table`, async () => {
      const reg = await consumer.post<{ id: string; version: number }>('scenarios', sc);
      assert.equal(reg.id, sc.id);
      const aggs = aggregationsByRole(sc);
      const rows: Record<string, Row[]> = {};
      const bindings: Record<string, string> = {};
      for (const [r, role] of Object.keys(sc.inputs).entries()) {
        rows[role] = rowsFor(sc, role, 1000 * k + r + 1);
        const p = await admin.post<{ token: string }>('participants', { role: 'provider', name: `${sc.id} ${role}` });
        const provider = new DataspaceClient({ url: s.url, token: p.token });
        const ds = await provider.post<{ id: string }>('datasets', {
          name: `${sc.id} ${role}`,
          columns: sc.inputs[role]!.columns,
          policy: {
            consumers: ['*'],
            purposes: [PURPOSE],
            aggregations: aggs[role],
            rowLevel: sc.release?.rowLevel === true,
            minGroupSize: sc.release?.minGroupSize ?? 1,
            epsilonBudget: sc.release?.noise ? 10 : null,
            expiresAt: null,
          },
        });
        const imp = await call(s.url, 'POST', `/datasets/${ds.id}/rows?format=json`, { token: p.token, body: rows[role] });
        assert.equal(imp.status, 200, imp.text);
        bindings[role] = ds.id;
      }
      const params = PARAMS[sc.id] ?? {};
      const keyFile = join(dir, `${sc.id}.keys`);
      await generateKeyFile(keyFile, keyRequirements(sc, params));
      const keys = readKeyFile(keyFile);
      const job = await submitJob(consumer, keys, sc, { scenario: sc.id, bindings, purpose: PURPOSE, params });
      const final = await waitForJob(consumer, String(job.id));
      assert.equal(final.status, 'completed', JSON.stringify(final.error ?? final));
      const result = await fetchResult(consumer, String(job.id), keys);
      const withDefaults = {
        ...Object.fromEntries(Object.entries(sc.params ?? {}).flatMap(([n, p]) => (p.default !== undefined ? [[n, p.default]] : []))),
        ...params,
      };
      const expected = evaluateReference(withInternalMetrics(sc), withDefaults, rows, { groupRows: true });
      let compare: CompareOptions = {};
      if (sc.release?.noise) {
        const counts = Object.fromEntries(Object.keys(rows).map((r) => [r, ROWS]));
        const plan = compilePlan(sc, withDefaults, { rowCounts: counts });
        assert.ok(plan.ok);
        if (plan.ok) compare = noisyCompareOptions(plan.plan, expected.meta.groupRows);
      }
      const report = compareResult(sc, result.metrics, expected.metrics, compare);
      assert.ok(report.ok, JSON.stringify(report.problems.slice(0, 5)));
      assert.deepEqual(
        Object.keys(result.metrics).sort(),
        sc.metrics
          .filter((m) => m.release !== false)
          .map((m) => m.name)
          .sort(),
      );
    });
  }
});
