import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compareResult, laplaceScales, noisyCompareOptions, selectionBands, withInternalMetrics } from './accuracy.js';
import { builtinScenario, defaultParams, generateRoleRows } from './catalog/index.js';
import { compilePlan } from './compiler/index.js';
import { evaluateReference } from './reference/index.js';
import type { MetricValue, Scenario } from './types.js';

const sut = compareResult;

const doc: Scenario = {
  id: 'acc',
  title: 'accuracy',
  inputs: {
    a: { columns: { d: { type: 'category', values: ['x', 'y'] }, v: { type: 'number', min: 0, max: 1e6 } } },
  },
  metrics: [
    { name: 'n', agg: 'count', role: 'a', by: 'a.d' },
    { name: 'total', agg: 'sum', of: 'a.v' },
    { name: 'mean', agg: 'mean', of: 'a.v', by: 'a.d' },
    { name: 'var', agg: 'variance', of: 'a.v' },
    { name: 'hist', agg: 'histogram', of: 'a.v', bins: [0, 10, 100], by: 'a.d' },
    { name: 'big', agg: 'sum', of: 'a.v', by: 'a.d', release: false },
    { name: 'small', agg: 'count', role: 'a', by: 'a.d', release: false },
    { name: 'gap', agg: 'difference', of: ['big', 'small'] },
  ],
};

const truth = (): Record<string, MetricValue> => ({
  n: { x: 10, y: null },
  total: 123456.789,
  mean: { x: 0.25, y: null },
  var: 5000,
  hist: { x: [3, 7], y: null },
  big: { x: 1e6, y: 2e6 },
  small: { x: 10, y: 20 },
  gap: { x: 999990, y: 1999980 },
});

/** Drops internal metrics: what a result document holds. */
function released(m: Record<string, MetricValue>): Record<string, MetricValue> {
  const out = { ...m };
  delete out.big;
  delete out.small;
  return out;
}

function withValue(path: (m: Record<string, MetricValue>) => void): Record<string, MetricValue> {
  const m = released(truth());
  path(m);
  return m;
}

describe('compareResult', () => {
  it('accepts the reference itself with largest error 0', () => {
    const r = sut(doc, released(truth()), truth());
    assert.deepEqual(r.problems, []);
    assert.equal(r.ok, true);
    assert.equal(r.largestError, 0);
  });

  it('counts are exact: off by one fails', () => {
    const r = sut(
      doc,
      withValue((m) => {
        (m.n as Record<string, number>).x = 11;
      }),
      truth(),
    );
    assert.equal(r.ok, false);
    assert.equal(r.problems.length, 1);
    assert.equal(r.problems[0]!.metric, 'n');
    assert.equal(r.problems[0]!.group, 'x');
    assert.equal(r.problems[0]!.expected, 10);
    assert.equal(r.problems[0]!.actual, 11);
    assert.match(r.problems[0]!.message, /exact/);
  });

  it('histogram bins are exact', () => {
    const r = sut(
      doc,
      withValue((m) => {
        (m.hist as Record<string, number[]>).x = [3, 7.0000001];
      }),
      truth(),
    );
    assert.equal(r.ok, false);
    assert.equal(r.problems[0]!.group, 'x[1]');
  });

  it('sum: relative 1e-6 passes below, fails above', () => {
    const ok = sut(
      doc,
      withValue((m) => {
        m.total = 123456.789 * (1 + 5e-7);
      }),
      truth(),
    );
    assert.equal(ok.ok, true);
    assert.ok(ok.largestError > 4e-7 && ok.largestError < 6e-7);
    const bad = sut(
      doc,
      withValue((m) => {
        m.total = 123456.789 * (1 + 2e-6);
      }),
      truth(),
    );
    assert.equal(bad.ok, false);
    assert.match(bad.problems[0]!.message, /relative 1e-6/);
  });

  it('mean near zero: absolute 1e-6', () => {
    assert.equal(
      sut(
        doc,
        withValue((m) => {
          (m.mean as Record<string, number>).x = 0.25 + 9e-7;
        }),
        truth(),
      ).ok,
      true,
    );
    assert.equal(
      sut(
        doc,
        withValue((m) => {
          (m.mean as Record<string, number>).x = 0.25 + 2e-6;
        }),
        truth(),
      ).ok,
      false,
    );
  });

  it('variance: 1e-4', () => {
    assert.equal(
      sut(
        doc,
        withValue((m) => {
          m.var = 5000 * (1 + 9e-5);
        }),
        truth(),
      ).ok,
      true,
    );
    assert.equal(
      sut(
        doc,
        withValue((m) => {
          m.var = 5000 * (1 + 2e-4);
        }),
        truth(),
      ).ok,
      false,
    );
  });

  it('difference: within 1e-6 of the larger operand (read from internal metrics of the reference)', () => {
    // |gap.x| ≈ 1e6 but the operand is 1e6 too; an error of 0.9 is within 1e-6 · 1e6 = 1
    assert.equal(
      sut(
        doc,
        withValue((m) => {
          (m.gap as Record<string, number>).x = 999990.9;
        }),
        truth(),
      ).ok,
      true,
    );
    assert.equal(
      sut(
        doc,
        withValue((m) => {
          (m.gap as Record<string, number>).x = 999991.5;
        }),
        truth(),
      ).ok,
      false,
    );
    // a difference much smaller than its operands may be off by 1e-6 of the operand, not of itself
    const small = { ...truth(), big: { x: 1e6 + 5, y: 2e6 }, small: { x: 1e6, y: 20 }, gap: { x: 5, y: 1999980 } };
    assert.equal(
      sut(
        doc,
        withValue((m) => {
          (m.gap as Record<string, number>).x = 5.5;
        }),
        small,
      ).ok,
      true,
    );
    // without the operands, |expected| stands in (stricter)
    const noOps = released(small);
    assert.equal(
      sut(
        doc,
        withValue((m) => {
          (m.gap as Record<string, number>).x = 5.5;
        }),
        noOps,
      ).ok,
      false,
    );
  });

  it('suppressed groups: null vs null; a value where null is expected fails, and vice versa', () => {
    const leak = sut(
      doc,
      withValue((m) => {
        (m.n as Record<string, number>).y = 4;
      }),
      truth(),
    );
    assert.equal(leak.ok, false);
    assert.match(leak.problems[0]!.message, /expected null/);
    const lost = sut(
      doc,
      withValue((m) => {
        (m.n as Record<string, number | null>).x = null;
      }),
      truth(),
    );
    assert.equal(lost.ok, false);
    assert.match(lost.problems[0]!.message, /got null/);
  });

  it('a suppressed histogram group written as null or as an array of nulls compares equal', () => {
    const r = sut(
      doc,
      withValue((m) => {
        (m.hist as Record<string, (number | null)[] | null>).y = [null, null];
      }),
      truth(),
    );
    assert.deepEqual(r.problems, []);
  });

  it('missing metric, missing group, extra group, internal metric in the result, unreadable shape', () => {
    const missing = withValue((m) => {
      delete m.total;
    });
    assert.match(sut(doc, missing, truth()).problems[0]!.message, /missing from the result/);
    const noGroup = withValue((m) => {
      delete (m.n as Record<string, number>).x;
    });
    assert.match(sut(doc, noGroup, truth()).problems[0]!.message, /group missing/);
    const extra = withValue((m) => {
      (m.n as Record<string, number>).z = 1;
    });
    assert.match(sut(doc, extra, truth()).problems[0]!.message, /not in the reference/);
    const internal = { ...released(truth()), big: { x: 1e6, y: 2e6 } };
    const r = sut(doc, internal, truth());
    assert.equal(r.ok, false);
    assert.match(r.problems[0]!.message, /internal metric/);
    assert.match(
      sut(
        doc,
        withValue((m) => {
          m.total = 'x' as unknown as number;
        }),
        truth(),
      ).problems[0]!.message,
      /shape/,
    );
    assert.match(
      sut(
        doc,
        withValue((m) => {
          m.total = Number.NaN;
        }),
        truth(),
      ).problems[0]!.message,
      /finite/,
    );
  });

  it('argument checks', () => {
    assert.throws(() => sut(null as unknown as Scenario, {}, {}), /compareResult: scenario/);
    assert.throws(() => sut(doc, released(truth()), { n: 1 }), /expected has no value for released metric total/);
    assert.throws(() => sut(doc, released(truth()), truth(), { noise: { n: -1 } }), /noise scale of n must be/);
  });
});

describe('compareResult with Laplace noise', () => {
  const noisy: Scenario = {
    ...doc,
    metrics: doc.metrics.filter((m) => ['n', 'total'].includes(m.name)),
    release: { noise: { mechanism: 'laplace', epsilon: 1 } },
  };
  const want = { n: { x: 10, y: null }, total: 123456.789 };

  it('accepts errors up to 40 scales (+0.5 rounding for counts), refuses beyond', () => {
    const noise = { n: 1, total: 1e6 };
    assert.equal(sut(noisy, { n: { x: 50, y: null }, total: 123456.789 + 4e7 - 1 }, want, { noise }).ok, true);
    const r = sut(noisy, { n: { x: 51, y: null }, total: 123456.789 + 4e7 + 1 }, want, { noise });
    assert.equal(r.ok, false);
    assert.deepEqual(
      r.problems.map((p) => p.metric),
      ['n', 'total'],
    );
    assert.match(r.problems[0]!.message, /Laplace/);
  });

  it('a noisy mean (sum/count): bounded by the propagated error when the group is large, anything when it is small', () => {
    const means: Scenario = { ...noisy, metrics: [{ name: 'm', agg: 'mean', of: 'a.v', by: 'a.d' }] };
    const noise = { m: { num: 10, den: 1 } };
    // C = 1000, mean 2: tol = (400 + 2·40.5) / (1000 − 40.5) ≈ 0.501
    const ref = { m: { x: 2, y: 3 }, ['m#rows']: { x: 1000, y: 30 } };
    assert.equal(sut(means, { m: { x: 2.5, y: 1e9 } }, ref, { noise }).ok, true);
    const r = sut(means, { m: { x: 2.51, y: null } }, ref, { noise });
    assert.equal(r.ok, false);
    assert.deepEqual(
      r.problems.map((p) => p.group),
      ['x'],
    );
    // a suppressed group stays null even when its size is unknown
    assert.equal(sut(means, { m: { x: 2, y: 5 } }, { m: { x: 2, y: null }, ['m#rows']: { x: 1000, y: null } }, { noise }).ok, false);
  });

  it('suppression is not noisy: null must stay null', () => {
    assert.equal(sut(noisy, { n: { x: 10, y: 3 }, total: 123456.789 }, want, { noise: { n: 1, total: 1 } }).ok, false);
  });

  it('a noisy scenario without a scale for a metric is a problem, not a pass', () => {
    const r = sut(noisy, { n: { x: 10, y: null }, total: 123456.789 }, want, { noise: { n: 1 } });
    assert.equal(r.ok, false);
    assert.match(r.problems[0]!.message, /no noise scale/);
  });
});

describe('compareResult with noisy small-group suppression', () => {
  const s = builtinScenario('smart-meter-differential-privacy');
  const r = compilePlan(s, {}, { rowCounts: { utility: 2000 } });
  assert.ok(r.ok);
  const plan = r.plan;
  const rows = { utility: generateRoleRows(s.id, 'utility', { rows: 2000, seed: 3 }) };
  const ref = evaluateReference(withInternalMetrics(s), {}, rows, { groupRows: true });
  const released = (m: Record<string, MetricValue>): Record<string, MetricValue> =>
    Object.fromEntries(Object.entries(m).filter(([k]) => s.metrics.some((x) => x.name === k && x.release !== false)));

  it('the plan carries one threshold τ = k + t at scale 1/ε; the reference reports each group’s rows', () => {
    const bands = selectionBands(plan);
    assert.equal(bands.length, 1);
    assert.equal(bands[0].scale, 1);
    assert.ok(bands[0].threshold > 5 + 19 && bands[0].threshold < 5 + 23, `τ ${bands[0].threshold}`);
    const meters = ref.metrics.meters as Record<string, number>;
    for (const [g, n] of Object.entries(meters)) assert.deepEqual(ref.meta.groupRows?.meters[g], [n]);
    assert.throws(() => noisyCompareOptions(plan, undefined), RangeError);
  });

  it('a group cut far above τ (|n − τ| > 40 scales) fails; near τ it is accepted', () => {
    const opts = noisyCompareOptions(plan, ref.meta.groupRows);
    const actual = released(structuredClone(ref.metrics));
    assert.deepEqual(compareResult(s, actual, ref.metrics, opts).problems, []);
    (actual.meters as Record<string, number | null>).shinan = null;
    const far = compareResult(s, actual, ref.metrics, opts);
    assert.equal(far.problems.length, 1);
    assert.equal(far.problems[0].message, 'expected a value, got null');
    // the same null when the group's count is within 40 scales of τ
    const tau = selectionBands(plan)[0].threshold;
    const near = structuredClone(ref.meta.groupRows ?? {});
    near.meters.shinan = [tau + 39];
    assert.deepEqual(compareResult(s, actual, ref.metrics, noisyCompareOptions(plan, near)).problems, []);
    near.meters.shinan = [tau + 41];
    assert.equal(compareResult(s, actual, ref.metrics, noisyCompareOptions(plan, near)).problems.length, 1);
    // without the selection options the exact rule applies
    assert.equal(compareResult(s, actual, ref.metrics, { noise: laplaceScales(plan) }).problems.length, 1);
  });
});

describe('laplaceScales', () => {
  it('reads sensitivity/epsilon from the compiled plan of the differential-privacy scenario', () => {
    const s = builtinScenario('smart-meter-differential-privacy');
    const r = compilePlan(s, {}, { rowCounts: { utility: 500 } });
    assert.ok(r.ok);
    const scales = laplaceScales(r.plan);
    // epsilon 1; counts have sensitivity 1; m3 is bounded by [0, 50]
    assert.deepEqual(Object.keys(scales).sort(), ['leaks', 'mean_m3', 'meters', 'total_m3']);
    assert.equal(scales.meters, 1);
    assert.equal(scales.leaks, 1);
    assert.equal(scales.total_m3, 50);
    // the mean is a noisy sum over a noisy count, each with ε/2
    assert.deepEqual(scales.mean_m3, { num: 100, den: 2 });
  });

  it('no noise, no scales', () => {
    const r = compilePlan(builtinScenario('water-district-consumption'), {}, { rowCounts: { utility: 500 } });
    assert.ok(r.ok);
    assert.deepEqual(laplaceScales(r.plan), {});
  });
});

describe('compareResult on catalog references', () => {
  for (const id of [
    'microgrid-renewable-balance',
    'household-tariff-audit',
    'invoice-double-financing',
    'industrial-capacity-utilization',
  ]) {
    it(`${id}: the reference agrees with itself and a perturbed value is caught`, () => {
      const s = builtinScenario(id);
      const counts = Object.fromEntries(Object.keys(s.inputs).map((r) => [r, 200]));
      const rows = Object.fromEntries(Object.keys(s.inputs).map((r) => [r, generateRoleRows(id, r, { rows: 200 })]));
      const params = defaultParams(id, counts);
      const full = evaluateReference(withInternalMetrics(s), params, rows).metrics;
      const pub = evaluateReference(s, params, rows).metrics;
      const r = sut(s, pub, full);
      assert.deepEqual(r.problems, []);
      // perturb the first non-null number of the first released metric by 1%, plus 1
      const copy = structuredClone(pub);
      const first = s.metrics.find((m) => m.release !== false)!.name;
      const bump = (v: unknown): unknown => {
        if (typeof v === 'number') return v * 1.01 + 1;
        if (Array.isArray(v)) {
          const i = v.findIndex((x) => x !== null);
          if (i >= 0) v[i] = bump(v[i]);
          return v;
        }
        if (v && typeof v === 'object') {
          const o = v as Record<string, unknown>;
          const k = Object.keys(o).find((x) => o[x] !== null);
          if (k !== undefined) o[k] = bump(o[k]);
          return o;
        }
        return v;
      };
      copy[first] = bump(copy[first]) as MetricValue;
      const bad = sut(s, copy, full);
      assert.equal(bad.ok, false, `${id}: perturbing ${first} went unnoticed`);
      assert.equal(bad.problems[0]!.metric, first);
    });
  }
});
