/**
 * Typed errors: every bad input is an HeError with a precise code, never a raw SEAL exception or a
 * WebAssembly abort, and the engine keeps working afterwards (checked at the end).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { HeEngine } from './engine.js';
import { HeError, type HeErrorCode } from './errors.js';
import { decodePublicKeyset, encodePublicKeyset } from './keyset.js';
import { ckksParamsForDepth } from './params.js';
import { fixture, rng, type Fixture } from './test-fixtures.js';

const code = (c: HeErrorCode) => (e: unknown) => e instanceof HeError && e.code === c;

let f: Fixture; // depth 1, steps [1, 2], relin
let g: Fixture; // depth 1, another keyset on another engine, no relin, no steps
let d2: Fixture; // depth 2 (other parameters)
before(async () => {
  f = await fixture(1, { steps: [1, 2], relin: true });
  g = await fixture(1, { steps: [], relin: false });
  d2 = await fixture(2, { steps: [], relin: false });
});
after(() => {
  for (const x of [f, g, d2]) x.engine.dispose();
});

test('wrong parameters: BAD_PARAMS at creation, PARAMS_MISMATCH across engines', async () => {
  await assert.rejects(
    HeEngine.create({ scheme: 'ckks', polyModulusDegree: 8192, coeffModulusBits: [60, 60, 60, 60], scaleBits: 40 }),
    code('BAD_PARAMS'),
  );
  await assert.rejects(HeEngine.create({ ...ckksParamsForDepth(1), polyModulusDegree: 2048 as 8192 }), code('BAD_PARAMS'));
  const { engine, pk } = f;
  const ct = engine.encrypt(pk, [1, 2, 3]);
  const bytes = engine.save(ct);
  assert.throws(() => d2.engine.load(bytes), code('PARAMS_MISMATCH'));
  assert.throws(() => d2.engine.usePublicKeyset(f.keys.publicKeyset), code('PARAMS_MISMATCH'));
  assert.throws(() => d2.engine.useSecretKeyset(f.keys), code('PARAMS_MISMATCH'));
  assert.throws(() => d2.engine.add(ct, ct), code('PARAMS_MISMATCH'));
  engine.free(ct);
});

test('truncated ciphertext bytes are CORRUPT at every cut, never a SEAL abort', () => {
  const { engine, pk } = f;
  const bytes = engine.scope(() => engine.save(engine.encrypt(pk, [1, 2, 3])));
  const cuts = [0, 1, 4, 5, 6, 30, 60, 80, 200, 1000, bytes.length >> 1, bytes.length - 33, bytes.length - 32, bytes.length - 1];
  for (const cut of cuts) assert.throws(() => engine.load(bytes.subarray(0, cut)), code('CORRUPT'), `cut ${cut}`);
  assert.throws(() => engine.load(new Uint8Array([...bytes, 0])), code('CORRUPT'));
});

test('random bytes and bit flips are CORRUPT', () => {
  const { engine, pk } = f;
  const bytes = engine.scope(() => engine.save(engine.encrypt(pk, [1, 2, 3])));
  const r = rng(42);
  for (let i = 0; i < 30; i++) {
    const b = bytes.slice();
    const at = Math.floor(r() * b.length);
    b[at]! ^= 1 << Math.floor(r() * 8);
    assert.throws(() => engine.load(b), code('CORRUPT'), `flip at ${at}`);
  }
  for (let i = 0; i < 30; i++) {
    const b = Uint8Array.from({ length: Math.floor(r() * 5000) }, () => Math.floor(r() * 256));
    if (i % 2 === 0 && b.length > 5) b.set([0x48, 0x45, 0x43, 0x54, 1]);
    assert.throws(() => engine.load(b), code('CORRUPT'));
  }
});

test('a well-framed blob whose SEAL payload is wrong is still CORRUPT (checksum recomputed)', async () => {
  const { engine, pk } = f;
  const bytes = engine.scope(() => engine.save(engine.encrypt(pk, [1, 2, 3])));
  const { createHash } = await import('node:crypto');
  const reseal = (body: Uint8Array) => new Uint8Array([...body, ...createHash('sha256').update(body).digest()]);
  const body = bytes.subarray(0, bytes.length - 32);
  // Header level says 1 while the SEAL object is at level 0.
  const idLen = body[5]! | (body[6]! << 8);
  const levelAt = 7 + idLen + 32;
  const wrongLevel = body.slice();
  wrongLevel[levelAt] = 1;
  assert.throws(() => engine.load(reseal(wrongLevel)), code('CORRUPT'));
  // Garbage coefficients inside the SEAL object (values >= the modulus).
  const garbage = body.slice();
  garbage.fill(0xff, body.length - 5000, body.length - 100);
  assert.throws(() => engine.load(reseal(garbage)), code('CORRUPT'));
  // Shortened SEAL object with a consistent outer frame.
  const chunkLenAt = levelAt + 1 + 8 + 4 + 4 + 1;
  const short = body.slice(0, body.length - 1000);
  new DataView(short.buffer).setUint32(chunkLenAt, short.length - chunkLenAt - 4, true);
  assert.throws(() => engine.load(reseal(short)), code('CORRUPT'));
});

test('keyset / ciphertext mismatch: KEYSET_MISMATCH', () => {
  const a = f.engine.encrypt(f.pk, [1, 2, 3]);
  const bytes = f.engine.save(a);
  // Same parameters, other keyset: the ciphertext remembers its keyset's fingerprint.
  const foreign = g.engine.load(bytes);
  assert.throws(() => g.engine.decrypt(g.sk, foreign), code('KEYSET_MISMATCH'));
  const own = g.engine.encrypt(g.pk, [1]);
  assert.throws(() => g.engine.add(foreign, own), code('KEYSET_MISMATCH'));
  g.engine.usePublicKeyset(f.keys.publicKeyset);
  assert.throws(() => g.engine.rotate(own, 1, g.engine.usePublicKeyset(f.keys.publicKeyset)), code('KEYSET_MISMATCH'));
  // A secret key paired with someone else's public keyset is detected when loaded.
  assert.throws(() => g.engine.useSecretKeyset({ ...g.keys, publicKeyset: f.keys.publicKeyset }), code('KEYSET_MISMATCH'));
  // A keyset object whose fingerprint does not match its bytes.
  assert.throws(() => g.engine.usePublicKeyset({ ...f.keys.publicKeyset, fingerprint: g.keys.publicKeyset.fingerprint }), code('CORRUPT'));
  for (const c of [foreign, own]) g.engine.free(c);
  f.engine.free(a);
});

test('missing Galois step and missing relinearisation keys', () => {
  const { engine, pk } = f; // steps [1, 2]
  engine.scope(() => {
    const x = engine.encrypt(pk, [1, 2, 3, 4]);
    assert.doesNotThrow(() => engine.rotate(x, 3, pk)); // 1 + 2
    assert.throws(() => engine.rotate(x, 4, pk), code('MISSING_GALOIS_STEP'));
    assert.throws(() => engine.rotate(x, -1, pk), code('MISSING_GALOIS_STEP'));
    assert.throws(() => engine.sumSlots(x, 8, pk), code('MISSING_GALOIS_STEP'));
    assert.throws(() => engine.sumSlots(x, 3, pk), code('BAD_ARGUMENT'));
    const y = g.engine.encrypt(g.pk, [1]);
    assert.throws(() => g.engine.rotate(y, 1, g.pk), code('MISSING_GALOIS_STEP'));
    assert.throws(() => g.engine.multiply(y, y, g.pk), code('MISSING_RELIN_KEYS'));
    g.engine.free(y);
  });
});

test('level exhaustion and bad arguments', () => {
  const { engine, pk } = f; // depth 1
  engine.scope(() => {
    const x = engine.encrypt(pk, [0.5]);
    const once = engine.multiplyConst(x, 2);
    assert.throws(() => engine.multiplyConst(once, 2), code('LEVEL_EXHAUSTED'));
    assert.throws(() => engine.multiply(once, x, pk), code('LEVEL_EXHAUSTED'));
    const sq = engine.multiply(x, x, pk); // level 1, scale s^2/q
    assert.throws(() => engine.add(sq, once), code('LEVEL_EXHAUSTED')); // same level, other scale
    assert.throws(() => engine.encrypt(pk, [Number.NaN]), code('BAD_ARGUMENT'));
    assert.throws(() => engine.encrypt(pk, [2 ** 30]), code('BAD_ARGUMENT'));
    assert.throws(() => engine.multiplyPlain(x, new Float64Array(engine.slots + 1)), code('BAD_ARGUMENT'));
    assert.throws(() => engine.addPlain(x, [Infinity]), code('BAD_ARGUMENT'));
    assert.throws(() => engine.rotate(x, 1.5, pk), code('BAD_ARGUMENT'));
    assert.throws(() => engine.decrypt(f.sk, {} as never), code('BAD_ARGUMENT'));
    assert.throws(() => engine.generateKeyset({ galoisSteps: [engine.slots], relin: true }), code('BAD_ARGUMENT'));
    assert.throws(() => engine.generateKeyset({ galoisSteps: [engine.slots], relin: true }), code('BAD_ARGUMENT'));
  });
});

test('after all of the above the engines still compute correctly and hold no stray ciphertexts', () => {
  for (const x of [f, g, d2]) {
    const { engine, pk, sk } = x;
    const v = engine.scope(() => engine.decrypt(sk, engine.add(engine.encrypt(pk, [1.25]), engine.encrypt(pk, [2])))[0]!);
    assert.ok(Math.abs(v - 3.25) < 1e-7);
    assert.equal(engine.liveCiphertexts, 0);
  }
  assert.deepEqual(decodePublicKeyset(encodePublicKeyset(f.keys.publicKeyset)).fingerprint, f.keys.publicKeyset.fingerprint);
});
