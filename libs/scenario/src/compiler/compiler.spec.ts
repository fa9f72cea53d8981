import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ParamValues, Row, Scenario } from '../types.js';
import { validateScenario } from '../validate/index.js';
import { creditScore, drainage, elderly, evCharging, tariff, waterExample } from '../validate/examples.fixture.js';
import { evaluateReference } from '../reference/index.js';
import { compilePlan } from './compile.js';
import { SlotEngine } from './slot-engine.testkit.js';
import { compareMetrics, privateScoreWithinLimit, prng, randomRows, runPlan, scaledRows } from './testkit.js';
import { encodeRole } from './encode.js';
import { alignedWide, stackedWide } from './realistic.fixture.js';
import { laplaceScales } from '../accuracy.js';
import { LAPLACE_TAIL, PRIVATE_PARAM_BOUND, VALUE_CAP } from './magnitude.js';

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
  // 0: the conjugation of the release hygiene (circuit.ts); no rotation: the provider sends group totals (TOTALS layout)
  assert.deepEqual(r.plan.galoisSteps, [0]);
  for (const f of r.plan.roles.utility.features) assert.equal(f.layout, 'totals');
});

/** Runs a scenario through the plaintext slot model and the reference on the same random rows. */
function check(
  doc: unknown,
  params: Record<string, number | number[] | string | string[]>,
  rowsPer: Record<string, number>,
  seed: number,
  opts: { privateValues?: Record<string, number | number[]>; psi?: boolean } = {},
) {
  const s = valid(doc);
  const rng = prng(seed);
  const rows = randomRows(s, rowsPer, rng);
  const refParams = { ...params, ...(opts.privateValues ?? {}) };
  const want = evaluateReference(s, refParams, rows);
  const compiled = compilePlan(s, params, { rowCounts: rowsPer });
  assert.ok(compiled.ok, JSON.stringify(!compiled.ok && compiled.errors));
  const engine = SlotEngine.forPlan(compiled.plan, 1e-12, rng);
  let keys: string[] | undefined;
  if (opts.psi && s.align) {
    const sets = Object.entries(s.align.on).map(([role, col]) => new Set(rows[role].map((r) => String(r[col]))));
    keys = [...sets[0]].filter((k) => sets.every((x) => x.has(k))).sort();
  }
  const out = runPlan(engine, s, params, rows, {
    pk: null,
    sk: null,
    ctx: { rowCounts: rowsPer },
    ...(keys ? { keys } : {}),
    ...(opts.privateValues ? { privateValues: opts.privateValues } : {}),
  });
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

const districts = ['d0', 'd1', 'd2', 'd3', 'd4', 'd5'];
/** A scenario with every stacked agg, a cross-product by, public dot and difference, small groups. */
const mixed = {
  id: 'mixed-aggs',
  title: 'every agg on one role pair',
  inputs: {
    a: {
      columns: {
        d: { type: 'category', values: districts },
        h: { type: 'category', values: ['0', '1', '2'] },
        x: { type: 'number', min: -20, max: 80 },
        y: { type: 'integer', min: 0, max: 9 },
      },
    },
    b: {
      columns: {
        d: { type: 'category', values: districts },
        h: { type: 'category', values: ['0', '1', '2'] },
        x: { type: 'number', min: 0, max: 500 },
      },
    },
  },
  params: { prices: { type: 'number-list' }, cut: { type: 'number' } },
  metrics: [
    { name: 'n', agg: 'count', role: ['a', 'b'], by: ['a.d', 'a.h'] },
    { name: 'sx', agg: 'sum', of: 'a.x', where: { and: [{ gt: ['a.y', '$params.cut'] }, { ne: ['a.h', '2'] }] }, by: 'a.d' },
    { name: 'sxb', agg: 'sum', of: 'b.x', by: 'b.d', release: false },
    { name: 'mx', agg: 'mean', of: ['a.x', 'b.x'], by: 'a.d' },
    { name: 'vx', agg: 'variance', of: 'a.x', by: ['a.d', 'a.h'] },
    { name: 'sdx', agg: 'stddev', of: ['a.x', 'b.x'] },
    { name: 'hx', agg: 'histogram', of: 'a.x', bins: [-20, 0, 25, 50, 80], by: 'a.d' },
    { name: 'hall', agg: 'histogram', of: ['a.x', 'b.x'], bins: [0, 100, 500] },
    { name: 'xy', agg: 'sumProduct', of: ['a.x', 'a.y'], by: 'a.h' },
    { name: 'diff', agg: 'difference', of: ['sxb', 'sx'] },
    { name: 'value', agg: 'dot', of: ['sxb', '$params.prices'] },
    { name: 'share', agg: 'ratio', of: ['sx', 'sxb'] },
    { name: 'corr', agg: 'correlation', of: ['sx', 'sxb'] },
  ],
  release: { minGroupSize: 3 },
};

test('slot model: every stacked agg, cross-product by, public dot, small-group suppression', () => {
  const prices = [1.5, 2, 0.25, 3, 1, 0.5];
  let sawSuppressed = false;
  for (const seed of [12, 13, 14, 15]) {
    const { out } = check(mixed, { prices, cut: 4 }, { a: 30 + seed, b: 20 }, seed);
    if (Object.keys(out.result.meta.suppressed).length) sawSuppressed = true;
  }
  assert.ok(sawSuppressed, 'the random data exercised suppression');
});

test('refusals name the reason and the path', () => {
  const s = valid(mixed);
  const many = valid({
    ...mixed,
    inputs: {
      ...mixed.inputs,
      a: { columns: { ...mixed.inputs.a.columns, id: { type: 'category', values: Array.from({ length: 5000 }, (_, i) => `v${i}`) } } },
    },
    metrics: [{ name: 'n', agg: 'count', role: 'a', by: ['a.id', 'a.h'] }],
  });
  const r1 = compilePlan(many, {});
  assert.ok(!r1.ok && r1.errors[0].code === 'slot-capacity' && r1.errors[0].path === '/metrics/0/by');
  const r2 = compilePlan(s, { cut: 1 });
  assert.ok(!r2.ok && r2.errors[0].code === 'param-missing' && r2.errors[0].path === '/metrics/10/of/1');
  const noisy = valid({ ...mixed, release: { noise: { mechanism: 'laplace', epsilon: 1 } } });
  const r3 = compilePlan(noisy, { prices: [1, 1, 1, 1, 1, 1], cut: 1 });
  assert.ok(!r3.ok && r3.errors[0].code === 'noise-unsupported', JSON.stringify(r3));
});

test('Laplace noise: scale follows sensitivity/epsilon, epsilon is reported, counts stay near the truth', () => {
  const doc = { ...waterExample, release: { noise: { mechanism: 'laplace', epsilon: 2 } } };
  const s = valid(doc);
  const compiled = compilePlan(s, {}, {});
  assert.ok(compiled.ok);
  // Laplace scales in real units (slot scale × the read's factor): sum m3 (bound 50) 50/2, counts 1/2,
  // the mean as a noisy sum and count at ε/2 each: 50/1 and 1/1
  assert.deepEqual(laplaceScales(compiled.plan), { total_m3: 25, meters: 0.5, mean_m3: { num: 50, den: 1 }, leaks: 0.5 });
  // each noisy output leaves room for the capped Laplace tail within the slot headroom
  for (const n of compiled.plan.circuit.nodes) if (n.op === 'noise') assert.ok(n.scale * LAPLACE_TAIL <= VALUE_CAP, 'noise tail fits');
  assert.equal(compiled.plan.epsilon, 8);
  const rng = prng(21);
  const rows = randomRows(s, { utility: 400 }, rng);
  const engine = SlotEngine.forPlan(compiled.plan, 1e-12, rng);
  const out = runPlan(engine, s, {}, rows, { pk: null, sk: null, noiseRng: rng });
  const want = evaluateReference(s, {}, rows);
  assert.equal(out.result.meta.epsilonSpent, 8);
  const got = out.result.metrics.meters as Record<string, number>;
  const exact = want.metrics.meters as Record<string, number>;
  let differs = 0;
  for (const k of Object.keys(exact)) {
    assert.ok(Math.abs(got[k] - exact[k]) < 30, 'Laplace(1/2) noise stays small');
    if (got[k] !== exact[k]) differs++;
  }
  assert.ok(differs > 0, 'noise was added');
});

test('every plan is plain JSON and its galois steps cover its rotations', () => {
  for (const [doc, params] of [
    [waterExample, {}],
    [evCharging, { minKwh: 1, onlyDistrict: 'a' }],
    [drainage, {}],
    [tariff, {}],
    [elderly, {}],
    [creditScore, { firms: ['a'], b: 1 }],
  ] as [unknown, ParamValues][]) {
    const r = compilePlan(valid(doc), params);
    assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
    assert.deepEqual(JSON.parse(JSON.stringify(r.plan)), r.plan);
    for (const n of r.plan.circuit.nodes)
      if (n.op === 'sumSlots') for (let st = 1; st < n.width; st *= 2) assert.ok(r.plan.galoisSteps.includes(st));
    assert.ok(r.plan.depth <= r.plan.params.coeffModulusBits.length - 3, 'depth fits the rescale primes');
  }
});

test('cost estimate: one ciphertext per TOTALS feature whatever the row count, keys and seconds are positive', async () => {
  const { costEstimate } = await import('./cost.js');
  for (const rows of [1000, 100000, 1000000]) {
    const r = compilePlan(valid(waterExample), {}, { rowCounts: { utility: rows } });
    assert.ok(r.ok);
    const est = costEstimate(r.plan, { utility: rows });
    // features: m3, 1, m3/n_g, leak indicator: each summed per district by the provider, one ciphertext each
    assert.equal(r.plan.roles.utility.features.length, 4);
    assert.equal(est.ciphertextsPerRole.utility, 4);
    assert.equal(est.rotationKeys, 1); // the conjugation only
    assert.ok(est.estimatedSeconds > 0 && est.estimatedSeconds < 1);
    assert.ok(est.bytesMoved > 4 * 262144);
  }
});

/**
 * The realistic-magnitude scenarios on the slot model with CKKS-like absolute errors (twice what
 * `#he-core` measures at scale 2^40: 2e-8 per operation, 4e-7 per rotate-and-sum): accuracy must come
 * from the gains, and worst-case rows (all at the bounds, one group, exactly the declared row counts)
 * must stay within the slot headroom (SlotEngine throws above SLOT_CAP) while using a good part of it.
 */
function checkScaled(
  doc: unknown,
  params: ParamValues,
  privateValues: Record<string, number | number[]>,
  rowsPer: Record<string, number>,
  o: { atBound?: boolean; keys?: (rows: Record<string, Row[]>) => string[]; skipNearZero?: boolean },
) {
  const s = valid(doc);
  const rng = prng(77);
  const rows = scaledRows(s, rowsPer, rng, o.atBound ? { atBound: true } : { frac: 0.01 });
  const p: ParamValues = { ...params, ...(o.keys ? { keys: o.keys(rows) } : {}) };
  const want = evaluateReference(s, { ...p, ...privateValues }, rows);
  const compiled = compilePlan(s, p, { rowCounts: rowsPer });
  assert.ok(compiled.ok, JSON.stringify(!compiled.ok && compiled.errors));
  const engine = SlotEngine.forPlan(compiled.plan, 2e-8, rng, 4e-7);
  const out = runPlan(engine, s, p, rows, { pk: null, sk: null, ctx: { rowCounts: rowsPer }, privateValues });
  assert.equal(engine.live, 0);
  // "difference within 1e-6 of the larger operand" (docs/scenario-format.md): the operands' largest |value|
  const opScale: Record<string, number> = {};
  for (const m of s.metrics) {
    if (m.agg !== 'difference') continue;
    const mags = m.of
      .flatMap((o) => Object.values((want.metrics[o] ?? {}) as Record<string, number>))
      .filter((v) => typeof v === 'number')
      .map(Math.abs);
    opScale[m.name] = Math.max(0, ...mags);
  }
  let bad = compareMetrics(s, out.result.metrics, want.metrics, opScale);
  // At the bounds, empty groups and constant series have reference 0 (or a null 0/0 ratio): the slot
  // error times the gain's inverse (~1e-13 of the worst case) is above "absolute 1e-6" there (README).
  if (o.skipNearZero) bad = bad.filter((l) => !/want (0|null)$/.test(l));
  assert.deepEqual(
    bad.filter((l) => !l.startsWith('score.')),
    [],
  );
  privateScoreWithinLimit(out.result.metrics, want.metrics, o.atBound ? 1e-4 : 1e-6, 2e-5);
  return { engine, out, want };
}

const wideKeys = (rows: Record<string, Row[]>): string[] => [...rows.a.slice(0, 9000).map((r) => String(r.id)), 'missing-key'];

test('slot model with CKKS-sized error: realistic magnitudes (1% of the bounds, 10^4 rows) meet the accuracy table', () => {
  checkScaled(stackedWide, { prices: [1.5, 2, 0.25, 3] }, { tariff: [0.5, 0.8, 1.2, 0.3] }, { a: 12000, b: 10000 }, {});
  checkScaled(alignedWide, {}, { w: [0.8, -0.03], b: 12.5 }, { a: 10000, c: 10000 }, { keys: wideKeys });
});

test('slot model: rows at the column bounds in one group fill but never exceed the headroom', () => {
  for (const [doc, params, priv, rowsPer, keys] of [
    [
      stackedWide,
      { prices: [1.5, 2, 0.25, 3] },
      { tariff: [PRIVATE_PARAM_BOUND, PRIVATE_PARAM_BOUND, PRIVATE_PARAM_BOUND, PRIVATE_PARAM_BOUND] },
      { a: 3000, b: 2000 },
      undefined,
    ],
    [alignedWide, {}, { w: [PRIVATE_PARAM_BOUND, -PRIVATE_PARAM_BOUND], b: -PRIVATE_PARAM_BOUND }, { a: 3000, c: 3000 }, wideKeys],
  ] as [
    unknown,
    ParamValues,
    Record<string, number | number[]>,
    Record<string, number>,
    ((r: Record<string, Row[]>) => string[]) | undefined,
  ][]) {
    const { engine } = checkScaled(doc, params, priv, rowsPer, { atBound: true, skipNearZero: true, ...(keys ? { keys } : {}) });
    // the worst case reaches at least a quarter of VALUE_CAP (power-of-two gains lose at most 2x)
    assert.ok(engine.peak > VALUE_CAP / 4, `peak ${engine.peak} uses the headroom`);
  }
});

test('plans record the row bounds and private-value bounds their gains assume; providers with more rows refuse', () => {
  const s = valid(alignedWide);
  const r = compilePlan(s, { keys: ['k1', 'k2'] }, { rowCounts: { a: 100, c: 50 } });
  assert.ok(r.ok);
  assert.equal(r.plan.roles.a.maxRows, 100);
  assert.equal(r.plan.roles.c.maxRows, 50);
  assert.deepEqual(
    r.plan.privateInputs.map((p) => p.maxAbs),
    [PRIVATE_PARAM_BOUND, PRIVATE_PARAM_BOUND, PRIVATE_PARAM_BOUND],
  );
  const rows = scaledRows(s, { a: 101, c: 10 }, prng(3));
  assert.throws(() => encodeRole(r.plan, 'a', rows.a, {}), /101 rows but the plan was sized for at most 100/);
  assert.equal(encodeRole(r.plan, 'c', rows.c, {}).rows, rows.c.filter((x) => x.id === 'k1' || x.id === 'k2').length);
});
