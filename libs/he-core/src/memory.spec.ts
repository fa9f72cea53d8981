/**
 * Leak test: encrypt -> add -> save -> load -> decrypt cycles must not grow the process memory (CKKS, and
 * a shorter run of the BFV engine, which shares the key and ciphertext lifetime code).
 * SEAL objects live in the WebAssembly heap, which only grows; a leaked ciphertext (~400 KiB at N=8192,
 * depth 1) per cycle shows up as a steady RSS climb. 2,000 cycles (issue 3) after 250 warm-up cycles. The
 * bound is stated in GROWTH_BOUND; a deliberately leaking run checks the measure detects it.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { BfvEngine, type BfvCt } from './bfv.js';
import type { Ct } from './engine.js';
import type { PublicKeyHandle, SecretKeyHandle } from './engine-base.js';
import { bfvParamsForMagnitude } from './params.js';
import { fixture, type Fixture } from './test-fixtures.js';

const CYCLES = 2000;
/**
 * SEAL's memory pool and the WebAssembly heap grow to a high-water mark during the first few hundred
 * cycles (measured: ~+37 MiB over 500 cycles, then flat within ~2 MiB over the next 2,500), so the slope
 * is measured after this warm-up.
 */
const WARMUP = 250;
const SAMPLE_EVERY = 25;
/**
 * Allowed RSS growth per 1,000 cycles after warm-up (least-squares slope over 80 samples): 16 MiB, 20x below
 * the ~320 MiB a one-ciphertext-per-cycle leak shows (the next test checks the measure sees that).
 */
const GROWTH_BOUND = 16 * 1024 * 1024;

let f: Fixture;
let bfv: { engine: BfvEngine; pk: PublicKeyHandle; sk: SecretKeyHandle };
before(async () => {
  f = await fixture(1, { steps: [], relin: false });
  const engine = await BfvEngine.create(bfvParamsForMagnitude(2000));
  const keys = engine.generateKeyset({ galoisSteps: [], relin: false });
  bfv = { engine, pk: engine.usePublicKeyset(keys.publicKeyset), sk: engine.useSecretKeyset(keys) };
});
after(() => {
  f.engine.dispose();
  bfv.engine.dispose();
});

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((s, v) => s + v, 0) / n;
  const my = ys.reduce((s, v) => s + v, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return num / den;
}

function cycles(count: number, warmup: number, leak: boolean): { perThousand: number; samples: number[] } {
  const { engine, pk, sk } = f;
  const values = Float64Array.from({ length: 1000 }, (_, i) => i / 1000);
  const xs: number[] = [];
  const ys: number[] = [];
  const leaked: Ct[] = [];
  for (let i = 0; i < warmup + count; i++) {
    engine.scope(() => {
      const a = engine.encrypt(pk, values);
      const b = engine.encrypt(pk, values);
      const loaded = engine.load(engine.save(engine.add(a, b)));
      const out = engine.decrypt(sk, loaded);
      if (Math.abs(out[999]! - 2 * values[999]!) > 1e-6) throw new Error(`wrong result in cycle ${i}`);
      if (leak) leaked.push(loaded);
    }, leaked); // read after fn returns: a leaking run keeps its loaded ciphertexts alive
    if (i >= warmup && (i - warmup) % SAMPLE_EVERY === 0) {
      globalThis.gc?.();
      xs.push(i);
      ys.push(process.memoryUsage().rss);
    }
  }
  for (const c of leaked) engine.free(c);
  return { perThousand: slope(xs, ys) * 1000, samples: ys };
}

/**
 * BFV's high-water mark comes later: measured, RSS rises ~40 MiB over the first ~2,000 encryptions and is
 * then flat within ~1 MiB over the next 1,000 (allocator growth, not a leak), so its warm-up is longer.
 */
const BFV_WARMUP = 750;

/** The same cycle on the BFV engine (exact integers). */
function bfvCycles(count: number, warmup: number): { perThousand: number; samples: number[] } {
  const { engine, pk, sk } = bfv;
  const values = Array.from({ length: 1000 }, (_, i) => i);
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < warmup + count; i++) {
    engine.scope(() => {
      const a: BfvCt = engine.encrypt(pk, values, { bound: 1000 });
      const loaded = engine.load(engine.save(engine.add(a, engine.encrypt(pk, values, { bound: 1000 }))));
      if (engine.decrypt(sk, loaded)[999] !== 1998n) throw new Error(`wrong result in cycle ${i}`);
    });
    if (i >= warmup && (i - warmup) % SAMPLE_EVERY === 0) {
      globalThis.gc?.();
      xs.push(i);
      ys.push(process.memoryUsage().rss);
    }
  }
  return { perThousand: slope(xs, ys) * 1000, samples: ys };
}

test(`${CYCLES} encrypt -> add -> save -> load -> decrypt cycles: RSS growth below ${GROWTH_BOUND / 2 ** 20} MiB per 1,000 cycles`, (t) => {
  const { perThousand, samples } = cycles(CYCLES, WARMUP, false);
  const mib = (b: number) => (b / 2 ** 20).toFixed(1);
  t.diagnostic(`RSS ${mib(samples[0]!)} -> ${mib(samples.at(-1)!)} MiB, slope ${mib(perThousand)} MiB per 1,000 cycles`);
  assert.ok(perThousand < GROWTH_BOUND, `RSS grows ${mib(perThousand)} MiB per 1,000 cycles`);
  assert.equal(f.engine.liveCiphertexts, 0);
});

test('the measure detects a leak of one ciphertext per cycle', (t) => {
  // Retains the loaded ciphertext of each cycle (~400 KiB); afterwards they are freed again. The signal
  // (~300 MiB per 1,000 cycles) dwarfs the warm-up growth, so a short warm-up suffices.
  const { perThousand } = cycles(120, 20, true);
  t.diagnostic(`leaking run: ${(perThousand / 2 ** 20).toFixed(1)} MiB per 1,000 cycles`);
  assert.ok(perThousand > GROWTH_BOUND, 'a real leak must exceed the bound');
  assert.equal(f.engine.liveCiphertexts, 0);
});

test(`BFV: 1,000 encrypt -> add -> save -> load -> decrypt cycles: RSS growth below ${GROWTH_BOUND / 2 ** 20} MiB per 1,000 cycles`, (t) => {
  const { perThousand, samples } = bfvCycles(1000, BFV_WARMUP);
  const mib = (b: number) => (b / 2 ** 20).toFixed(1);
  t.diagnostic(`RSS ${mib(samples[0]!)} -> ${mib(samples.at(-1)!)} MiB, slope ${mib(perThousand)} MiB per 1,000 cycles`);
  assert.ok(perThousand < GROWTH_BOUND, `RSS grows ${mib(perThousand)} MiB per 1,000 cycles`);
  assert.equal(bfv.engine.liveCiphertexts, 0);
});
