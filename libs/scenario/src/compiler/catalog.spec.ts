/**
 * Every built-in scenario (docs/scenarios.md) compiles, and its plan run through the slot
 * model of CKKS on the catalog's seeded rows equals the plaintext reference.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ParamValues, Row } from '../types.js';
import { builtinScenarios, defaultParams, generateRoleRows } from '../catalog/index.js';
import { evaluateReference } from '../reference/index.js';
import { compareResult, noisyCompareOptions, withInternalMetrics } from '../accuracy.js';
import { compilePlan } from './compile.js';
import { SlotEngine } from './slot-engine.testkit.js';
import { compareMetrics, prng, runPlan } from './testkit.js';

for (const s of builtinScenarios()) {
  test(`catalog ${s.id}: plan on the slot model equals the reference`, () => {
    const rowsPer = Object.fromEntries(Object.keys(s.inputs).map((r) => [r, 120]));
    const all = defaultParams(s.id, rowsPer);
    const pub: ParamValues = {};
    const priv: Record<string, number | number[]> = {};
    for (const [k, v] of Object.entries(all)) {
      if (s.params?.[k]?.private) priv[k] = v as number | number[];
      else pub[k] = v;
    }
    const rows: Record<string, Row[]> = {};
    for (const r of Object.keys(s.inputs)) rows[r] = generateRoleRows(s.id, r, { rows: rowsPer[r], seed: 7 });
    const compiled = compilePlan(s, pub, { rowCounts: rowsPer });
    assert.ok(compiled.ok, JSON.stringify(!compiled.ok && compiled.errors));
    const want = evaluateReference(s, all, rows);
    let keys: string[] | undefined;
    if (s.align && !s.align.keys) {
      const sets = Object.entries(s.align.on).map(([role, col]) => new Set(rows[role].map((r) => String(r[col]))));
      keys = [...sets[0]].filter((k) => sets.every((x) => x.has(k))).sort();
    }
    const rng = prng(99);
    const engine = SlotEngine.forPlan(compiled.plan, 1e-12, rng);
    const out = runPlan(engine, s, pub, rows, {
      pk: null,
      sk: null,
      ctx: { rowCounts: rowsPer },
      privateValues: priv,
      noiseRng: rng,
      ...(keys ? { keys } : {}),
    });
    assert.equal(engine.live, 0);
    // the plan's depth budgets every level the engine's scale alignment spends (SlotEngine models HeEngine's rules)
    assert.ok(engine.deepest <= Math.max(1, compiled.plan.depth), `depth ${engine.deepest} > plan depth ${compiled.plan.depth}`);
    if (s.release?.noise) {
      assert.equal(out.result.meta.epsilonSpent, compiled.plan.epsilon);
      assert.ok(compiled.plan.epsilon > 0);
      // noisy values within their Laplace bound; noisy suppression may differ from the exact rule near its threshold only
      const wantAll = evaluateReference(withInternalMetrics(s), all, rows, { groupRows: true });
      const report = compareResult(s, out.result.metrics, wantAll.metrics, noisyCompareOptions(compiled.plan, wantAll.meta.groupRows));
      assert.deepEqual(report.problems, []);
      return;
    }
    assert.deepEqual(compareMetrics(s, out.result.metrics, want.metrics), []);
    assert.deepEqual(out.result.meta.suppressed, want.meta.suppressed);
  });
}

test('catalog: CKKS parameters, depth and rotations do not depend on row counts (the SDK sizes keysets without them)', () => {
  for (const s of builtinScenarios()) {
    const rowsPer = Object.fromEntries(Object.keys(s.inputs).map((r) => [r, 300]));
    const all = defaultParams(s.id, rowsPer);
    const pub: ParamValues = {};
    for (const [k, v] of Object.entries(all)) if (!s.params?.[k]?.private) pub[k] = v;
    const a = compilePlan(s, pub, { rowCounts: rowsPer });
    const b = compilePlan(s, pub, {});
    assert.ok(a.ok && b.ok, s.id);
    assert.deepEqual(
      [b.plan.params, b.plan.depth, b.plan.galoisSteps, b.plan.needsRelin],
      [a.plan.params, a.plan.depth, a.plan.galoisSteps, a.plan.needsRelin],
      s.id,
    );
  }
});
