import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { usagePolicySchema } from './schema.js';

const valid = {
  consumers: ['*'], purposes: ['public-service'], aggregations: ['count', 'sum', 'mean'],
  rowLevel: false, minGroupSize: 5, epsilonBudget: 10, expiresAt: null,
};

describe('usagePolicySchema', () => {
  it('accepts the INTERFACES.md example policy', () => {
    assert.deepEqual(usagePolicySchema.parse(valid), valid);
  });
  it('accepts jobsPerDay, null budget and an expiry with offset', () => {
    const p = { ...valid, epsilonBudget: null, expiresAt: '2026-01-01T00:00:00+08:00', jobsPerDay: 10 };
    assert.deepEqual(usagePolicySchema.parse(p), p);
  });

  const bad: [string, Record<string, unknown>, string][] = [
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
      if (!r.success) assert.ok(r.error.issues.some((i) => i.path.join('.') === path), JSON.stringify(r.error.issues));
    });
  }
});
