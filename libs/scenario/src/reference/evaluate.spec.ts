import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateReference, pearson } from './evaluate.js';
import { validateScenario } from '../validate/index.js';
import { creditScore, drainage, elderly, evCharging, tariff, waterExample } from '../validate/examples.fixture.js';
import type { Row, Scenario } from '../types.js';

function scenario(doc: unknown): Scenario {
  const r = validateScenario(doc);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.scenario;
}

const close = (a: unknown, b: number, eps = 1e-12) => assert.ok(typeof a === 'number' && Math.abs(a - b) <= eps, `${String(a)} ≉ ${b}`);

// Water example: 6 meters. Hand computation in comments (values after clamping to [0,50] and [0,2]).
const meters: Row[] = [
  { meter_id: 'm1', district: 'shinan', m3: 10, night_flow: 0.1 }, // leak
  { meter_id: 'm2', district: 'shinan', m3: 20, night_flow: 0 },
  { meter_id: 'm3', district: 'shinan', m3: 60, night_flow: 3 }, // m3 → 50, flow → 2: leak
  { meter_id: 'm4', district: 'shibei', m3: 5, night_flow: 0.06 }, // leak
  { meter_id: 'm5', district: 'laoshan', m3: 1, night_flow: 0 },
  { meter_id: 'm6', district: 'laoshan', m3: -2, night_flow: 0.05 }, // m3 → 0; 0.05 is not > 0.05
];

test('count, sum, mean with where and by; clamping; group order; no suppression', () => {
  const r = evaluateReference(scenario(waterExample), {}, { utility: meters }, { minGroupSize: 0 });
  assert.deepEqual(r.metrics.total_m3, { shinan: 80, shibei: 5, licang: 0, laoshan: 1 });
  assert.deepEqual(Object.keys(r.metrics.total_m3 as object), ['shinan', 'shibei', 'licang', 'laoshan']);
  assert.deepEqual(r.metrics.meters, { shinan: 3, shibei: 1, licang: 0, laoshan: 2 });
  assert.deepEqual(r.metrics.mean_m3, { shinan: 80 / 3, shibei: 5, licang: null, laoshan: 0.5 });
  assert.deepEqual(r.metrics.leaks, { shinan: 2, shibei: 1, licang: 0, laoshan: 0 });
  assert.deepEqual(r.meta, { rows: { utility: 6 }, suppressed: {} });
});

test('minGroupSize suppresses groups with fewer contributing rows (rows passing where)', () => {
  const r = evaluateReference(scenario(waterExample), {}, { utility: meters }, { minGroupSize: 2 });
  assert.deepEqual(r.metrics.total_m3, { shinan: 80, shibei: null, licang: null, laoshan: 1 });
  assert.deepEqual(r.metrics.leaks, { shinan: 2, shibei: null, licang: null, laoshan: null });
  assert.deepEqual(r.meta.suppressed, {
    total_m3: ['shibei', 'licang'],
    meters: ['shibei', 'licang'],
    mean_m3: ['shibei', 'licang'],
    leaks: ['shibei', 'licang', 'laoshan'],
  });
  // the document's own minGroupSize (5) applies without opts
  const r5 = evaluateReference(scenario(waterExample), {}, { utility: meters });
  assert.deepEqual(r5.metrics.meters, { shinan: null, shibei: null, licang: null, laoshan: null });
});

const statsDoc = {
  id: 'stats',
  title: 'stats',
  inputs: {
    t: {
      columns: {
        g: { type: 'category', values: ['a', 'b', 'c'] },
        h: { type: 'category', values: ['0', '1'] },
        x: { type: 'number', min: 0, max: 10 },
        y: { type: 'integer', min: -5, max: 5 },
      },
    },
  },
  metrics: [
    { name: 'var', agg: 'variance', of: 't.x', by: 't.g' },
    { name: 'sd', agg: 'stddev', of: 't.x', by: 't.g' },
    { name: 'hist', agg: 'histogram', of: 't.x', bins: [0, 2, 4, 10] },
    { name: 'hist_by', agg: 'histogram', of: 't.x', bins: [1, 3], by: 't.g' },
    { name: 'sp', agg: 'sumProduct', of: ['t.x', 't.y'] },
    { name: 'sp_where', agg: 'sumProduct', of: ['t.x', 't.y'], where: { and: [{ ne: ['t.g', 'b'] }, { in: ['t.y', [2, 3]] }] } },
    { name: 'cross', agg: 'sum', of: 't.x', by: ['t.g', 't.h'] },
    { name: 'n_not', agg: 'count', role: 't', where: { not: { or: [{ le: ['t.x', 1] }, { eq: ['t.h', '1'] }] } } },
  ],
};
const statsRows: Row[] = [
  { g: 'a', h: '0', x: 1, y: 2 },
  { g: 'a', h: '1', x: 2, y: 3 },
  { g: 'a', h: '0', x: 3, y: -1 },
  { g: 'a', h: '1', x: 4, y: 9 }, // y → 5
  { g: 'b', h: '0', x: 12, y: 1 }, // x → 10
  { g: 'z', h: '0', x: 0.5, y: 0 }, // category not in the list: in no group
];

test('variance (population), stddev, histogram (last bin closed, outside not counted), sumProduct, cross product', () => {
  const r = evaluateReference(scenario(statsDoc), {}, { t: statsRows });
  // a: 1,2,3,4 → mean 2.5, Σ(x-m)² = 5, /4 = 1.25; b: one value → 0; c: empty → null
  assert.deepEqual(r.metrics.var, { a: 1.25, b: 0, c: null });
  assert.deepEqual(r.metrics.sd, { a: Math.sqrt(1.25), b: 0, c: null });
  // x = 1,2,3,4,10,0.5 with edges 0,2,4,10: [0,2) 1,0.5 | [2,4) 2,3 | [4,10] 4,10
  assert.deepEqual(r.metrics.hist, [2, 2, 2]);
  // one bin [1,3]: a: 1,2,3 (3 is the closed upper edge); b: 10 outside
  assert.deepEqual(r.metrics.hist_by, { a: [3], b: [0], c: [0] });
  // 1·2 + 2·3 + 3·(−1) + 4·5 + 10·1 + 0.5·0 = 35
  assert.equal(r.metrics.sp, 35);
  // g ≠ b and y ∈ {2,3}: rows 1, 2 → 2 + 6 = 8 (the z row has y 0)
  assert.equal(r.metrics.sp_where, 8);
  assert.deepEqual(r.metrics.cross, { 'a|0': 4, 'a|1': 6, 'b|0': 10, 'b|1': 0, 'c|0': 0, 'c|1': 0 });
  assert.deepEqual(Object.keys(r.metrics.cross as object), ['a|0', 'a|1', 'b|0', 'b|1', 'c|0', 'c|1']);
  // not (x ≤ 1 or h = 1): rows 3 (x 3, h 0) and 5 (x 10, h 0) → 2
  assert.equal(r.metrics.n_not, 2);
});

test('ungrouped suppression is listed as "*"', () => {
  const r = evaluateReference(scenario(statsDoc), {}, { t: statsRows }, { minGroupSize: 3 });
  assert.equal(r.metrics.sp_where, null);
  assert.deepEqual(r.meta.suppressed.sp_where, ['*']);
  assert.deepEqual(r.metrics.hist, [2, 2, 2]);
  assert.deepEqual(r.metrics.hist_by, { a: [3], b: null, c: null });
});

test("multi-role metrics: combined sums, counts with where on each role's own column, category params", () => {
  const ops = {
    op1: [
      { district: 'a', hour: '0', kwh: 10, pile: 'p1' },
      { district: 'b', hour: '2', kwh: 20, pile: 'p2' },
    ],
    op2: [
      { district: 'a', hour: '0', kwh: 5 },
      { district: 'a', hour: '1', kwh: 1 },
    ],
    op3: [
      { district: 'a', hour: '0', kwh: 2, power: 3 },
      { district: 'b', hour: '0', kwh: 160, power: 11 },
    ],
  };
  const r = evaluateReference(scenario(evCharging), { minKwh: 3, onlyDistrict: 'a' }, ops, { minGroupSize: 0 });
  assert.deepEqual(r.metrics.kwh, { 'a|0': 17, 'a|1': 1, 'a|2': 0, 'b|0': 100, 'b|1': 0, 'b|2': 20 });
  // kwh ≥ 3 in each role: op1 10 (a), 20 (b); op2 5 (a); op3 160 → 100 (b) → a 2, b 2
  assert.deepEqual(r.metrics.sessions, { a: 2, b: 2 });
  // mean of op1 + op2 rows in district a: (10 + 5 + 1) / 3
  close(r.metrics.mean_kwh, 16 / 3);
  // op3 by district: a {2}, b {160 → 100}: variance 0, 0
  assert.deepEqual(r.metrics.var_kwh, { a: 0, b: 0 });
  // op2 and op3 rows with hour ≠ 2: 5, 1, 2, 100 → mean 27, population sd
  const xs = [5, 1, 2, 100];
  close(r.metrics.sd_kwh, Math.sqrt(xs.reduce((s, x) => s + (x - 27) ** 2, 0) / 4));
  assert.deepEqual(r.metrics.kwh_hist, { a: [0, 1, 0], b: [0, 1, 0] });
  // op3: kwh < 50 or hour 0: both rows → 2·3 + 100·10 = 1006
  assert.equal(r.metrics.energy, 1006);
  // params default filled (minKwh has a default; a different value changes the count)
  const r0 = evaluateReference(scenario(evCharging), { onlyDistrict: 'b' }, ops, { minGroupSize: 0 });
  assert.deepEqual(r0.metrics.sessions, { a: 4, b: 2 });
  close(r0.metrics.mean_kwh, 20);
});

test('align by intersection: where and by across roles, joined sumProduct', () => {
  const rows = {
    registry: [
      { resident: 'r1', age: 70, community: 'c1' },
      { resident: 'r2', age: 80, community: 'c2' },
      { resident: 'r3', age: 60, community: 'c1' },
      { resident: 'r4', age: 90, community: 'c1' },
    ],
    health: [
      { resident: 'r1', chronic: 'yes', visits: 3 },
      { resident: 'r2', chronic: 'no', visits: 5 },
      { resident: 'r4', chronic: 'yes', visits: 2 },
      { resident: 'r5', chronic: 'yes', visits: 7 },
    ],
  };
  const r = evaluateReference(scenario(elderly), {}, rows);
  // intersection r1, r2, r4; 65+ with a chronic condition: r1 (c1), r4 (c1)
  assert.deepEqual(r.metrics.elderly_chronic, { c1: 2, c2: 0 });
  // health visits by the registry's community: r1 3 + r4 2 in c1; r2 5 in c2 (r5 not aligned)
  assert.deepEqual(r.metrics.visits_by_community, { c1: 5, c2: 5 });
  // 70·3 + 80·5 + 90·2
  assert.equal(r.metrics.age_visits, 790);
  assert.deepEqual(r.meta, { rows: { registry: 4, health: 4 }, suppressed: {}, alignedKeys: 3 });
});

test('align with consumer keys: weightedSum per key, missing keys count 0 and are reported', () => {
  const rows = {
    bank: [
      { firm: 'f1', loans: 100 },
      { firm: 'f2', loans: 200 },
      { firm: 'f3', loans: 300 },
    ],
    tax: [
      { firm: 'f1', paid: 10, sector: 'x' },
      { firm: 'f3', paid: 30, sector: 'y' },
      { firm: 'f4', paid: 40, sector: 'x' },
    ],
  };
  const r = evaluateReference(scenario(creditScore), { firms: ['f1', 'f2', 'f4'], w: [0.5, 2], b: 1 }, rows);
  // f1: .5·100 + 2·10 + 1; f2: .5·200 + 0 + 1; f4: 0 + 2·40 + 1
  assert.deepEqual(r.metrics.score, { f1: 71, f2: 101, f4: 81 });
  assert.deepEqual(r.metrics.check, { f1: 90, f2: 200, f4: -40 });
  // bank rows at listed keys: f1 (tax sector x), f2 (no tax row: not counted); f3 not listed
  assert.deepEqual(r.metrics.loans_by_sector, { x: 100, y: 0 });
  assert.deepEqual(r.meta.missingKeys, { bank: 1, tax: 1 });
  assert.equal(r.meta.alignedKeys, 3);
});

test('derived: correlation, ratio, difference over internal metrics; release:false omitted', () => {
  const groups = ['a|0', 'a|1', 'a|2', 'b|0', 'b|1', 'b|2'];
  const rain = [1, 2, 3, 4, 5, 6];
  const level = [0.5, 1.5, 1, 2.5, 2, 3];
  const split = (g: string) => ({ district: g.split('|')[0], hour: g.split('|')[1] });
  const rows = {
    weather: groups.map((g, i) => ({ ...split(g), rain_mm: rain[i] })),
    // two readings per group whose mean is level[i]
    drains: groups.flatMap((g, i) => [
      { ...split(g), level: level[i] - 0.25 },
      { ...split(g), level: level[i] + 0.25 },
    ]),
  };
  const r = evaluateReference(scenario(drainage), {}, rows);
  assert.deepEqual(Object.keys(r.metrics), ['rain_vs_level', 'level_per_mm', 'gap']);
  // x = 1..6, y = .5,1.5,1,2.5,2,3: Σdxdy = 7.75, Σdx² = 17.5, Σdy² = 4.375 → r = 31/35
  close(r.metrics.rain_vs_level, 31 / 35);
  const ratio = r.metrics.level_per_mm as Record<string, number>;
  groups.forEach((g, i) => close(ratio[g], level[i] / rain[i]));
  const gap = r.metrics.gap as Record<string, number>;
  groups.forEach((g, i) => close(gap[g], rain[i] - level[i]));
  // an empty drains group, suppressed at minGroupSize 1: propagates to every derived metric
  const fewer = { ...rows, drains: rows.drains.filter((d) => !(d.district === 'b' && d.hour === '2')) };
  const s = evaluateReference(scenario(drainage), {}, fewer, { minGroupSize: 1 });
  assert.equal(s.metrics.rain_vs_level, null);
  assert.equal((s.metrics.level_per_mm as Record<string, unknown>)['b|2'], null);
  assert.equal((s.metrics.gap as Record<string, unknown>)['b|2'], null);
  close((s.metrics.gap as Record<string, number>)['a|0'], 0.5);
  assert.deepEqual(s.meta.suppressed, { rain_vs_level: ['*'], level_per_mm: ['b|2'], gap: ['b|2'] });
});

test('dot with a (private) parameter list, one value per group in group order', () => {
  const grid = [
    { hour: '0', kwh: 1 },
    { hour: '0', kwh: 2 },
    { hour: '1', kwh: 4 },
    { hour: '3', kwh: 5 },
  ];
  const r = evaluateReference(scenario(tariff), { tariff: [0.5, 1, 2, 3] }, { grid });
  // 3·0.5 + 4·1 + 0·2 + 5·3
  assert.equal(r.metrics.billed, 20.5);
  assert.deepEqual(r.metrics.consumption, { 0: 3, 1: 4, 2: 0, 3: 5 });
  assert.throws(() => evaluateReference(scenario(tariff), { tariff: [1, 2] }, { grid }), /\/tariff length_mismatch/);
});

test('dot of two metrics and ratio by zero', () => {
  const doc = {
    id: 'dot2',
    title: 'dot of metrics',
    inputs: {
      p: {
        columns: {
          g: { type: 'category', values: ['u', 'v'] },
          a: { type: 'number', min: 0, max: 9 },
          b: { type: 'number', min: 0, max: 9 },
        },
      },
    },
    metrics: [
      { name: 'sa', agg: 'sum', of: 'p.a', by: 'p.g' },
      { name: 'sb', agg: 'sum', of: 'p.b', by: 'p.g' },
      { name: 'd', agg: 'dot', of: ['sa', 'sb'] },
      { name: 'q', agg: 'ratio', of: ['sa', 'sb'] },
      { name: 'corr', agg: 'correlation', of: ['sa', 'sb'] },
    ],
  };
  const r = evaluateReference(
    scenario(doc),
    {},
    {
      p: [
        { g: 'u', a: 2, b: 3 },
        { g: 'u', a: 1, b: 0 },
        { g: 'v', a: 4, b: 0 },
      ],
    },
  );
  // sa = {u: 3, v: 4}, sb = {u: 3, v: 0}: dot 9; ratio u 1, v 4/0 → null (not suppressed)
  assert.equal(r.metrics.d, 9);
  assert.deepEqual(r.metrics.q, { u: 1, v: null });
  assert.equal(r.metrics.corr, -1);
  assert.deepEqual(r.meta.suppressed, {});
});

test('pearson: known values and degenerate cases', () => {
  close(pearson([1, 2, 3], [2, 4, 6]), 1);
  close(pearson([1, 2, 3], [3, 2, 1]), -1);
  assert.equal(pearson([1, 1, 1], [1, 2, 3]), null);
  assert.equal(pearson([1], [1]), null);
});

test('bad rows are refused without echoing values', () => {
  const s = scenario(waterExample);
  assert.throws(
    () =>
      evaluateReference(s, {}, { utility: [{ meter_id: 'm', district: 'shinan', m3: 'secret-7' as unknown as number, night_flow: 0 }] }),
    (e: Error) => e instanceof TypeError && !e.message.includes('secret') && /row 0 column "m3"/.test(e.message),
  );
  assert.throws(
    () => evaluateReference(s, {}, { utility: [{ meter_id: 'm', district: 'shinan', night_flow: 0 }] }),
    /column "m3" is missing/,
  );
  assert.throws(() => evaluateReference(s, {}, {}), /no rows for role "utility"/);
  const dup = [
    { firm: 'f1', loans: 1 },
    { firm: 'f1', loans: 2 },
  ];
  assert.throws(
    () => evaluateReference(scenario(creditScore), { firms: ['f1'], w: [1, 1], b: 0 }, { bank: dup, tax: [] }),
    /repeats an id/,
  );
});
