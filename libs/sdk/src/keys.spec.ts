/**
 * Key requirements depend on a scenario's shape, never on its public parameter values: a scenario whose
 * public list parameter has no default (`"weights": "$params.w"`) still gets its keys planned, and they are the
 * ones the job with real values needs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Scenario, builtinScenario, compilePlan } from '#scenario';
import { keyRequirements, placeholderParams } from './keys.js';

const clone = (s: Scenario): Scenario => JSON.parse(JSON.stringify(s)) as Scenario;

test('a weightedSum with public "$params.w" weights: keys planned without values equal those for real values', () => {
  const s = clone(builtinScenario('invoice-double-financing'));
  const m = s.metrics.find((x) => x.agg === 'weightedSum') as unknown as { weights: unknown; of: string[] };
  const real = m.weights as number[];
  m.weights = '$params.w';
  s.params = { ...s.params, w: { type: 'number-list', description: 'public weights' } };
  assert.equal((placeholderParams(s).w as number[]).length, m.of.length);
  // the old placeholder (one weight) could not be planned: "4 refs need 4 weights, got 1"
  assert.equal(compilePlan(s, { ...placeholderParams(s), w: [1] }, {}).ok, false);
  const planned = keyRequirements(s);
  assert.deepEqual(planned, keyRequirements(s, { w: real }));
  assert.deepEqual(planned, keyRequirements(builtinScenario('invoice-double-financing')));
});

test('a dot with a public per-group list without a default gets one placeholder value per group', () => {
  const s = clone(builtinScenario('retail-consumption-index'));
  const p = s.params!.category_weights as { default?: number[] };
  const real = p.default!;
  delete p.default;
  assert.equal((placeholderParams(s).category_weights as number[]).length, real.length);
  assert.deepEqual(keyRequirements(s), keyRequirements(s, { category_weights: real }));
});
