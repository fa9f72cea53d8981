import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { BfvEngine, bfvStepsForWidth } from './bfv.js';
import { HeEngine } from './engine.js';
import { HeError } from './errors.js';
import { encodePublicKeyset, encodeSecretKeyset } from './keyset.js';
import { bfvParamsForMagnitude, ckksParamsForDepth } from './params.js';
import { HePool } from './pool.js';
import { rng } from './test-fixtures.js';

let engine: HeEngine;
let pool: HePool;
let pub: Uint8Array;
let sec: Uint8Array;
before(async () => {
  engine = await HeEngine.create(ckksParamsForDepth(1));
  const keys = engine.generateKeyset({ galoisSteps: [], relin: false });
  pub = encodePublicKeyset(keys.publicKeyset);
  sec = encodeSecretKeyset(keys);
  pool = await HePool.create({ threads: 2 });
});
after(async () => {
  await pool.close();
  engine.dispose();
});

test('encryptMany / sumMany / decryptMany across 2 threads match plaintext', async () => {
  const r = rng(8);
  const vectors = Array.from({ length: 9 }, (_, i) => Float64Array.from({ length: 1 + i * 1000 }, () => r()));
  const saved = await pool.encryptMany(pub, vectors);
  assert.equal(saved.length, vectors.length);
  const back = await pool.decryptMany(sec, saved);
  back.forEach((v, i) => {
    assert.equal(v.length, vectors[i]!.length);
    v.forEach((x, j) => assert.ok(Math.abs(x - vectors[i]![j]!) < 1e-7));
  });
  const total = await pool.sumMany(pub, saved);
  const [sum] = await pool.decryptMany(sec, [total]);
  assert.equal(sum!.length, 8001);
  for (const j of [0, 500, 4095, 4096, 8000]) {
    const want = vectors.reduce((s, v) => s + (v[j] ?? 0), 0);
    assert.ok(Math.abs(sum![j]! - want) < 1e-6, `slot ${j}`);
  }
  // A saved Ct from the pool loads in this thread's engine too.
  const ct = engine.load(saved[0]!);
  assert.equal(ct.length, 1);
  engine.free(ct);
});

test('typed errors cross the thread boundary', async () => {
  const saved = await pool.encryptMany(pub, [Float64Array.of(1)]);
  await assert.rejects(pool.sumMany(pub, [saved[0]!.subarray(0, 100)]), (e: unknown) => e instanceof HeError && e.code === 'CORRUPT');
  await assert.rejects(
    pool.encryptMany(pub.subarray(1), [Float64Array.of(1)]),
    (e: unknown) => e instanceof HeError && e.code === 'CORRUPT',
  );
  await assert.rejects(
    pool.encryptMany(pub, [Float64Array.of(Number.NaN)]),
    (e: unknown) => e instanceof HeError && e.code === 'BAD_ARGUMENT',
  );
  await assert.rejects(pool.sumMany(pub, []), (e: unknown) => e instanceof HeError && e.code === 'BAD_ARGUMENT');
  // A task that cannot be sent to a thread (not cloneable) is refused, and the thread still gets the
  // keyset with the next task.
  const fresh = encodePublicKeyset(engine.generateKeyset({ galoisSteps: [], relin: false }).publicKeyset); // not yet sent to any thread
  const bad = [Float64Array.of(1), { notAVector: () => 1 } as unknown as Float64Array]; // thread 2's slice cannot be cloned
  await assert.rejects(pool.encryptMany(fresh, bad), (e: unknown) => e instanceof HeError && e.code === 'BAD_ARGUMENT');
  assert.equal((await pool.encryptMany(fresh, [Float64Array.of(1), Float64Array.of(2)])).length, 2);
  // The workers are still healthy afterwards.
  const [v] = await pool.decryptMany(sec, await pool.encryptMany(pub, [Float64Array.of(2.5)]));
  assert.ok(Math.abs(v![0]! - 2.5) < 1e-7);
});

test('BFV keysets: encryptMany with a bound, sumMany and decryptIntegers are exact across threads', async () => {
  const params = bfvParamsForMagnitude(10_000);
  const bfv = await BfvEngine.create(params);
  try {
    const keys = bfv.generateKeyset({ galoisSteps: bfvStepsForWidth(8192, params), relin: false });
    const bpub = encodePublicKeyset(keys.publicKeyset);
    const bsec = encodeSecretKeyset(keys);
    const r = rng(12);
    const vectors = Array.from({ length: 7 }, (_, i) => Float64Array.from({ length: 1 + i * 1500 }, () => Math.floor(r() * 101) - 50));
    await assert.rejects(pool.encryptMany(bpub, vectors), (e: unknown) => e instanceof HeError && e.code === 'BAD_ARGUMENT');
    await assert.rejects(
      pool.encryptMany(bpub, [Float64Array.of(0.5)], { bound: 1 }),
      (e: unknown) => e instanceof HeError && e.code === 'BAD_ARGUMENT',
    );
    const saved = await pool.encryptMany(bpub, vectors, { bound: 50 });
    const back = await pool.decryptIntegers(bsec, saved);
    back.forEach((v, i) => assert.deepEqual(Array.from(v, Number), Array.from(vectors[i]!)));
    const [sum] = await pool.decryptIntegers(bsec, [await pool.sumMany(bpub, saved)]);
    for (const j of [0, 1, 1500, 9000]) assert.equal(sum![j], BigInt(vectors.reduce((s, v) => s + (v[j] ?? 0), 0)), `slot ${j}`);
    await assert.rejects(pool.decryptMany(bsec, saved), (e: unknown) => e instanceof HeError && e.code === 'PARAMS_MISMATCH');
    await assert.rejects(pool.decryptIntegers(sec, saved), (e: unknown) => e instanceof HeError && e.code === 'PARAMS_MISMATCH');
    await assert.rejects(pool.sumMany(pub, saved), (e: unknown) => e instanceof HeError && e.code === 'PARAMS_MISMATCH');
  } finally {
    bfv.dispose();
  }
});

test('create validates the thread count', async () => {
  await assert.rejects(HePool.create({ threads: 0 }), (e: unknown) => e instanceof HeError && e.code === 'BAD_ARGUMENT');
});
