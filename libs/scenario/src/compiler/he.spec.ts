/**
 * End to end on real CKKS through `#he-core`: compile → encode → encrypt → evaluate → decrypt →
 * decode, compared with the plaintext reference within SCENARIO-FORMAT.md's accuracy table.
 * Loaded dynamically so this lib builds before `#he-core` exists; skipped (not passed) without it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ParamValues, Scenario } from '../types.js';
import { validateScenario } from '../validate/index.js';
import { creditScore, drainage, elderly, evCharging, tariff, waterExample } from '../validate/examples.fixture.js';
import { evaluateReference } from '../reference/index.js';
import { compilePlan } from './compile.js';
import type { PlanHeParams } from './plan-types.js';
import { compareMetrics, prng, randomRows, runPlan, type TestEngine } from './testkit.js';

interface HeEngineLike extends TestEngine<unknown, unknown, unknown> {
  generateKeyset(o: { galoisSteps: number[]; relin: boolean }): { secretKey: unknown; publicKeyset: unknown };
  usePublicKeyset(pk: unknown): unknown;
  useSecretKeyset(sk: unknown): unknown;
}
interface HeCoreLike { HeEngine: { create(p: PlanHeParams): HeEngineLike | Promise<HeEngineLike> } }

const heCore = (await import(String('#he-core')).catch(() => null)) as HeCoreLike | null;
const skip = heCore && typeof heCore.HeEngine?.create === 'function' ? false : '#he-core is not built yet';

function valid(doc: unknown): Scenario {
  const v = validateScenario(doc);
  if (!v.ok) throw new Error(JSON.stringify(v.errors));
  return v.scenario;
}

async function heCheck(doc: unknown, params: ParamValues, rowsPer: Record<string, number>, seed: number, opts: { privateValues?: Record<string, number | number[]>; psi?: boolean } = {}) {
  const s = valid(doc);
  const rng = prng(seed);
  const rows = randomRows(s, rowsPer, rng);
  const want = evaluateReference(s, { ...params, ...(opts.privateValues ?? {}) }, rows);
  const compiled = compilePlan(s, params, { rowCounts: rowsPer });
  assert.ok(compiled.ok, JSON.stringify(!compiled.ok && compiled.errors));
  const engine = await (heCore as HeCoreLike).HeEngine.create(compiled.plan.params);
  const ks = engine.generateKeyset({ galoisSteps: compiled.plan.galoisSteps, relin: compiled.plan.needsRelin });
  const pk = engine.usePublicKeyset(ks.publicKeyset);
  const sk = engine.useSecretKeyset(ks);
  let keys: string[] | undefined;
  if (opts.psi && s.align) {
    const sets = Object.entries(s.align.on).map(([role, col]) => new Set(rows[role].map((r) => String(r[col]))));
    keys = [...sets[0]].filter((k) => sets.every((x) => x.has(k))).sort();
  }
  const t0 = performance.now();
  const out = runPlan(engine, s, params, rows, { pk, sk, ctx: { rowCounts: rowsPer }, ...(keys ? { keys } : {}), ...(opts.privateValues ? { privateValues: opts.privateValues } : {}) });
  const ms = performance.now() - t0;
  assert.deepEqual(compareMetrics(s, out.result.metrics, want.metrics), []);
  assert.deepEqual(out.result.meta.suppressed, want.meta.suppressed);
  return { out, ms };
}

test('HE: water-district-consumption end to end equals the reference', { skip }, async () => {
  const { out, ms } = await heCheck(waterExample, {}, { utility: 3000 }, 31);
  assert.equal(out.plan.params.polyModulusDegree, 8192);
  console.log(`water (3000 rows, ${out.ciphertexts} ciphertexts): ${ms.toFixed(0)} ms`);
});

test('HE: stacked multi-role aggs with where and cross-product by', { skip }, async () => {
  await heCheck(evCharging, { minKwh: 30, onlyDistrict: 'b' }, { op1: 300, op2: 250, op3: 350 }, 32);
});

test('HE: correlation, ratio, difference of internal series', { skip }, async () => {
  await heCheck(drainage, {}, { weather: 200, drains: 300 }, 33);
});

test('HE: dot with a private parameter list', { skip }, async () => {
  await heCheck(tariff, {}, { grid: 500 }, 34, { privateValues: { tariff: [0.5, 0.8, 1.2, 0.3] } });
});

test('HE: where/by across roles aligned by intersection; joined sumProduct', { skip }, async () => {
  await heCheck(elderly, {}, { registry: 300, health: 320 }, 35, { psi: true });
});

test('HE: row-level weightedSum, private weights, consumer keys with a missing key', { skip }, async () => {
  await heCheck(creditScore, { firms: ['k0', 'k3', 'k5', 'k7', 'k11', 'k20', 'none'], b: 2.5 }, { bank: 40, tax: 40 }, 36, { privateValues: { w: [0.3, -1.7] } });
});
