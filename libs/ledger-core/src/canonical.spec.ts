import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalEventBytes, canonicalEventString } from './canonical.js';

test('RFC 8785 §3.2.4 example: sorted keys, ES number form, minimal string escapes', () => {
  // The input of RFC 8785 §3.2.2 written as JS values; the expected text is §3.2.4's output.
  const input = {
    // The RFC's literal has more digits than a double holds; that rounding is what it tests.
    // eslint-disable-next-line no-loss-of-precision
    numbers: [333333333.33333329, 1e30, 4.5, 2e-3, 0.000000000000000000000000001],
    string: '\u20ac$\u000f\nA\'B"\\\\"/',
    literals: [null, true, false],
  };
  assert.equal(
    canonicalEventString(input),
    '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
  );
});

test('keys sort by UTF-16 code units (RFC 8785 §3.2.3), nested too', () => {
  const text = canonicalEventString({ '\u20ac': 1, '\r': 2, '\ud83d\ude00': 3, '1': 4, a: { b: 1, a: [{ z: 0, y: -0 }] } });
  assert.equal(text, '{"\\r":2,"1":4,"a":{"a":[{"y":0,"z":0}],"b":1},"€":1,"😀":3}');
  assert.deepEqual(canonicalEventBytes({ a: 'é' }), new TextEncoder().encode('{"a":"é"}'));
});

test('values without an RFC 8785 form are refused', () => {
  assert.throws(() => canonicalEventString(undefined), /undefined is not a JSON value/);
  assert.throws(() => canonicalEventString({ x: Number.NaN }), /NaN/);
  assert.throws(() => canonicalEventString({ x: Infinity }), /Infinity/);
  assert.throws(() => canonicalEventString({ x: '\ud800' }), /surrogate/i);
  assert.throws(() => canonicalEventString({ x: 1n }), TypeError);
});
