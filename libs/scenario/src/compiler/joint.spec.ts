/**
 * Small-group suppression of metrics over aligned roles (the joint count of contributing rows is
 * known to nobody in plaintext: the consumer's decoding applies the rule from an encrypted joint
 * count) and 0/0 ratios, on the slot model, against the plaintext reference on hand-made rows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ParamValues, Row, Scenario } from '../types.js';
import { validateScenario } from '../validate/index.js';
import { evaluateReference } from '../reference/index.js';
import { compilePlan } from './compile.js';
import { SlotEngine } from './slot-engine.testkit.js';
import { compareMetrics, prng, runPlan } from './testkit.js';
import { suppressedGroups } from './circuit.js';
import { selectionCharge } from './selection.js';
import { encodeRole } from './encode.js';
import { laplaceScales, noisyNullMetrics } from '../accuracy.js';

function valid(doc: unknown): Scenario {
  const v = validateScenario(doc);
  if (!v.ok) throw new Error(JSON.stringify(v.errors));
  return v.scenario;
}

const inputs = {
  reg: { columns: { id: { type: 'id' }, age: { type: 'integer', min: 0, max: 120 }, c: { type: 'category', values: ['c1', 'c2', 'c3'] } } },
  hl: {
    columns: { id: { type: 'id' }, chronic: { type: 'category', values: ['yes', 'no'] }, visits: { type: 'integer', min: 0, max: 50 } },
  },
};

const joint = (minGroupSize?: number) => ({
  id: 'joint-suppression',
  title: 'aligned metrics with small joint groups',
  inputs,
  align: { on: { reg: 'id', hl: 'id' } },
  metrics: [
    { name: 'old', agg: 'count', role: 'reg', where: { ge: ['reg.age', 65] }, by: 'reg.c' },
    {
      name: 'oldChronic',
      agg: 'count',
      role: 'reg',
      where: { and: [{ ge: ['reg.age', 65] }, { eq: ['hl.chronic', 'yes'] }] },
      by: 'reg.c',
    },
    {
      name: 'chronicVisits',
      agg: 'sum',
      of: 'hl.visits',
      where: { and: [{ ge: ['reg.age', 65] }, { eq: ['hl.chronic', 'yes'] }] },
      by: 'reg.c',
    },
    { name: 'share', agg: 'ratio', of: ['oldChronic', 'old'] },
    { name: 'visitsPerOld', agg: 'ratio', of: ['old', 'chronicVisits'] },
    { name: 'gap', agg: 'difference', of: ['old', 'oldChronic'] },
    { name: 'ageVisits', agg: 'sumProduct', of: ['reg.age', 'hl.visits'] },
    { name: 'ageVisitsByC', agg: 'sumProduct', of: ['reg.age', 'hl.visits'], by: 'reg.c' },
    { name: 'weighted', agg: 'dot', of: ['chronicVisits', '$params.w'] },
  ],
  params: { w: { type: 'number-list' } },
  ...(minGroupSize === undefined ? {} : { release: { minGroupSize } }),
});

/**
 * c1: 5 residents 65+, only 2 of them chronic (joint 2) — yet 6 chronic health rows in all and 5 old
 * residents in c1, so the broker's min of local counts (5) would release it; c2: 4 residents 65+,
 * all chronic; c3: 1 young resident.
 */
function rows(): Record<string, Row[]> {
  const reg: Row[] = [];
  const hl: Row[] = [];
  for (let i = 0; i < 5; i++) {
    reg.push({ id: `a${i}`, age: 70 + i, c: 'c1' });
    hl.push({ id: `a${i}`, chronic: i < 2 ? 'yes' : 'no', visits: 3 + i });
  }
  for (let i = 0; i < 4; i++) {
    reg.push({ id: `b${i}`, age: 80 + i, c: 'c2' });
    hl.push({ id: `b${i}`, chronic: 'yes', visits: 10 + i });
  }
  reg.push({ id: 'y0', age: 30, c: 'c3' });
  hl.push({ id: 'y0', chronic: 'no', visits: 1 });
  return { reg, hl };
}

function run(doc: unknown, params: ParamValues, data: Record<string, Row[]>) {
  const s = valid(doc);
  const sets = Object.entries(s.align?.on ?? {}).map(([role, col]) => new Set(data[role].map((r) => String(r[col]))));
  const keys = sets.length ? [...sets[0]].filter((k) => sets.every((x) => x.has(k))).sort() : undefined;
  const rowsPer = Object.fromEntries(Object.entries(data).map(([r, v]) => [r, v.length]));
  const compiled = compilePlan(s, params, { rowCounts: rowsPer });
  assert.ok(compiled.ok, JSON.stringify(!compiled.ok && compiled.errors));
  const rng = prng(5);
  const engine = SlotEngine.forPlan(compiled.plan, 1e-9, rng);
  const out = runPlan(engine, s, params, data, { pk: null, sk: null, ctx: { rowCounts: rowsPer }, ...(keys ? { keys } : {}) });
  assert.equal(engine.live, 0);
  return { s, out, want: evaluateReference(s, params, data) };
}

test('aligned metrics: groups whose joint count is below minGroupSize are null and listed, as in the reference (the broker min bound would release them)', () => {
  const { s, out, want } = run(joint(3), { w: [1, 2, 3] }, rows());
  assert.deepEqual(compareMetrics(s, out.result.metrics, want.metrics), []);
  assert.deepEqual(out.result.meta.suppressed, want.meta.suppressed);
  // the case the test is about: the reference suppresses oldChronic.c1 (joint 2), the broker's bound is 5
  assert.equal((want.metrics.oldChronic as Record<string, unknown>).c1, null);
  assert.deepEqual(want.meta.suppressed.oldChronic, ['c1', 'c3']);
  const plan = out.plan;
  const cond = plan.conditions.find(
    (c) =>
      c.kind === 'minGroupSize' &&
      c.combine === 'min' &&
      c.parts.some((p) => p.role === 'hl' && plan.roles.hl.counts.find((n) => n.id === p.count)?.where),
  );
  assert.ok(cond?.jointCount, 'the aligned condition carries an encrypted joint count');
  // broker side: its bound (min of the local counts) cuts c3 (no resident 65+) but not c1 (5 and 6)
  const keys = [...new Set(rows().reg.map((r) => String(r.id)))].sort();
  const groupCounts = Object.fromEntries(['reg', 'hl'].map((r) => [r, encodeRole(plan, r, rows()[r], { keys }).groupCounts]));
  assert.deepEqual(suppressedGroups(cond, groupCounts), [2]);
  // derived metrics of a decoded-suppressed group are null and listed too
  assert.equal((out.result.metrics.share as Record<string, unknown>).c1, null);
  assert.equal((out.result.metrics.gap as Record<string, unknown>).c1, null);
  assert.equal(out.result.metrics.weighted, null);
  assert.deepEqual(out.result.meta.suppressed.weighted, ['*']);
});

test("joined sumProduct: the broker bound sums the roles' present rows (reference: both roles counted), so it never cuts a releasable group", () => {
  const data = rows();
  // minGroupSize 12: ageVisits counts 10 + 10 = 20 rows, no role has 12; c1 counts 5 + 5 = 10 (suppressed), c2 8
  const { params: _unused, ...base } = joint(12);
  void _unused;
  const doc = { ...base, metrics: base.metrics.filter((m) => m.name.startsWith('ageVisits')) };
  const { s, out, want } = run(doc, {}, data);
  assert.deepEqual(compareMetrics(s, out.result.metrics, want.metrics), []);
  assert.deepEqual(out.result.meta.suppressed, want.meta.suppressed);
  assert.notEqual(want.metrics.ageVisits, null);
  const c = out.plan.conditions.find((x) => x.groups === 1);
  assert.ok(c?.terms && c.terms.length === 2, 'one term per of-role');
  assert.deepEqual(suppressedGroups(c, { reg: { [c.parts[0].count]: [10] }, hl: { [c.parts[1].count]: [10] } }), []);
  assert.deepEqual(suppressedGroups(c, { reg: { [c.parts[0].count]: [6] }, hl: { [c.parts[1].count]: [5] } }), [0]);
});

test('ratio: a denominator group with no rows reads null (0/0), stacked and aligned, without minGroupSize', () => {
  const { s, out, want } = run(joint(), { w: [1, 2, 3] }, rows());
  assert.deepEqual(compareMetrics(s, out.result.metrics, want.metrics), []);
  assert.deepEqual(out.result.meta.suppressed, {});
  // chronicVisits.c3 is an empty aligned group: its sum decodes as CKKS noise, the ratio as null
  assert.equal((want.metrics.visitsPerOld as Record<string, unknown>).c3, null);
  assert.equal((out.result.metrics.visitsPerOld as Record<string, unknown>).c3, null);
  const stacked = {
    id: 'stacked-ratio',
    title: 'ratio of sums with an empty group',
    inputs: {
      a: {
        columns: {
          d: { type: 'category', values: ['d0', 'd1', 'd2'] },
          x: { type: 'number', min: 0, max: 100 },
          y: { type: 'number', min: 0, max: 10 },
        },
      },
    },
    metrics: [
      { name: 'sx', agg: 'sum', of: 'a.x', by: 'a.d' },
      { name: 'sy', agg: 'sum', of: 'a.y', by: 'a.d', release: false },
      { name: 'r', agg: 'ratio', of: ['sx', 'sy'] },
    ],
  };
  const data = { a: Array.from({ length: 20 }, (_, i) => ({ d: i % 2 ? 'd0' : 'd1', x: i * 3.5, y: 1 + (i % 7) })) };
  const st = run(stacked, {}, data);
  assert.deepEqual(compareMetrics(st.s, st.out.result.metrics, st.want.metrics), []);
  assert.equal((st.out.result.metrics.r as Record<string, unknown>).d2, null);
  assert.equal((st.out.result.metrics.sx as Record<string, unknown>).d2 !== null, true, 'the operand itself stays 0, not null');
});

test('with Laplace noise the joint count is released noisy and charged, ratios divide noisy operands, and the SDK nulls by the noisy count', () => {
  const doc = {
    ...joint(3),
    metrics: joint(3).metrics.filter((m) => ['old', 'oldChronic', 'chronicVisits', 'share', 'visitsPerOld', 'gap'].includes(m.name)),
    release: { minGroupSize: 3, noise: { mechanism: 'laplace', epsilon: 1 } },
    params: {},
  };
  const r = compilePlan(valid(doc), {});
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  const plan = r.plan;
  const nodes = new Map(plan.circuit.nodes.map((n) => [n.id, n]));
  const noisyOutput = (id: string): boolean => nodes.get(plan.outputs.find((o) => o.id === id)?.node ?? '')?.op === 'noise';
  // every output the consumer can decrypt is a noise node's: no exact joint count, no exact value
  for (const o of plan.outputs) assert.ok(noisyOutput(o.id), `output ${o.id} is released exact`);
  const carried = new Set(plan.outputs.flatMap((o) => o.conditions));
  const joints = plan.conditions.filter((c) => c.kind === 'minGroupSize' && carried.has(c.id) && c.combine === 'min' && c.parts.length > 1);
  assert.ok(joints.length > 0 && joints.every((c) => c.jointCount !== undefined), 'each aligned condition carries a noisy joint count');
  // charges: the four released non-ratio metrics (old, oldChronic, chronicVisits, gap) and the joint count of
  // chronicVisits (oldChronic's joint count is its own noisy count output, charged once); the two ratios divide
  // released operands and charge nothing; plus the noisy small-group selections, one charge per distinct one
  assert.equal(plan.epsilon, 5 + selectionCharge(plan.conditions).epsilon);
  assert.ok(selectionCharge(plan.conditions).epsilon > 0);
  // the accuracy check: a ratio of noisy counts gets the quotient bound, and the metrics nulled by a noisy joint count
  // accept a one-sided null (old is stacked: the broker's exact local count cuts it)
  const scales = laplaceScales(plan);
  assert.deepEqual(scales.share, { num: 1, den: 1 });
  assert.deepEqual(noisyNullMetrics(plan).sort(), ['chronicVisits', 'gap', 'oldChronic', 'share', 'visitsPerOld']);

  const rowsPer = { reg: rows().reg.length, hl: rows().hl.length };
  const keys = [...new Set(rows().reg.map((x) => String(x.id)))].sort();
  for (let seed = 1; seed <= 5; seed++) {
    const rng = prng(seed);
    const engine = SlotEngine.forPlan(plan, 1e-9, rng);
    const out = runPlan(engine, valid(doc), {}, rows(), { pk: null, sk: null, ctx: { rowCounts: rowsPer }, keys, noiseRng: rng });
    assert.equal(engine.live, 0);
    const c = out.plan.conditions.find(
      (x) =>
        x.jointCount &&
        x.parts.some((p) => p.role === 'hl' && out.plan.roles.hl.counts.find((n) => n.id === p.count)?.where) &&
        x.kind === 'minGroupSize',
    );
    assert.ok(c?.jointCount);
    const jc = c.jointCount;
    // the SDK's rule: a group is null when the broker cut it or its noisy joint count is under 3 (post-processing)
    const noisy = jc.slots.map((slot) => Math.round(out.decrypted[jc.output]![slot]! * jc.factor));
    const off = new Set([...(out.meta.suppressedGroups[c.id] ?? []), ...noisy.flatMap((n, g) => (n < 3 ? [g] : []))]);
    const got = out.result.metrics.oldChronic as Record<string, number | null>;
    ['c1', 'c2', 'c3'].forEach((k, g) => assert.equal(got[k] === null, off.has(g), `oldChronic.${k}: noisy joint count ${noisy[g]}`));
  }
});
