/**
 * Accuracy of the encrypted operations against plaintext, on random data (seeded, printed on failure).
 * Targets from docs/scenario-format.md, "Accuracy": sums, means, weighted sums, inner products within
 * 1e-6 relative; variance within 1e-4; counts exact. Values are normalised to [0, 1] by their column
 * bound before encryption (as the plan compiler does) and scaled back after decryption.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import type { Ct } from './engine.js';
import { HeError } from './errors.js';
import { fixture, relErr, rng, type Fixture } from './test-fixtures.js';

let f: Fixture;
before(async () => {
  f = await fixture(2);
});
after(() => f.engine.dispose());

const sum = (xs: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]!;
  return s;
};

/** Encrypted sum of all `length` values, decrypted (slot 0 after sumChunks + full slot sum). */
function heSum(ct: Ct): number {
  const { engine, pk, sk } = f;
  return engine.scope(() => engine.decrypt(sk, engine.sumAll(ct, pk))[0]!);
}

test('encrypt/decrypt round-trips any length 1..100,000 (per-slot error < 1e-7)', () => {
  const { engine, pk, sk } = f;
  const check = (len: number, seed: number) => {
    const r = rng(seed);
    const xs = Float64Array.from({ length: len }, () => r() * 2 - 1);
    engine.scope(() => {
      const ct = engine.encrypt(pk, xs);
      assert.equal(ct.length, len);
      assert.equal(ct.chunks, Math.ceil(len / engine.slots));
      const back = engine.decrypt(sk, ct);
      assert.equal(back.length, ct.chunks * engine.slots);
      let worst = 0;
      for (let i = 0; i < len; i++) worst = Math.max(worst, Math.abs(back[i]! - xs[i]!));
      for (let i = len; i < back.length; i++) worst = Math.max(worst, Math.abs(back[i]!));
      assert.ok(worst < 1e-7, `len ${len} seed ${seed}: worst slot error ${worst}`);
    });
  };
  for (const len of [1, 4095, 4096, 4097, 100_000]) check(len, len);
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 100_000 }), fc.integer(), (len, seed) => check(len, seed)),
    { numRuns: 6 },
  );
  assert.equal(engine.liveCiphertexts, 0);
});

test('sums and means of random lengths match plaintext within 1e-6 relative', () => {
  const { engine, pk } = f;
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 1, max: 50 }), fc.integer(), (len, bound, seed) => {
      const r = rng(seed);
      const xs = Float64Array.from({ length: len }, () => Math.round(r() * bound * 100) / 100);
      const want = sum(xs);
      const got =
        engine.scope(() =>
          heSum(
            engine.encrypt(
              pk,
              xs.map((x) => x / bound),
            ),
          ),
        ) * bound;
      // The accuracy table's rule (libs/scenario/src/accuracy.ts): |d| <= 1e-6 * max(1, |want|), i.e.
      // relative 1e-6, absolute 1e-6 near zero (a single small value carries the encryption noise,
      // ~1e-9 of its column bound, which is far below 1e-6 absolute but not always 1e-6 relative).
      const err = relErr(got, want, 1);
      assert.ok(err <= 1e-6, `len ${len} bound ${bound} seed ${seed}: sum ${got} vs ${want} (err ${err})`);
      assert.ok(relErr(got / len, want / len, 1) <= 1e-6);
    }),
    { numRuns: 8 },
  );
});

test('sums over 10^6 values at the column bounds 0..50, and exact 0/1 counts', (t) => {
  const { engine, pk } = f;
  const n = 1_000_000;
  const r = rng(20240611);
  const columns: [string, number, () => number][] = [
    ['uniform 0..50', 50, () => r() * 50],
    ['all at the bound (worst-case magnitude)', 50, () => 50],
  ];
  if (process.env.SLOW === '1') columns.push(['integers 0..50', 50, () => Math.floor(r() * 51)], ['uniform 0..1', 1, () => r()]);
  for (const [what, bound, gen] of columns) {
    const xs = new Float64Array(n);
    for (let i = 0; i < n; i++) xs[i] = gen();
    const want = sum(xs);
    const got =
      engine.scope(() =>
        heSum(
          engine.encrypt(
            pk,
            xs.map((x) => x / bound),
          ),
        ),
      ) * bound;
    const err = relErr(got, want);
    t.diagnostic(`${what}: sum ${want}, relative error ${err.toExponential(2)}`);
    assert.ok(err <= 1e-6, `${what}: ${got} vs ${want}`);
  }
  const ind = new Float64Array(n);
  for (let i = 0; i < n; i++) ind[i] = r() < 0.3 ? 1 : 0;
  const count = sum(ind);
  const got = engine.scope(() => heSum(engine.encrypt(pk, ind)));
  t.diagnostic(`count ${count}, decrypted ${got}`);
  assert.ok(Math.abs(got - count) < 0.01, `count off by ${got - count}`);
  assert.equal(Math.round(got), count);
  assert.equal(engine.liveCiphertexts, 0);
});

test('inner product and weighted sum (ct x ct, ct x plaintext) within 1e-6', () => {
  const { engine, pk } = f;
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 20_000 }), fc.integer(), (len, seed) => {
      const r = rng(seed);
      const xs = Float64Array.from({ length: len }, () => r());
      const ys = Float64Array.from({ length: len }, () => r());
      const ws = Float64Array.from({ length: len }, () => r() * 4 - 1);
      const ip = sum(xs.map((x, i) => x * ys[i]!));
      const wsum = sum(xs.map((x, i) => x * ws[i]!));
      engine.scope(() => {
        const a = engine.encrypt(pk, xs);
        const b = engine.encrypt(pk, ys);
        const gotIp = heSum(engine.multiply(a, b, pk));
        const gotW = heSum(engine.multiplyPlain(a, ws));
        assert.ok(relErr(gotIp, ip) <= 1e-6, `ip len ${len} seed ${seed}: ${gotIp} vs ${ip}`);
        assert.ok(relErr(gotW, wsum) <= 1e-6, `wsum len ${len} seed ${seed}: ${gotW} vs ${wsum}`);
      });
    }),
    { numRuns: 5 },
  );
});

test('variance as E[x^2] - E[x]^2 computed homomorphically, within 1e-4', () => {
  const { engine, pk, sk } = f;
  const r = rng(99);
  const n = 30_000;
  const bound = 50;
  const xs = Float64Array.from({ length: n }, () => r() * bound);
  const mean = sum(xs) / n;
  const variance = sum(xs.map((x) => (x - mean) ** 2)) / n;
  const got = engine.scope(() => {
    const x = engine.encrypt(
      pk,
      xs.map((v) => v / bound),
    );
    // x * (x/n) and mean*mean are both products formed at level 1: same prime, same scale.
    const ex2 = engine.sumAll(engine.multiply(x, engine.multiplyConst(x, 1 / n), pk), pk);
    const m = engine.multiplyConst(engine.sumAll(x, pk), 1 / n);
    const diff = engine.sub(ex2, engine.multiply(m, m, pk));
    assert.equal(diff.level, 2);
    return engine.decrypt(sk, diff)[0]! * bound * bound;
  });
  assert.ok(relErr(got, variance) <= 1e-4, `${got} vs ${variance}`);
});

test('polynomial 2x^2 - 3x + 1 (mixed levels and scales aligned exactly), within 1e-6 per slot', () => {
  const { engine, pk, sk } = f;
  const r = rng(5);
  const xs = Float64Array.from({ length: 5000 }, () => r() * 2 - 1);
  const got = engine.scope(() => {
    const x = engine.encrypt(pk, xs);
    const sq = engine.multiplyConst(engine.multiply(x, x, pk), 2); // level 2, scale s^2/q
    const lin = engine.multiplyConst(x, -3); // level 1, scale s
    const p = engine.addPlain(engine.add(sq, lin), [1]); // slot 0 of every chunk (short operands broadcast per chunk)
    const p2 = engine.addPlain(engine.add(sq, lin), new Float64Array(engine.slots).fill(1));
    assert.equal(p2.level, 2);
    return [engine.decrypt(sk, p), engine.decrypt(sk, p2)];
  });
  const [onlySlot0, full] = got as [Float64Array, Float64Array];
  let worst = 0;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]!;
    const want = 2 * x * x - 3 * x + 1;
    worst = Math.max(worst, Math.abs(full[i]! - want));
    const inSlot0 = i % engine.slots === 0;
    worst = Math.max(worst, Math.abs(onlySlot0[i]! - (inSlot0 ? want : want - 1)));
  }
  assert.ok(worst < 1e-6, `worst ${worst}`);
});

test('cubic via Horner at depth 3 (N=16384)', async () => {
  const g = await fixture(3, { steps: [], relin: true });
  try {
    const { engine, pk, sk } = g;
    assert.equal(engine.slots, 8192);
    const r = rng(11);
    const xs = Float64Array.from({ length: 3000 }, () => r());
    const out = engine.scope(() => {
      const x = engine.encrypt(pk, xs);
      let t = engine.addPlain(engine.multiplyConst(x, 0.5), new Float64Array(engine.slots).fill(-2));
      t = engine.addPlain(engine.multiply(t, x, pk), new Float64Array(engine.slots).fill(1));
      t = engine.addPlain(engine.multiply(t, x, pk), new Float64Array(engine.slots).fill(3));
      assert.equal(t.level, 3);
      assert.throws(
        () => engine.multiplyConst(t, 2),
        (e: unknown) => e instanceof HeError && e.code === 'LEVEL_EXHAUSTED',
      );
      return engine.decrypt(sk, t);
    });
    let worst = 0;
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i]!;
      worst = Math.max(worst, Math.abs(out[i]! - (((0.5 * x - 2) * x + 1) * x + 3)));
    }
    assert.ok(worst < 1e-6, `worst ${worst}`);
  } finally {
    g.engine.dispose();
  }
});

test('sumSlots sums windows; rotate composes steps; negative steps', () => {
  const { engine, pk, sk } = f;
  const r = rng(3);
  const xs = Float64Array.from({ length: engine.slots }, () => r());
  engine.scope(() => {
    const x = engine.encrypt(pk, xs);
    const w = engine.decrypt(sk, engine.sumSlots(x, 16, pk));
    for (let k = 0; k < engine.slots / 16; k += 37) {
      const want = sum(xs.subarray(k * 16, k * 16 + 16));
      assert.ok(Math.abs(w[k * 16]! - want) < 1e-6, `window ${k}`);
    }
    const one = engine.decrypt(sk, engine.sumSlots(x, 1, pk));
    assert.ok(Math.abs(one[5]! - xs[5]!) < 1e-7);
    for (const steps of [1, 3, 100, 4095, -1, -100]) {
      const rot = engine.decrypt(sk, engine.rotate(x, steps, pk));
      for (const i of [0, 1, 2000, engine.slots - 1]) {
        const src = (((i + steps) % engine.slots) + engine.slots) % engine.slots;
        assert.ok(Math.abs(rot[i]! - xs[src]!) < 1e-7, `rotate ${steps} slot ${i}`);
      }
    }
  });
});

test('zero chunks: all-zero masks and exact cancellation stay exact zeros and survive save/load', () => {
  const { engine, pk, sk } = f;
  const S = engine.slots;
  const xs = Float64Array.from({ length: 3 * S }, (_, i) => (i % 7) / 7);
  const mask = new Float64Array(3 * S);
  mask.fill(1, 0, 10); // only chunk 0 selected
  engine.scope(() => {
    const x = engine.encrypt(pk, xs);
    const masked = engine.multiplyPlain(x, mask);
    assert.equal(masked.chunks, 3);
    const d = engine.decrypt(sk, masked);
    for (let i = S; i < 3 * S; i++) assert.equal(d[i], 0);
    assert.ok(Math.abs(d[3]! - xs[3]!) < 1e-7);
    const back = engine.load(engine.save(masked));
    assert.deepEqual(engine.decrypt(sk, back).subarray(S), d.subarray(S));
    const zero = engine.sub(x, x);
    assert.ok(engine.decrypt(sk, zero).every((v) => v === 0));
    const plus = engine.addPlain(zero, [1, 2, 3]); // zero chunks re-encrypted under the keyset
    const p = engine.decrypt(sk, plus);
    assert.ok(Math.abs(p[S + 2]! - 3) < 1e-7);
    assert.ok(Math.abs(heSum(engine.add(masked, x)) - (sum(xs) + sum(xs.subarray(0, 10)))) < 1e-5);
  });
});

test('add aligns operands with different chunk counts, levels and scales', () => {
  const { engine, pk, sk } = f;
  const S = engine.slots;
  const xs = Float64Array.from({ length: 2 * S + 5 }, (_, i) => Math.sin(i));
  const ys = Float64Array.from({ length: 100 }, (_, i) => Math.cos(i));
  engine.scope(() => {
    const a = engine.encrypt(pk, xs);
    const b = engine.multiply(engine.encrypt(pk, ys), engine.encrypt(pk, ys), pk); // level 1, other scale
    const c = engine.add(a, b);
    assert.equal(c.length, xs.length);
    assert.equal(c.chunks, 3);
    assert.equal(c.level, 1);
    assert.equal(c.scale, b.scale);
    const d = engine.decrypt(sk, c);
    for (const i of [0, 50, 99, 100, S, 2 * S + 4]) {
      const want = xs[i]! + (i < 100 ? ys[i]! ** 2 : 0);
      assert.ok(Math.abs(d[i]! - want) < 1e-7, `slot ${i}`);
    }
    const e = engine.sub(b, a);
    assert.ok(Math.abs(engine.decrypt(sk, e)[S + 1]! + xs[S + 1]!) < 1e-7);
    const neg = engine.decrypt(sk, engine.negate(a));
    const minus = engine.decrypt(sk, engine.subPlain(a, [0.5, 0.25]));
    assert.ok(Math.abs(neg[7]! + xs[7]!) < 1e-7);
    assert.ok(Math.abs(minus[1]! - (xs[1]! - 0.25)) < 1e-7 && Math.abs(minus[S]! - (xs[S]! - 0.5)) < 1e-7);
  });
});

test('scope frees temporaries, keeps returned and listed Cts, and frees on throw', () => {
  const { engine, pk } = f;
  const before = engine.liveCiphertexts;
  const kept = engine.scope(() => {
    const a = engine.encrypt(pk, [1, 2]);
    engine.add(a, a);
    return { result: engine.add(a, a), note: 'x' };
  });
  assert.equal(engine.liveCiphertexts, before + 1);
  let keepMe: Ct | undefined;
  assert.throws(() =>
    engine.scope(() => {
      keepMe = engine.encrypt(pk, [1]);
      engine.encrypt(pk, [2]);
      throw new Error('boom');
    }, []),
  );
  assert.equal(engine.liveCiphertexts, before + 1);
  assert.ok(keepMe);
  assert.throws(() => engine.decrypt(f.sk, keepMe!), /freed/);
  const outer = engine.scope(() => {
    const inner = engine.scope(() => engine.encrypt(pk, [3]));
    return [inner];
  });
  assert.equal(engine.liveCiphertexts, before + 2);
  engine.free(kept.result);
  engine.free(outer[0]!);
  engine.free(outer[0]!); // idempotent
  assert.equal(engine.liveCiphertexts, before);
});
