/**
 * The privacy unit (`release.privacyUnit`): validation codes and paths, the contribution bounding shared by the
 * provider's encoding and the reference, and the Laplace scales the compiler derives from the bounds.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Row, Scenario } from './types.js';
import { validateScenario } from './validate/index.js';
import { boundContributions, sameBounding, unitBounding, unitRowBound, type UnitBounding } from './privacy-unit.js';
import { compilePlan } from './compiler/compile.js';
import { encodeRole } from './compiler/encode.js';
import { SlotEngine } from './compiler/slot-engine.testkit.js';
import { compareMetrics, prng, runPlan } from './compiler/testkit.js';
import { evaluateReference } from './reference/index.js';
import { laplaceScales } from './accuracy.js';
import { scenarioJsonSchema, scenarioDocumentSchema } from './schema/index.js';

const CATS = ['a', 'b', 'c'];
const UNIT = { on: { p: 'pid' }, maxGroups: 2, maxRowsPerGroup: 3 };

function doc(release: Record<string, unknown> = {}, metrics?: unknown[]): Record<string, unknown> {
  return {
    id: 'unit-test',
    title: 'Unit test',
    inputs: {
      p: {
        columns: {
          pid: { type: 'id' },
          other: { type: 'id' },
          cat: { type: 'category', values: CATS },
          x: { type: 'number', min: 0, max: 1000 },
        },
      },
    },
    metrics: metrics ?? [
      { name: 'n', agg: 'count', role: 'p', by: 'p.cat' },
      { name: 'total', agg: 'sum', of: 'p.x', by: 'p.cat' },
    ],
    release,
  };
}

function valid(d: unknown): Scenario {
  const v = validateScenario(d);
  if (!v.ok) throw new Error(JSON.stringify(v.errors));
  return v.scenario;
}

function issues(d: unknown): { path: string; code: string }[] {
  const v = validateScenario(d);
  return v.ok ? [] : v.errors.map((e) => ({ path: e.path, code: e.code }));
}

/** 30 people with one row each (10 per category), then a heavy unit "w" with 40 rows over every category. */
function rowsWithHeavyUnit(): Row[] {
  const rows: Row[] = Array.from({ length: 30 }, (_, i) => ({ pid: `p${i}`, other: 'o', cat: CATS[i % 3], x: (i * 37) % 1000 }));
  for (let i = 0; i < 40; i++) rows.push({ pid: 'w', other: 'o', cat: CATS[(i >> 1) % 3], x: 900 + i });
  return rows;
}

describe('privacy unit: validation', () => {
  it('accepts a unit on every role, and the JSON schema agrees', () => {
    const d = doc({ privacyUnit: UNIT });
    assert.deepEqual(issues(d), []);
    assert.ok(scenarioDocumentSchema.safeParse(d).success);
    const release = (scenarioJsonSchema.properties as Record<string, { properties?: Record<string, unknown> }>).release;
    assert.ok(release.properties && 'privacyUnit' in release.properties);
  });

  const cases: [string, Record<string, unknown>, { path: string; code: string }[]][] = [
    ['not an object', { privacyUnit: 'pid' }, [{ path: '/release/privacyUnit', code: 'type' }]],
    [
      'missing fields',
      { privacyUnit: {} },
      [
        { path: '/release/privacyUnit', code: 'required' },
        { path: '/release/privacyUnit', code: 'required' },
        { path: '/release/privacyUnit', code: 'required' },
      ],
    ],
    ['unknown field', { privacyUnit: { ...UNIT, max: 1 } }, [{ path: '/release/privacyUnit/max', code: 'unknown_field' }]],
    [
      'unknown role',
      { privacyUnit: { ...UNIT, on: { p: 'pid', q: 'pid' } } },
      [{ path: '/release/privacyUnit/on/q', code: 'unknown_role' }],
    ],
    ['unknown column', { privacyUnit: { ...UNIT, on: { p: 'person' } } }, [{ path: '/release/privacyUnit/on/p', code: 'unknown_column' }]],
    ['not an id column', { privacyUnit: { ...UNIT, on: { p: 'cat' } } }, [{ path: '/release/privacyUnit/on/p', code: 'not_id' }]],
    ['column not a string', { privacyUnit: { ...UNIT, on: { p: 3 } } }, [{ path: '/release/privacyUnit/on/p', code: 'type' }]],
    ['role left out', { privacyUnit: { ...UNIT, on: {} } }, [{ path: '/release/privacyUnit/on', code: 'unit_role' }]],
    ['maxGroups 0', { privacyUnit: { ...UNIT, maxGroups: 0 } }, [{ path: '/release/privacyUnit/maxGroups', code: 'bad_value' }]],
    [
      'maxRowsPerGroup above the limit',
      { privacyUnit: { ...UNIT, maxRowsPerGroup: 1_000_001 } },
      [{ path: '/release/privacyUnit/maxRowsPerGroup', code: 'bad_value' }],
    ],
    ['fractional bound', { privacyUnit: { ...UNIT, maxGroups: 1.5 } }, [{ path: '/release/privacyUnit/maxGroups', code: 'not_integer' }]],
    [
      'bound as a string',
      { privacyUnit: { ...UNIT, maxRowsPerGroup: '3' } },
      [{ path: '/release/privacyUnit/maxRowsPerGroup', code: 'type' }],
    ],
  ];
  for (const [what, release, want] of cases) {
    it(`refuses ${what}`, () => {
      assert.deepEqual(issues(doc(release)), want);
      // the JSON schema refuses a wrong shape too (roles and columns need the whole document)
      if (['type', 'required', 'unknown_field', 'bad_value', 'not_integer'].includes(want[0].code))
        assert.equal(scenarioDocumentSchema.safeParse(doc(release)).success, false);
    });
  }

  it('an aligned role must take its align.on column as its unit (unit_align)', () => {
    const aligned = {
      id: 'unit-aligned',
      title: 'T',
      inputs: {
        a: { columns: { k: { type: 'id' }, person: { type: 'id' }, x: { type: 'number', min: 0, max: 1 } } },
        b: { columns: { k: { type: 'id' }, y: { type: 'number', min: 0, max: 1 } } },
      },
      align: { on: { a: 'k', b: 'k' } },
      metrics: [{ name: 's', agg: 'sumProduct', of: ['a.x', 'b.y'] }],
      release: { privacyUnit: { on: { a: 'person', b: 'k' }, maxGroups: 1, maxRowsPerGroup: 1 } },
    };
    assert.deepEqual(issues(aligned), [{ path: '/release/privacyUnit/on/a', code: 'unit_align' }]);
    assert.deepEqual(issues({ ...aligned, release: { privacyUnit: { on: { a: 'k', b: 'k' }, maxGroups: 1, maxRowsPerGroup: 1 } } }), []);
  });
});

describe('privacy unit: contribution bounding', () => {
  const bounding: UnitBounding = { column: 'pid', maxGroups: 2, maxRowsPerGroup: 2, groupBy: [{ column: 'cat', values: CATS }] };

  it('keeps each unit’s first rows in input order: at most maxRowsPerGroup per group in its first maxGroups groups', () => {
    const rows: Row[] = [
      { pid: 'u', cat: 'a', x: 1 },
      { pid: 'v', cat: 'c', x: 2 },
      { pid: 'u', cat: 'b', x: 3 },
      { pid: 'u', cat: 'a', x: 4 },
      { pid: 'u', cat: 'a', x: 5 }, // third row of u in a: dropped
      { pid: 'u', cat: 'c', x: 6 }, // third group of u: dropped
      { pid: 'u', cat: 'b', x: 7 },
      { pid: 'v', cat: 'c', x: 8 },
      { pid: 'v', cat: 'zz', x: 9 }, // outside the list: a cell of its own, v's second
      { pid: 'v', cat: 'a', x: 10 }, // v's third group: dropped
    ];
    const { kept, dropped } = boundContributions(rows, bounding);
    assert.deepEqual(
      kept.map((r) => r.x),
      [1, 2, 3, 4, 7, 8, 9],
    );
    assert.equal(dropped, 3);
  });

  it('reads ids as strings (42 and "42" are one unit); a role grouped by nothing is one group', () => {
    const rows: Row[] = [
      { pid: 42, cat: 'a', x: 1 },
      { pid: '42', cat: 'b', x: 2 },
      { pid: 42, cat: 'c', x: 3 },
    ];
    const { kept, dropped } = boundContributions(rows, { ...bounding, groupBy: [], maxRowsPerGroup: 2 });
    assert.deepEqual(
      kept.map((r) => r.x),
      [1, 2],
    );
    assert.equal(dropped, 1);
    assert.throws(() => boundContributions([{ cat: 'a' }], bounding), /row 0 has no unit column pid/);
    assert.throws(() => boundContributions(rows, { ...bounding, maxGroups: 0 }), RangeError);
  });

  it('the partition is every category column the role’s stacked metrics group by; none without a unit or for an aligned role', () => {
    const s = valid(doc({ privacyUnit: UNIT }));
    assert.deepEqual(unitBounding(s, 'p'), { column: 'pid', maxGroups: 2, maxRowsPerGroup: 3, groupBy: [{ column: 'cat', values: CATS }] });
    assert.equal(unitRowBound(s, 'p'), 3 * 2);
    assert.equal(unitBounding(valid(doc()), 'p'), null);
    assert.equal(unitRowBound(valid(doc()), 'p'), 1);
    // grouped by nothing: one group, so a unit contributes maxRowsPerGroup rows whatever maxGroups says
    const flat = valid(doc({ privacyUnit: { ...UNIT, maxGroups: 5 } }, [{ name: 'n', agg: 'count', role: 'p' }]));
    assert.deepEqual(unitBounding(flat, 'p')?.groupBy, []);
    assert.equal(unitRowBound(flat, 'p'), 3);
    // maxGroups above the cells (3 values + "outside the list"): the cells bound it
    assert.equal(unitRowBound(valid(doc({ privacyUnit: { ...UNIT, maxGroups: 50 } })), 'p'), 3 * 4);
    const aligned = valid({
      id: 'unit-aligned',
      title: 'T',
      inputs: { a: { columns: { k: { type: 'id' }, x: { type: 'number', min: 0, max: 1 } } }, b: { columns: { k: { type: 'id' } } } },
      align: { on: { a: 'k', b: 'k' } },
      metrics: [{ name: 's', agg: 'sum', of: 'a.x' }],
      release: { privacyUnit: { on: { a: 'k', b: 'k' }, maxGroups: 4, maxRowsPerGroup: 4 } },
    });
    assert.equal(unitBounding(aligned, 'a'), null);
    assert.equal(unitRowBound(aligned, 'a'), 1);
    assert.ok(sameBounding(unitBounding(s, 'p'), JSON.parse(JSON.stringify(unitBounding(s, 'p')))));
    assert.ok(!sameBounding(unitBounding(s, 'p'), { ...(unitBounding(s, 'p') as UnitBounding), maxRowsPerGroup: 4 }));
    assert.ok(!sameBounding(unitBounding(s, 'p'), null));
    assert.ok(sameBounding(undefined, null));
  });

  it('a multi-role metric groups each role by its own same-named column', () => {
    const s = valid({
      id: 'unit-list',
      title: 'T',
      inputs: {
        a: { columns: { pid: { type: 'id' }, cat: { type: 'category', values: CATS }, x: { type: 'number', min: 0, max: 10 } } },
        b: { columns: { id2: { type: 'id' }, cat: { type: 'category', values: CATS }, x: { type: 'number', min: 0, max: 10 } } },
      },
      metrics: [{ name: 's', agg: 'sum', of: ['a.x', 'b.x'], by: 'a.cat' }],
      release: {
        noise: { mechanism: 'laplace', epsilon: 1 },
        privacyUnit: { on: { a: 'pid', b: 'id2' }, maxGroups: 1, maxRowsPerGroup: 2 },
      },
    });
    assert.deepEqual(unitBounding(s, 'b'), { column: 'id2', maxGroups: 1, maxRowsPerGroup: 2, groupBy: [{ column: 'cat', values: CATS }] });
    // the same unit may hold rows in both roles: L_a + L_b = 2 + 2 rows of at most 10
    const c = compilePlan(s, {}, { rowCounts: { a: 100, b: 100 } });
    assert.ok(c.ok, JSON.stringify(!c.ok && c.errors));
    assert.equal(laplaceScales(c.plan).s, 4 * 10);
    assert.deepEqual(c.plan.roles.b.unit, unitBounding(s, 'b'));
    assert.ok(c.plan.roles.b.columns.includes('id2'));
  });
});

describe('privacy unit: provider encoding', () => {
  it('encodes and counts only the kept rows, reports the dropped total, and matches encoding the bounded rows without a unit', () => {
    const s = valid(doc({ minGroupSize: 1, privacyUnit: UNIT }));
    const plain = valid(doc({ minGroupSize: 1 }));
    const rows = rowsWithHeavyUnit();
    const withUnit = compilePlan(s, {}, { rowCounts: { p: rows.length } });
    const without = compilePlan(plain, {}, { rowCounts: { p: rows.length } });
    assert.ok(withUnit.ok && without.ok);
    assert.deepEqual(withUnit.plan.roles.p.unit, unitBounding(s, 'p'));
    assert.ok(withUnit.plan.roles.p.columns.includes('pid'), 'the provider reads the unit column');
    assert.equal(without.plan.roles.p.unit, undefined);
    const enc = encodeRole(withUnit.plan, 'p', rows);
    // w keeps 3 rows in each of its first two categories (a, b): 6 of its 40
    assert.equal(enc.boundedRows, 34);
    assert.equal(enc.rows, 36);
    const kept = boundContributions(rows, unitBounding(s, 'p') as UnitBounding).kept;
    const ref = encodeRole(without.plan, 'p', kept);
    assert.equal(ref.boundedRows, 0);
    assert.deepEqual(enc.groupCounts, ref.groupCounts);
    assert.deepEqual(Object.values(enc.groupCounts)[0], [13, 13, 10]);
    assert.deepEqual(
      enc.features.map((f) => f.chunks.map((c) => [...c])),
      ref.features.map((f) => f.chunks.map((c) => [...c])),
    );
    assert.deepEqual(Object.values(encodeRole(without.plan, 'p', rows).groupCounts)[0], [24, 24, 22], 'unbounded: w counts 40 times');
  });

  it('the slot-model job path gives the bounded reference, not the unbounded one', () => {
    const s = valid(
      doc({ minGroupSize: 1, privacyUnit: UNIT }, [
        { name: 'n', agg: 'count', role: 'p', by: 'p.cat' },
        { name: 'total', agg: 'sum', of: 'p.x', by: 'p.cat' },
        { name: 'avg', agg: 'mean', of: 'p.x', by: 'p.cat' },
        { name: 'h', agg: 'histogram', of: 'p.x', bins: [0, 500, 1000] },
      ]),
    );
    const rows = { p: rowsWithHeavyUnit() };
    const compiled = compilePlan(s, {}, { rowCounts: { p: 70 } });
    assert.ok(compiled.ok);
    const engine = SlotEngine.forPlan(compiled.plan, 1e-12, prng(7));
    const out = runPlan(engine, s, {}, rows, { pk: null, sk: null, ctx: { rowCounts: { p: 70 } } });
    const want = evaluateReference(s, {}, rows);
    assert.deepEqual(want.meta.boundedRows, { p: 34 });
    assert.deepEqual(want.meta.rows, { p: 36 });
    assert.deepEqual(compareMetrics(s, out.result.metrics, want.metrics), []);
    assert.deepEqual(out.result.metrics.n, { a: 13, b: 13, c: 10 });
    assert.deepEqual(out.result.meta.rows, { p: 36 });
    const unbounded = evaluateReference(valid(doc({ minGroupSize: 1 }, s.metrics)), {}, rows);
    assert.deepEqual(unbounded.metrics.n, { a: 24, b: 24, c: 22 });
    assert.equal(unbounded.meta.boundedRows, undefined);
  });
});

describe('privacy unit: Laplace scales', () => {
  const eps = 0.5;
  const scales = (release: Record<string, unknown>, metrics?: unknown[]) => {
    const c = compilePlan(
      valid(doc({ noise: { mechanism: 'laplace', epsilon: eps }, ...release }, metrics)),
      {},
      { rowCounts: { p: 1000 } },
    );
    assert.ok(c.ok, JSON.stringify(!c.ok && c.errors));
    return laplaceScales(c.plan);
  };
  const metrics = [
    { name: 'n', agg: 'count', role: 'p', by: 'p.cat' },
    { name: 'total', agg: 'sum', of: 'p.x', by: 'p.cat' },
    { name: 'h', agg: 'histogram', of: 'p.x', bins: [0, 500, 1000], by: 'p.cat' },
    { name: 'avg', agg: 'mean', of: 'p.x', by: 'p.cat' },
    { name: 'd', agg: 'difference', of: ['n', 'n2'] },
    { name: 'n2', agg: 'count', role: 'p', by: 'p.cat', where: { gt: ['p.x', 10] } },
  ];

  it('without a unit: one row (count 1/ε, sum B/ε): unchanged', () => {
    const b = scales({}, metrics);
    assert.equal(b.n, 1 / eps);
    assert.equal(b.total, 1000 / eps);
    assert.equal(b.h, 1 / eps);
    assert.deepEqual(b.avg, { num: 1000 / (eps / 2), den: 1 / (eps / 2) });
    assert.equal(b.d, 2 / eps);
  });

  it('with a unit: L1 = maxGroups·maxRowsPerGroup rows in every group’s scale (count L/ε, sum L·B/ε)', () => {
    const L = UNIT.maxGroups * UNIT.maxRowsPerGroup;
    const b = scales({ privacyUnit: UNIT }, metrics);
    assert.equal(b.n, L / eps);
    assert.equal(b.total, (L * 1000) / eps);
    assert.equal(b.h, L / eps);
    assert.deepEqual(b.avg, { num: (L * 1000) / (eps / 2), den: L / (eps / 2) });
    assert.equal(b.d, (2 * L) / eps);
    // one group only (no by): maxRowsPerGroup, whatever maxGroups is
    const flat = scales({ privacyUnit: { ...UNIT, maxGroups: 9 } }, [{ name: 'n', agg: 'count', role: 'p' }]);
    assert.equal(flat.n, UNIT.maxRowsPerGroup / eps);
  });
});
