import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Scenario } from '../types.js';
import { validateScenario } from '../validate/index.js';
import { creditScore, drainage, elderly, evCharging, tariff, waterExample } from '../validate/examples.fixture.js';
import { evaluateReference } from '../reference/index.js';
import { compilePlan } from './compile.js';
import { SlotEngine } from './slot-engine.testkit.js';
import { compareMetrics, prng, randomRows, runPlan } from './testkit.js';

function valid(doc: unknown): Scenario {
  const v = validateScenario(doc);
  if (!v.ok) throw new Error(JSON.stringify(v.errors));
  return v.scenario;
}

test('water-district-consumption compiles to a depth-1 plan at N=8192', () => {
  const r = compilePlan(valid(waterExample), {}, { rowCounts: { utility: 1000 } });
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  assert.equal(r.plan.params.polyModulusDegree, 8192);
  assert.equal(r.plan.depth, 1);
  assert.deepEqual(r.plan.roles.utility.columns.sort(), ['district', 'm3', 'night_flow']);
  assert.deepEqual(r.plan.galoisSteps, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]);
});

/** Runs a scenario through the plaintext slot model and the reference on the same random rows. */
function check(doc: unknown, params: Record<string, number | number[] | string | string[]>, rowsPer: Record<string, number>, seed: number, opts: { privateValues?: Record<string, number | number[]>; psi?: boolean } = {}) {
  const s = valid(doc);
  const rng = prng(seed);
  const rows = randomRows(s, rowsPer, rng);
  const refParams = { ...params, ...(opts.privateValues ?? {}) };
  const want = evaluateReference(s, refParams, rows);
  const compiled = compilePlan(s, params, { rowCounts: rowsPer });
  assert.ok(compiled.ok, JSON.stringify(!compiled.ok && compiled.errors));
  const engine = new SlotEngine(compiled.plan.slots, compiled.plan.params.coeffModulusBits.length - 2, 1e-12, rng);
  let keys: string[] | undefined;
  if (opts.psi && s.align) {
    const sets = Object.entries(s.align.on).map(([role, col]) => new Set(rows[role].map((r) => String(r[col]))));
    keys = [...sets[0]].filter((k) => sets.every((x) => x.has(k))).sort();
  }
  const out = runPlan(engine, s, params, rows, { pk: null, sk: null, ctx: { rowCounts: rowsPer }, ...(keys ? { keys } : {}), ...(opts.privateValues ? { privateValues: opts.privateValues } : {}) });
  assert.equal(engine.live, 0, 'every ciphertext freed');
  const bad = compareMetrics(s, out.result.metrics, want.metrics);
  assert.deepEqual(bad, []);
  assert.deepEqual(out.result.meta.suppressed, want.meta.suppressed);
  return { out, want, s };
}

test('slot model: water example equals the reference (random rows, suppression)', () => {
  for (const seed of [1, 2, 3]) {
    const { out } = check(waterExample, {}, { utility: 40 + seed * 7 }, seed);
    assert.equal(out.plan.depth, 1);
  }
});

test('slot model: stacked multi-role sums, counts, means, variance, histogram, sumProduct', () => {
  for (const seed of [4, 5]) check(evCharging, { minKwh: 30, onlyDistrict: 'b' }, { op1: 30, op2: 25, op3: 35 }, seed);
});

test('slot model: correlation, ratio and difference of internal series', () => {
  for (const seed of [6, 7]) check(drainage, {}, { weather: 60, drains: 80 }, seed);
});

test('slot model: dot with a private tariff list', () => {
  check(tariff, {}, { grid: 50 }, 8, { privateValues: { tariff: [0.5, 0.8, 1.2, 0.3] } });
});

test('slot model: where and by across roles aligned by intersection', () => {
  for (const seed of [9, 10]) check(elderly, {}, { registry: 40, health: 45 }, seed, { psi: true });
});

test('slot model: row-level weightedSum with private weights and consumer keys', () => {
  const firms = ['k0', 'k3', 'k5', 'k7', 'k11', 'zz-missing'];
  check(creditScore, { firms, b: 2.5 }, { bank: 20, tax: 20 }, 11, { privateValues: { w: [0.3, -1.7] } });
});
