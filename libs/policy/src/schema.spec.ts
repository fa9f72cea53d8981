import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { usagePolicySchema } from './schema.js';
import { SCENARIO_HASH, scenarioHash } from './scenario-hash.js';

const valid = {
  consumers: ['*'],
  purposes: ['public-service'],
  aggregations: ['count', 'sum', 'mean'],
  rowLevel: false,
  minGroupSize: 5,
  epsilonBudget: 10,
  expiresAt: null,
};

describe('usagePolicySchema', () => {
  it('accepts the example policy of docs/datasets-and-policies.md', () => {
    assert.deepEqual(usagePolicySchema.parse(valid), valid);
  });
  it('accepts jobsPerDay, null budget and an expiry with offset', () => {
    const p = { ...valid, epsilonBudget: null, expiresAt: '2026-01-01T00:00:00+08:00', jobsPerDay: 10 };
    assert.deepEqual(usagePolicySchema.parse(p), p);
  });

  it('accepts the release policy fields, and null for each', () => {
    const p = {
      ...valid,
      noise: { required: true, maxEpsilonPerJob: 1 },
      minAlignedKeys: 10,
      scenarios: [{ id: 'district-water', version: 2 }, { hash: 'a'.repeat(64) }],
    };
    assert.deepEqual(usagePolicySchema.parse(p), p);
    const n = { ...valid, noise: null, scenarios: null, minAlignedKeys: null };
    assert.deepEqual(usagePolicySchema.parse(n), n);
    assert.deepEqual(usagePolicySchema.parse({ ...valid, noise: { required: false } }), { ...valid, noise: { required: false } });
  });

  const bad: [string, Record<string, unknown>, string][] = [
    ['noise without required', { ...valid, noise: { maxEpsilonPerJob: 1 } }, 'noise.required'],
    ['noise with an unknown key', { ...valid, noise: { required: true, epsilon: 1 } }, 'noise'],
    ['zero maxEpsilonPerJob', { ...valid, noise: { required: true, maxEpsilonPerJob: 0 } }, 'noise.maxEpsilonPerJob'],
    [
      'infinite maxEpsilonPerJob',
      { ...valid, noise: { required: true, maxEpsilonPerJob: Number.POSITIVE_INFINITY } },
      'noise.maxEpsilonPerJob',
    ],
    ['empty scenario allowlist', { ...valid, scenarios: [] }, 'scenarios'],
    ['scenario entry with neither id nor hash', { ...valid, scenarios: [{ version: 1 }] }, 'scenarios.0'],
    ['scenario entry with id but no version', { ...valid, scenarios: [{ id: 'x' }] }, 'scenarios.0'],
    ['scenario entry with both id and hash', { ...valid, scenarios: [{ id: 'x', version: 1, hash: 'a'.repeat(64) }] }, 'scenarios.0'],
    ['scenario hash not hex', { ...valid, scenarios: [{ hash: 'z'.repeat(64) }] }, 'scenarios.0.hash'],
    [
      'duplicate scenario entry',
      {
        ...valid,
        scenarios: [
          { id: 'x', version: 1 },
          { id: 'x', version: 1 },
        ],
      },
      'scenarios.1',
    ],
    ['zero minAlignedKeys', { ...valid, minAlignedKeys: 0 }, 'minAlignedKeys'],
    ['fractional minAlignedKeys', { ...valid, minAlignedKeys: 1.5 }, 'minAlignedKeys'],
    ['unknown key', { ...valid, rowlevel: true }, ''],
    ['missing rowLevel', { ...valid, rowLevel: undefined }, 'rowLevel'],
    ['empty consumers', { ...valid, consumers: [] }, 'consumers'],
    ['empty consumer string', { ...valid, consumers: [''] }, 'consumers.0'],
    ['unknown aggregation', { ...valid, aggregations: ['sum', 'median'] }, 'aggregations.1'],
    ['duplicate aggregation', { ...valid, aggregations: ['sum', 'sum'] }, 'aggregations.1'],
    ['fractional minGroupSize', { ...valid, minGroupSize: 2.5 }, 'minGroupSize'],
    ['zero minGroupSize', { ...valid, minGroupSize: 0 }, 'minGroupSize'],
    ['zero budget', { ...valid, epsilonBudget: 0 }, 'epsilonBudget'],
    ['infinite budget', { ...valid, epsilonBudget: Number.POSITIVE_INFINITY }, 'epsilonBudget'],
    ['expiry not ISO', { ...valid, expiresAt: '31/12/2025' }, 'expiresAt'],
    ['expiry missing (must be explicit null)', { ...valid, expiresAt: undefined }, 'expiresAt'],
    ['zero jobsPerDay', { ...valid, jobsPerDay: 0 }, 'jobsPerDay'],
  ];
  for (const [name, input, path] of bad) {
    it(`refuses ${name}`, () => {
      const r = usagePolicySchema.safeParse(input);
      assert.equal(r.success, false);
      if (!r.success)
        assert.ok(
          r.error.issues.some((i) => i.path.join('.') === path),
          JSON.stringify(r.error.issues),
        );
    });
  }
});

describe('scenarioHash', () => {
  it('is the SHA-256 of the canonical JSON: key order does not matter', () => {
    const a = scenarioHash({ id: 's', metrics: [{ name: 'n', agg: 'count' }], title: 'T' });
    const b = scenarioHash({ title: 'T', metrics: [{ agg: 'count', name: 'n' }], id: 's' });
    assert.equal(a, b);
    assert.match(a, SCENARIO_HASH);
    assert.notEqual(a, scenarioHash({ id: 's', metrics: [{ name: 'n', agg: 'sum' }], title: 'T' }));
    // {"a":1}
    assert.equal(scenarioHash({ a: 1 }), '015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862');
  });
});
