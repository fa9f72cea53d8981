import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateParams } from './params.js';
import { validateBindingSchema } from './binding.js';
import { validateScenario } from './scenario.js';
import { creditScore, evCharging, tariff, waterExample } from './examples.fixture.js';
import type { Scenario } from '../types.js';

function scenario(doc: unknown): Scenario {
  const r = validateScenario(doc);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.scenario;
}
const codes = (r: { ok: boolean; errors?: { path: string; code: string }[] }) => (r.errors ?? []).map((e) => `${e.path} ${e.code}`);

test('validateParams: defaults filled, types, category values, implied lengths', () => {
  const ev = scenario(evCharging);
  const ok = validateParams(ev, { onlyDistrict: 'b' });
  assert.deepEqual(ok, { ok: true, values: { minKwh: 0, onlyDistrict: 'b' } });
  assert.deepEqual(codes(validateParams(ev, {}) as never), ['/onlyDistrict required']);
  assert.deepEqual(codes(validateParams(ev, { onlyDistrict: 'c', minKwh: '3', extra: 1 }) as never), [
    '/extra unknown_param',
    '/minKwh type',
    '/onlyDistrict unknown_category_value',
  ]);
  const t = scenario(tariff);
  assert.equal(validateParams(t, { tariff: [1, 2, 3, 4] }).ok, true);
  assert.deepEqual(codes(validateParams(t, { tariff: [1, 2, 3] }) as never), ['/tariff length_mismatch']);
  assert.deepEqual(codes(validateParams(t, { tariff: [1, 'x', 3, 4] }) as never), ['/tariff/1 type']);
  const c = scenario(creditScore);
  assert.equal(validateParams(c, { firms: ['a', 'b'], w: [1, 2], b: 0 }).ok, true);
  assert.deepEqual(codes(validateParams(c, { firms: ['a', 'a'], w: [1, 2, 3], b: 0 }) as never), [
    '/firms/1 duplicate',
    '/w length_mismatch',
  ]);
  assert.deepEqual(codes(validateParams(c, { firms: [], w: [1, 2], b: 0 }) as never), ['/firms empty']);
  assert.deepEqual(codes(validateParams(c, 'nope') as never), [' type']);
});

test('validateParams: private values as ciphertext ids at the broker', () => {
  const c = scenario(creditScore);
  assert.equal(validateParams(c, { firms: ['a'], w: 'ct-123', b: 1 }, { privateValues: 'encrypted' }).ok, true);
  assert.deepEqual(codes(validateParams(c, { firms: ['a'], w: [1, 2], b: 1 }, { privateValues: 'encrypted' }) as never), ['/w type']);
  assert.deepEqual(codes(validateParams(c, { firms: ['a'], w: 'ct-123', b: 1 }) as never), ['/w type']);
});

test('validateParams: a category parameter must be a value of every column it is compared with', () => {
  const d = structuredClone(waterExample) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  d.params = { d: { type: 'category' } };
  d.metrics[3].where = { eq: ['utility.district', '$params.d'] };
  const s = scenario(d);
  assert.equal(validateParams(s, { d: 'shinan' }).ok, true);
  assert.deepEqual(codes(validateParams(s, { d: 'huangdao' }) as never), ['/d unknown_category_value']);
});

test('validateBindingSchema: names, types, category values, bounds', () => {
  const s = scenario(waterExample);
  const good = {
    meter_id: { type: 'id' },
    district: { type: 'category', values: ['shinan', 'laoshan'] },
    m3: { type: 'integer', min: 0, max: 80 },
    night_flow: { type: 'number', min: 0, max: 1 },
    extra: { type: 'number', min: 0, max: 1 },
  };
  assert.deepEqual(validateBindingSchema(s, 'utility', good), []);
  const bad = {
    meter_id: { type: 'category', values: ['x'] },
    district: { type: 'category', values: ['shinan', 'jimo'] },
    m3: { type: 'number', min: 100, max: 200 },
  };
  assert.deepEqual(
    validateBindingSchema(s, 'utility', bad).map((e) => `${e.path} ${e.code}`),
    [
      '/columns/meter_id/type type_mismatch',
      '/columns/district/values/1 unknown_category_value',
      '/columns/m3 bad_value',
      '/columns/night_flow unknown_column',
    ],
  );
  const ev = scenario(evCharging);
  assert.deepEqual(
    validateBindingSchema(ev, 'op3', {
      district: { type: 'category', values: ['a'] },
      hour: { type: 'category', values: ['0'] },
      kwh: { type: 'number', min: 0, max: 1 },
      power: { type: 'integer', min: 0, max: 1 },
    }).map((e) => e.code),
    ['type_mismatch'],
  );
  assert.deepEqual(
    validateBindingSchema(s, 'nobody', good).map((e) => e.code),
    ['unknown_role'],
  );
  assert.deepEqual(
    validateBindingSchema(s, 'utility', null).map((e) => e.code),
    ['type'],
  );
});
