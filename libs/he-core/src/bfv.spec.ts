/**
 * BFV engine: exact integer results (compared with BigInt plaintext computations on seeded random data),
 * magnitude bounds that refuse instead of wrapping, noise exhaustion detected, and typed errors for every
 * bad input.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { BfvEngine, bfvStepsForWidth, type BfvCt } from './bfv.js';
import { HeEngine } from './engine.js';
import { HeError, type HeErrorCode } from './errors.js';
import {
  decodeBfvPublicKeyset,
  decodeBfvSecretKeyset,
  decodePublicKeyset,
  decodeSecretKeyset,
  encodePublicKeyset,
  encodeSecretKeyset,
  type SecretKeyset,
} from './keyset.js';
import {
  BFV_DEFAULT_COEFF_BITS,
  MAX_PLAIN_BITS,
  MIN_PLAIN_BITS,
  bfvCapacity,
  bfvParamsForMagnitude,
  ckksParamsForDepth,
  paramsId,
  parseParamsId,
  slotCount,
  type BfvParams,
} from './params.js';
import { loadSeal } from './seal.js';
import { rng } from './test-fixtures.js';
import type { PublicKeyHandle, SecretKeyHandle } from './engine-base.js';

const code = (c: HeErrorCode) => (e: unknown) => e instanceof HeError && e.code === c;

interface BfvFixture {
  engine: BfvEngine;
  keys: SecretKeyset<BfvParams>;
  pk: PublicKeyHandle;
  sk: SecretKeyHandle;
}

async function bfvFixture(params: BfvParams, opts: { steps?: number[]; relin?: boolean } = {}): Promise<BfvFixture> {
  const engine = await BfvEngine.create(params);
  const keys = engine.generateKeyset({ galoisSteps: opts.steps ?? bfvStepsForWidth(engine.slots, params), relin: opts.relin ?? true });
  return { engine, keys, pk: engine.usePublicKeyset(keys.publicKeyset), sk: engine.useSecretKeyset(keys) };
}

/** Counts over 10^6 rows of values bounded by 50: worst case 5·10^7 (issue 3). */
const ROWS = 1_000_000;
const BOUND = 50;
let f: BfvFixture; // bfvParamsForMagnitude(ROWS * BOUND), full-sum steps, relin
let other: BfvFixture; // same parameters, another keyset, no Galois or relinearisation keys
before(async () => {
  const params = bfvParamsForMagnitude(ROWS * BOUND);
  f = await bfvFixture(params);
  other = await bfvFixture(params, { steps: [], relin: false });
});
after(() => {
  f.engine.dispose();
  other.engine.dispose();
});

const big = (xs: ArrayLike<number>): bigint => Array.from(xs).reduce((s, v) => s + BigInt(v), 0n);

test('presets: plain modulus sized from the worst-case magnitude; SEAL defaults; ids round-trip', async () => {
  assert.equal(bfvParamsForMagnitude(0).plainModulusBits, 20);
  assert.equal(bfvParamsForMagnitude(2 ** 18).plainModulusBits, 20);
  assert.equal(bfvParamsForMagnitude(2 ** 18 + 1).plainModulusBits, 21);
  assert.equal(bfvParamsForMagnitude(ROWS).plainModulusBits, 22); // a count over 10^6 rows needs > 20 bits
  assert.equal(bfvParamsForMagnitude(ROWS * BOUND).plainModulusBits, 28);
  assert.ok(bfvCapacity(28) >= ROWS * BOUND);
  assert.equal(bfvParamsForMagnitude(2 ** 38).polyModulusDegree, 8192); // 40-bit t
  assert.deepEqual([bfvParamsForMagnitude(2 ** 39).plainModulusBits, bfvParamsForMagnitude(2 ** 39).polyModulusDegree], [41, 16384]);
  assert.equal(bfvParamsForMagnitude(2 ** 46).plainModulusBits, 50, '48 and 49 bits are coefficient prime sizes at N=16384');
  assert.equal(bfvParamsForMagnitude(2 ** 58).plainModulusBits, 60);
  assert.throws(() => bfvParamsForMagnitude(2 ** 58 + 2 ** 10), code('MAGNITUDE_EXCEEDED'));
  assert.throws(() => bfvParamsForMagnitude(-1), code('BAD_ARGUMENT'));
  assert.throws(() => bfvParamsForMagnitude(Number.NaN), code('BAD_ARGUMENT'));
  assert.equal(bfvParamsForMagnitude(1, { deep: true }).polyModulusDegree, 16384);

  const seal = await loadSeal();
  for (const n of [8192, 16384] as const) {
    const v = seal.CoeffModulus.BFVDefault(n, seal.SecurityLevel.tc128);
    try {
      const bits = Array.from(v.toArray() as BigUint64Array, (q) => q.toString(2).length);
      assert.deepEqual(bits, BFV_DEFAULT_COEFF_BITS[n]);
    } finally {
      v.delete();
    }
  }

  const p = bfvParamsForMagnitude(ROWS * BOUND);
  assert.equal(paramsId(p), 'bfv-8192-43.43.44.44.44-t28');
  assert.deepEqual(parseParamsId(paramsId(p)), p);
  assert.equal(slotCount(p), 8192);
  for (const bad of [
    'bfv-8192-43.43.44.44.44-s28',
    'ckks-8192-33.33.60-t40',
    'bfv-8192-43.43.44.44.44-t19',
    'bfv-8192-43.43.44.44.44-t61',
    'bfv-4096-36.36.37-t20',
  ]) {
    assert.throws(() => parseParamsId(bad), code('CORRUPT'), bad);
  }
  assert.ok(f.engine.plainModulus % 16384n === 1n, 't = 1 mod 2N (batching)');
  assert.ok(f.engine.plainModulus > 2n ** 27n && f.engine.plainModulus < 2n ** 28n);
  assert.ok(2n * BigInt(f.engine.maxMagnitude) < f.engine.plainModulus);
});

test('every preset size from 20 to 60 bits is accepted by SEAL and keeps exact results through weights, a mask and a full sum', async (t) => {
  const sizes = new Set<string>();
  for (let b = MIN_PLAIN_BITS; b <= MAX_PLAIN_BITS; b++) {
    const p = bfvParamsForMagnitude(bfvCapacity(b));
    paramsId(p); // validates, including t not equal to a coefficient prime's size (SEAL would refuse it)
    assert.ok(p.plainModulusBits >= b && bfvCapacity(p.plainModulusBits) >= bfvCapacity(b));
    sizes.add(`${p.polyModulusDegree}-${p.plainModulusBits}`);
  }
  assert.equal(sizes.size, 39, '41 sizes, 48 and 49 bits folded into 50 at N=16384');
  // SEAL itself accepts the sizes next to each boundary (contexts at N=16384 take seconds each).
  for (const b of [21, 39, 42, 47, 50, 59]) {
    const e = await BfvEngine.create(bfvParamsForMagnitude(bfvCapacity(b)));
    try {
      assert.ok(e.maxMagnitude >= bfvCapacity(b), `preset for 2^${b - 2}`);
    } finally {
      e.dispose();
    }
  }
  assert.throws(
    () => paramsId({ scheme: 'bfv', polyModulusDegree: 8192, coeffModulusBits: [43, 43, 44, 44, 44], plainModulusBits: 43 }),
    code('BAD_PARAMS'),
  );
  // The deepest counting circuit (weights, then a group mask, then a full sum) at the smallest and largest
  // plain modulus of each degree.
  for (const b of [20, 40, 41, 60]) {
    const p = bfvParamsForMagnitude(bfvCapacity(b));
    const g = await bfvFixture(p, { relin: false });
    try {
      const n = g.engine.slots;
      const x = Array.from({ length: n }, (_, i) => i % 2);
      const w = Array.from({ length: n }, (_, i) => (i * 7) % 4);
      const m = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1 : 0));
      g.engine.scope(() => {
        const fresh = g.engine.encrypt(g.pk, x, { bound: 1 });
        const weighted = g.engine.multiplyPlain(fresh, w);
        const masked = g.engine.multiplyPlain(weighted, m);
        const s = g.engine.sumAll(masked, g.pk);
        const left = g.engine.noiseBudget(g.sk, s);
        const steps = [fresh, weighted, masked].map((c) => g.engine.noiseBudget(g.sk, c)).join(' -> ');
        t.diagnostic(
          `N=${p.polyModulusDegree}, ${p.plainModulusBits}-bit t: noise budget fresh -> weights -> mask -> full sum: ${steps} -> ${left} bits`,
        );
        assert.ok(left > 0);
        assert.equal(g.engine.decrypt(g.sk, s)[0], BigInt(x.reduce((acc, v, i) => acc + v * w[i]! * m[i]!, 0)));
      });
    } finally {
      g.engine.dispose();
    }
  }
});

test('round-trips and sums of random integer vectors of length 1..100,000 are exact', () => {
  const { engine, pk, sk } = f;
  const r = rng(31);
  for (const len of [1, 2, 3, 4095, 4096, 4097, 8191, 8192, 8193, 30_000, 100_000]) {
    engine.scope(() => {
      const vals = Array.from({ length: len }, () => Math.floor(r() * (2 * BOUND + 1)) - BOUND);
      const ct = engine.encrypt(pk, vals, { bound: BOUND });
      assert.equal(ct.chunks, Math.max(1, Math.ceil(len / 8192)));
      const back = engine.decrypt(sk, ct);
      for (let i = 0; i < len; i++)
        if (back[i] !== BigInt(vals[i]!)) assert.fail(`length ${len}: slot ${i} is ${back[i]}, want ${vals[i]}`);
      for (let i = len; i < back.length; i++) if (back[i] !== 0n) assert.fail(`length ${len}: padding slot ${i} is ${back[i]}`);
      const sum = engine.decrypt(sk, engine.sumAll(ct, pk));
      assert.equal(sum[0], big(vals), `sum of ${len}`);
      assert.equal(sum[8191], big(vals), 'every slot holds the total');
    });
  }
  assert.equal(engine.liveCiphertexts, 0);
});

test('10^6 rows: exact counts, exact sums at the column bound 50 (5·10^7), exact per-group counts', (t) => {
  const { engine, pk, sk } = f;
  const r = rng(7);
  const flags = Array.from({ length: ROWS }, () => (r() < 0.3 ? 1 : 0));
  const values = Array.from({ length: ROWS }, () => Math.floor(r() * (BOUND + 1)));
  const groups = Array.from({ length: ROWS }, () => Math.floor(r() * 10));
  engine.scope(() => {
    const count = engine.decrypt(sk, engine.sumAll(engine.encrypt(pk, flags, { bound: 1 }), pk))[0];
    t.diagnostic(`count ${count} of ${ROWS}`);
    assert.equal(count, big(flags));

    const atBound = engine.encrypt(pk, new Array<number>(ROWS).fill(BOUND), { bound: BOUND });
    const worst = engine.sumAll(atBound, pk);
    assert.equal(worst.bound, ROWS * BOUND, 'the bound tracks the worst case exactly');
    assert.equal(engine.decrypt(sk, worst)[0], BigInt(ROWS * BOUND));

    const enc = engine.encrypt(pk, values, { bound: BOUND });
    assert.equal(engine.decrypt(sk, engine.sumAll(enc, pk))[0], big(values));

    // Per-group counts and sums: multiply by a 0/1 mask of the group (public layout), then sum.
    for (const g of [0, 4, 9]) {
      const mask = groups.map((x) => (x === g ? 1 : 0));
      const n = engine.decrypt(sk, engine.sumAll(engine.multiplyPlain(engine.encrypt(pk, flags, { bound: 1 }), mask), pk))[0];
      assert.equal(n, big(flags.map((v, i) => v * mask[i]!)), `count of group ${g}`);
      const s = engine.decrypt(sk, engine.sumAll(engine.multiplyPlain(enc, mask), pk))[0];
      assert.equal(s, big(values.map((v, i) => v * mask[i]!)), `sum of group ${g}`);
    }
  });
  assert.equal(engine.liveCiphertexts, 0);
});

test('inner products, weighted sums, mean and variance numerators, and a polynomial are exact', () => {
  const { engine, pk, sk } = f;
  const r = rng(99);
  const n = 20_000;
  const x = Array.from({ length: n }, () => Math.floor(r() * (BOUND + 1)));
  const y = Array.from({ length: n }, () => Math.floor(r() * 21) - 10);
  const w = Array.from({ length: n }, () => Math.floor(r() * 7) - 3);
  engine.scope(() => {
    const cx = engine.encrypt(pk, x, { bound: BOUND });
    const cy = engine.encrypt(pk, y, { bound: 10 });
    const dot = engine.decrypt(sk, engine.sumAll(engine.multiply(cx, cy, pk), pk))[0];
    assert.equal(
      dot,
      x.reduce((s, v, i) => s + BigInt(v * y[i]!), 0n),
      'ct x ct inner product',
    );
    const weighted = engine.decrypt(sk, engine.sumAll(engine.multiplyPlain(cx, w), pk))[0];
    assert.equal(
      weighted,
      x.reduce((s, v, i) => s + BigInt(v * w[i]!), 0n),
      'weighted sum',
    );
    // Mean and variance from exact integer moments: n*sum(x^2) - sum(x)^2 is the exact variance numerator.
    const s1 = engine.decrypt(sk, engine.sumAll(cx, pk))[0]!;
    const s2 = engine.decrypt(sk, engine.sumAll(engine.multiply(cx, cx, pk), pk))[0]!;
    const want1 = big(x);
    const want2 = x.reduce((s, v) => s + BigInt(v * v), 0n);
    assert.equal(s1, want1);
    assert.equal(s2, want2);
    assert.equal(BigInt(n) * s2 - s1 * s1, BigInt(n) * want2 - want1 * want1);
    // 2x^2 - 3y + 1, slot-wise (a plaintext of up to N values is a per-slot pattern; constants fill it).
    const poly = engine.addPlain(
      engine.sub(engine.multiplyConst(engine.multiply(cx, cx, pk), 2), engine.multiplyConst(cy, 3)),
      new Array<number>(8192).fill(1),
    );
    const got = engine.decrypt(sk, poly);
    for (let i = 0; i < n; i++) if (got[i] !== BigInt(2 * x[i]! * x[i]! - 3 * y[i]! + 1)) assert.fail(`poly slot ${i}`);
    // Rotations and windowed sums.
    const rot = engine.decrypt(sk, engine.rotateRows(cx, 5, pk));
    assert.equal(rot[0], BigInt(x[5]!));
    assert.equal(rot[4096], BigInt(x[4101]!), 'both rows rotate alike');
    const win = engine.decrypt(sk, engine.sumSlots(cx, 64, pk));
    assert.equal(win[128], big(x.slice(128, 192)));
    const swapped = engine.decrypt(sk, engine.swapRows(cx, pk));
    assert.equal(swapped[0], BigInt(x[4096]!));
  });
  assert.equal(engine.liveCiphertexts, 0);
});

test('results that could exceed the plain modulus are refused (MAGNITUDE_EXCEEDED), never wrapped', async () => {
  const small = await bfvFixture(bfvParamsForMagnitude(1000), { steps: bfvStepsForWidth(8192, bfvParamsForMagnitude(1000)) });
  const { engine, pk, sk } = small;
  try {
    const cap = engine.maxMagnitude; // 2^18
    assert.equal(cap, 2 ** 18);
    engine.scope(() => {
      const ones = engine.encrypt(pk, new Array<number>(8192).fill(1), { bound: 1 });
      assert.equal(engine.decrypt(sk, engine.sumAll(ones, pk))[0], 8192n);
      const big1 = engine.encrypt(pk, new Array<number>(300_000).fill(1), { bound: 1 }); // total 300,000 > 2^18
      assert.throws(() => engine.sumAll(big1, pk), code('MAGNITUDE_EXCEEDED'));
      const c = engine.encrypt(pk, [cap], { bound: cap });
      assert.throws(() => engine.add(c, c), code('MAGNITUDE_EXCEEDED'));
      assert.throws(() => engine.multiplyPlain(c, [2]), code('MAGNITUDE_EXCEEDED'));
      assert.throws(() => engine.multiply(c, c, pk), code('MAGNITUDE_EXCEEDED'));
      assert.throws(() => engine.addPlain(c, [1]), code('MAGNITUDE_EXCEEDED'));
      assert.throws(() => engine.encrypt(pk, [1], { bound: cap + 1 }), code('MAGNITUDE_EXCEEDED'));
      assert.throws(() => engine.encrypt(pk, [51], { bound: 50 }), code('BAD_ARGUMENT'), 'values beyond the declared bound');
      assert.equal(engine.decrypt(sk, engine.negate(c))[0], BigInt(-cap), 'the largest magnitude decodes exactly with its sign');
      const live = engine.liveCiphertexts;
      const neg = engine.encrypt(pk, [-cap], { bound: cap });
      assert.throws(() => engine.subPlain(neg, [1]), code('MAGNITUDE_EXCEEDED'), 'negative side');
      assert.throws(() => engine.sub(neg, c), code('MAGNITUDE_EXCEEDED'));
      const wide = engine.encrypt(pk, new Array<number>(8192).fill(64), { bound: 64 }); // total 2^19
      assert.throws(() => engine.sumSlots(wide, 8192, pk), code('MAGNITUDE_EXCEEDED'));
      assert.equal(engine.decrypt(sk, engine.sumSlots(wide, 4096, pk))[0], 4096n * 64n, 'a window of 2^18 still fits');
      const chunks = engine.encrypt(pk, new Array<number>(8192 * 5).fill(cap / 4), { bound: cap / 4 });
      assert.throws(() => engine.sumChunks(chunks), code('MAGNITUDE_EXCEEDED'));
      assert.equal(engine.liveCiphertexts, live + 4, 'refused operations create nothing');
      assert.throws(() => engine.encrypt(pk, { length: -1e7 } as unknown as number[], { bound: 1 }), code('BAD_ARGUMENT'));
      assert.throws(() => engine.encrypt(pk, { length: 3, 0: 1, 1: 1, 2: 1 } as unknown as number[], { bound: 1 }), code('BAD_ARGUMENT'));
      assert.throws(() => engine.multiplyPlain(c, 'abc' as unknown as number[]), code('BAD_ARGUMENT'));
    });
    assert.equal(engine.liveCiphertexts, 0);
  } finally {
    engine.dispose();
  }
});

test('exact-zero results (x - x, all-zero products) leave no SEAL ciphertext behind', () => {
  const { engine, pk } = f;
  const c = engine.encrypt(
    pk,
    Array.from({ length: 8192 }, (_, i) => i % 7),
    { bound: 6 },
  );
  try {
    const run = (k: number) => {
      for (let i = 0; i < k; i++) {
        engine.scope(() => {
          const z = engine.sub(c, c);
          assert.equal(z.chunks, 1);
          return undefined;
        });
      }
    };
    run(20);
    globalThis.gc?.();
    const before = process.memoryUsage().external;
    run(200); // a leaked ciphertext per call would be 200 x ~0.5 MiB
    globalThis.gc?.();
    const grown = process.memoryUsage().external - before;
    assert.ok(grown < 32 * 2 ** 20, `external memory grew ${(grown / 2 ** 20).toFixed(1)} MiB over 200 exact cancellations`);
  } finally {
    engine.free(c);
  }
});

test('loading caps the bounds a producer declares', () => {
  const { engine, pk } = f;
  const bytes = engine.scope(() => engine.save(engine.encrypt(pk, [1, 2, 3], { bound: 1000 })));
  assert.throws(() => engine.load(bytes, { maxBound: 999 }), code('MAGNITUDE_EXCEEDED'));
  engine.free(engine.load(bytes, { maxBound: 1000 }));
});

test('an exhausted noise budget is NOISE_EXHAUSTED at decryption, not a wrong answer', (t) => {
  const { engine, pk, sk } = f;
  engine.scope(() => {
    let c: BfvCt = engine.encrypt(pk, [1, 0, 1, 1], { bound: 1 }); // 0/1 values: bounds stay 1 under squaring
    const budgets: number[] = [engine.noiseBudget(sk, c)];
    let squarings = 0;
    while (engine.noiseBudget(sk, c) > 0 && squarings < 12) {
      c = engine.multiply(c, c, pk);
      squarings++;
      budgets.push(engine.noiseBudget(sk, c));
    }
    t.diagnostic(`noise budget (bits) after each squaring: ${budgets.join(', ')}`);
    assert.ok(squarings < 12, `budget still ${budgets.at(-1)} after 12 squarings`);
    assert.ok(squarings >= 3, 'a fresh ciphertext survives a few products');
    assert.throws(() => engine.decrypt(sk, c), code('NOISE_EXHAUSTED'));
    assert.equal(engine.decrypt(sk, engine.encrypt(pk, [1], { bound: 1 }))[0], 1n, 'the engine still works');
  });
});

test('typed errors: wrong parameters, truncated and random bytes, keyset mismatch, missing Galois step', async () => {
  const { engine, pk, sk, keys } = f;
  await assert.rejects(BfvEngine.create({ ...keys.params, plainModulusBits: 19 }), code('BAD_PARAMS'));
  await assert.rejects(BfvEngine.create({ ...keys.params, coeffModulusBits: [60, 60, 60, 60] }), code('BAD_PARAMS'));
  await assert.rejects(BfvEngine.create(ckksParamsForDepth(1) as unknown as BfvParams), code('BAD_PARAMS'));
  await assert.rejects(HeEngine.create(keys.params as never), code('BAD_PARAMS'));

  const bytes = engine.scope(() => engine.save(engine.encrypt(pk, [1, 2, 3], { bound: 3 })));
  for (const cut of [0, 3, 4, 5, 30, 80, bytes.length >> 1, bytes.length - 32, bytes.length - 1]) {
    assert.throws(() => engine.load(bytes.subarray(0, cut)), code('CORRUPT'), `cut ${cut}`);
  }
  const r = rng(5);
  for (let i = 0; i < 20; i++) {
    const b = bytes.slice();
    b[Math.floor(r() * b.length)]! ^= 1 << Math.floor(r() * 8);
    assert.throws(() => engine.load(b), code('CORRUPT'));
    const junk = Uint8Array.from({ length: Math.floor(r() * 3000) }, () => Math.floor(r() * 256));
    assert.throws(() => engine.load(junk), code('CORRUPT'));
  }

  // Other parameters: another plain modulus, and CKKS.
  const p22 = bfvParamsForMagnitude(ROWS);
  const e22 = await BfvEngine.create(p22);
  const ckks = await HeEngine.create(ckksParamsForDepth(1));
  try {
    assert.throws(() => e22.load(bytes), code('PARAMS_MISMATCH'));
    assert.throws(() => e22.usePublicKeyset(keys.publicKeyset), code('PARAMS_MISMATCH'));
    assert.throws(() => ckks.load(bytes), code('PARAMS_MISMATCH'));
    const ck = ckks.generateKeyset({ galoisSteps: [], relin: false });
    const ckBytes = ckks.scope(() => ckks.save(ckks.encrypt(ckks.usePublicKeyset(ck.publicKeyset), [1, 2])));
    assert.throws(() => engine.load(ckBytes), code('PARAMS_MISMATCH'));
    assert.throws(() => decodeBfvPublicKeyset(encodePublicKeyset(ck.publicKeyset)), code('PARAMS_MISMATCH'));
    assert.throws(() => decodePublicKeyset(encodePublicKeyset(keys.publicKeyset)), code('PARAMS_MISMATCH'));
    assert.throws(() => decodeSecretKeyset(encodeSecretKeyset(keys)), code('PARAMS_MISMATCH'));
  } finally {
    e22.dispose();
    ckks.dispose();
  }

  // Keyset / ciphertext mismatch.
  engine.scope(() => {
    const mine = engine.encrypt(pk, [1, 2], { bound: 2 });
    const theirs = other.engine.encrypt(other.pk, [1, 2], { bound: 2 });
    const moved = engine.load(other.engine.save(theirs));
    assert.throws(() => engine.add(mine, moved), code('KEYSET_MISMATCH'));
    assert.throws(() => engine.decrypt(sk, moved), code('KEYSET_MISMATCH'));
    assert.throws(() => engine.sumAll(moved, pk), code('KEYSET_MISMATCH'));
    assert.throws(() => engine.useSecretKeyset({ ...keys, secretKey: other.keys.secretKey }), code('KEYSET_MISMATCH'));
    other.engine.free(theirs);
  });

  // Missing keys.
  other.engine.scope(() => {
    const c = other.engine.encrypt(other.pk, [1, 2, 3], { bound: 3 });
    assert.throws(() => other.engine.rotateRows(c, 1, other.pk), code('MISSING_GALOIS_STEP'));
    assert.throws(() => other.engine.sumSlots(c, 8192, other.pk), code('MISSING_GALOIS_STEP'));
    assert.throws(() => other.engine.swapRows(c, other.pk), code('MISSING_GALOIS_STEP'));
    assert.throws(() => other.engine.multiply(c, c, other.pk), code('MISSING_RELIN_KEYS'));
  });
  assert.throws(() => engine.encrypt(pk, [1.5], { bound: 2 }), code('BAD_ARGUMENT'));
  assert.throws(() => engine.encrypt(pk, [1], { bound: -1 }), code('BAD_ARGUMENT'));
  assert.throws(() => engine.scope(() => engine.sumSlots(engine.encrypt(pk, [1], { bound: 1 }), 3, pk)), code('BAD_ARGUMENT'));
  assert.equal(engine.liveCiphertexts, 0);
  assert.equal(other.engine.liveCiphertexts, 0);
});

test('BFV keysets round-trip through their byte formats, step 0 included', () => {
  const { keys, engine, pk } = f;
  assert.ok(keys.publicKeyset.galoisSteps.includes(0));
  const pub = decodeBfvPublicKeyset(encodePublicKeyset(keys.publicKeyset));
  assert.deepEqual(pub, keys.publicKeyset);
  const sec = decodeBfvSecretKeyset(encodeSecretKeyset(keys));
  assert.equal(sec.publicKeyset.fingerprint, keys.publicKeyset.fingerprint);
  assert.deepEqual(sec.secretKey, keys.secretKey);
  const blob = encodePublicKeyset(keys.publicKeyset);
  for (const cut of [0, 10, blob.length >> 1, blob.length - 1])
    assert.throws(() => decodeBfvPublicKeyset(blob.subarray(0, cut)), code('CORRUPT'));
  // The decoded keys load into another engine of the same parameters (SEAL parses every byte there) and
  // work with ciphertexts made here.
  const saved = engine.scope(() => engine.save(engine.encrypt(pk, [3, 4, 5], { bound: 5 })));
  const e2 = other.engine;
  const h = e2.usePublicKeyset(pub);
  const s2 = e2.useSecretKeyset(sec);
  try {
    e2.scope(() => assert.equal(e2.decrypt(s2, e2.sumAll(e2.load(saved), h))[0], 12n));
    assert.throws(() => engine.releaseKeys(h), code('BAD_ARGUMENT'), 'a handle of another engine');
    engine.scope(() =>
      assert.throws(
        () => engine.decrypt(s2, engine.encrypt(pk, [1], { bound: 1 })),
        code('BAD_ARGUMENT'),
        'a secret handle of another engine',
      ),
    );
  } finally {
    e2.releaseKeys(s2);
    e2.releaseKeys(h);
  }
  assert.equal(engine.liveCiphertexts, 0);
});
