import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HeError } from './errors.js';
import {
  MAX_COEFF_BITS_128,
  MAX_DEPTH,
  ckksParamsForDepth,
  maxLevel,
  modulusLayout,
  paramsId,
  parseParamsId,
  slotCount,
  validateParams,
  type HeParams,
} from './params.js';
import { planRotation, rotationStepsForWidth } from './rotation.js';
import { loadSeal } from './seal.js';

const code = (c: string) => (e: unknown) => e instanceof HeError && e.code === c;

test('presets: N=8192 up to depth 2, N=16384 up to depth 7, then DEPTH_EXCEEDED', () => {
  assert.deepEqual(ckksParamsForDepth(0), { scheme: 'ckks', polyModulusDegree: 8192, coeffModulusBits: [33, 33, 60], scaleBits: 40 });
  assert.deepEqual(ckksParamsForDepth(2).coeffModulusBits, [33, 33, 40, 40, 60]);
  assert.equal(ckksParamsForDepth(2).polyModulusDegree, 8192);
  assert.equal(ckksParamsForDepth(3).polyModulusDegree, 16384);
  assert.equal(MAX_DEPTH, 7);
  assert.equal(
    ckksParamsForDepth(7).coeffModulusBits.reduce((s, b) => s + b, 0),
    406,
  );
  assert.throws(() => ckksParamsForDepth(8), code('DEPTH_EXCEEDED'));
  assert.throws(() => ckksParamsForDepth(-1), code('BAD_ARGUMENT'));
  assert.throws(() => ckksParamsForDepth(1.5), code('BAD_ARGUMENT'));
  for (let d = 0; d <= MAX_DEPTH; d++) {
    const p = ckksParamsForDepth(d);
    assert.equal(maxLevel(p), d);
    assert.deepEqual(modulusLayout(p), { basePrimes: 2, baseBits: 66, rescalePrimes: d });
    assert.ok(p.coeffModulusBits.reduce((s, b) => s + b, 0) <= MAX_COEFF_BITS_128[p.polyModulusDegree]);
  }
});

test('the 128-bit bounds match SEAL CoeffModulus.MaxBitCount', async () => {
  const seal = await loadSeal();
  assert.equal(seal.CoeffModulus.MaxBitCount(8192, seal.SecurityLevel.tc128), MAX_COEFF_BITS_128[8192]);
  assert.equal(seal.CoeffModulus.MaxBitCount(16384, seal.SecurityLevel.tc128), MAX_COEFF_BITS_128[16384]);
});

test('paramsId is stable and parses back', () => {
  assert.equal(paramsId(ckksParamsForDepth(2)), 'ckks-8192-33.33.40.40.60-s40');
  assert.equal(slotCount(ckksParamsForDepth(2)), 4096);
  assert.equal(slotCount(ckksParamsForDepth(5)), 8192);
  for (let d = 0; d <= MAX_DEPTH; d++) assert.deepEqual(parseParamsId(paramsId(ckksParamsForDepth(d))), ckksParamsForDepth(d));
  for (const bad of ['', 'ckks-4096-33.33.60-s40', 'bfv-8192-33.33.60-s40', 'ckks-8192-33.33.40.40.40.60-s40', 'ckks-8192-33.33.60-s40 ']) {
    assert.throws(() => parseParamsId(bad), code('CORRUPT'), bad);
  }
});

test('validateParams rejects what SEAL would reject or what breaks the scale design', () => {
  const ok = ckksParamsForDepth(1);
  const bad: [string, HeParams][] = [
    ['scheme', { ...ok, scheme: 'bfv' as 'ckks' }],
    ['degree', { ...ok, polyModulusDegree: 4096 as 8192 }],
    ['too many bits', { ...ok, coeffModulusBits: [60, 60, 60, 60] }],
    ['prime too large', { ...ok, coeffModulusBits: [61, 35, 60] }],
    ['not integer', { ...ok, coeffModulusBits: [30, 30.5, 60] }],
    ['special prime smaller', { ...ok, coeffModulusBits: [33, 33, 40, 35] }],
    ['no headroom', { ...ok, coeffModulusBits: [40, 40, 60] }],
    ['scale', { ...ok, scaleBits: 10 }],
    ['single prime', { ...ok, coeffModulusBits: [60] }],
  ];
  for (const [what, p] of bad) assert.throws(() => validateParams(p), code('BAD_PARAMS'), what);
  assert.doesNotThrow(() => validateParams({ scheme: 'ckks', polyModulusDegree: 8192, coeffModulusBits: [60, 40, 40, 60], scaleBits: 40 }));
});

test('rotation steps and plans', () => {
  assert.deepEqual(rotationStepsForWidth(1), []);
  assert.deepEqual(rotationStepsForWidth(16), [1, 2, 4, 8]);
  assert.equal(rotationStepsForWidth(4096).length, 12);
  assert.throws(() => rotationStepsForWidth(12), code('BAD_ARGUMENT'));
  assert.throws(() => rotationStepsForWidth(0), code('BAD_ARGUMENT'));
  const pow2 = new Set([1, 2, 4, 8, 16]);
  assert.deepEqual(planRotation(0, pow2, 4096), []);
  assert.deepEqual(planRotation(4096, pow2, 4096), []);
  assert.deepEqual(planRotation(8, pow2, 4096), [8]);
  assert.deepEqual(planRotation(13, pow2, 4096), [1, 4, 8]);
  assert.equal(planRotation(32, pow2, 4096), null);
  assert.equal(planRotation(-1, pow2, 4096), null); // would need 4095 = many powers up to 2048
  assert.deepEqual(planRotation(-3, new Set([-1, -2]), 4096), [-1, -2]);
  assert.deepEqual(planRotation(-5, new Set([-5]), 4096), [-5]);
});
