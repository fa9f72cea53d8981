/**
 * Randomness for release controls: exact discrete Laplace noise, uniform fill and blinding factors.
 *
 * Floating-point Laplace samplers leak: the set of doubles `x + b·ln(u)` can reach depends on x, so the
 * low-order bits of a noisy release identify the true value (Mironov, "On significance of the least
 * significant bits for differential privacy", CCS 2012). The noise here is an integer multiple of a
 * power-of-two grid, drawn exactly with integer arithmetic from the discrete Laplace distribution
 * P(k) ∝ exp(-|k|/t) by the rejection sampler of Canonne, Kamath and Steinke, "The Discrete Gaussian for
 * Differential Privacy" (NeurIPS 2020), Algorithms 1 and 2 (Bernoulli(exp(-γ)) for rational γ, then the
 * discrete Laplace as a geometric over a uniform remainder). The same construction backs Google's
 * differential-privacy library's "secure noise" (values on a power-of-two granularity grid).
 *
 * Nothing here uses `Math.random`: `cryptoRandom()` reads node:crypto; `seededRandom(seed)` is an
 * AES-256-CTR keystream, for reproducible tests only.
 */
import { createCipheriv, createHash, randomBytes } from 'node:crypto';

/** A source of uniform random bits. */
export interface RandomSource {
  /** uniform integer in [0, n), n >= 1 */
  below(n: bigint): bigint;
  /** uniform double in [0, 1) with 53 random bits */
  uniform(): number;
}

class ByteSource implements RandomSource {
  private buf = Buffer.alloc(0);
  private pos = 0;
  constructor(private readonly refill: () => Buffer) {}

  private bytes(n: number): Buffer {
    if (this.pos + n > this.buf.length) {
      this.buf = Buffer.concat([this.buf.subarray(this.pos), this.refill()]);
      this.pos = 0;
    }
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  below(n: bigint): bigint {
    if (n < 1n) throw new RangeError('below(n) needs n >= 1');
    if (n === 1n) return 0n;
    const bits = (n - 1n).toString(2).length;
    const nBytes = Math.ceil(bits / 8);
    const mask = (1n << BigInt(bits)) - 1n;
    // rejection sampling: uniform over [0, 2^bits), keep values below n (probability > 1/2 per try)
    for (;;) {
      const b = this.bytes(nBytes);
      let v = 0n;
      for (const x of b) v = (v << 8n) | BigInt(x);
      v &= mask;
      if (v < n) return v;
    }
  }

  uniform(): number {
    const b = this.bytes(7);
    // 53 bits: 6 whole bytes (48) and 5 bits of the seventh
    let hi = 0;
    for (let i = 0; i < 6; i++) hi = hi * 256 + b[i]!;
    return (hi * 32 + (b[6]! >> 3)) / 2 ** 53;
  }
}

/** Randomness from the operating system's CSPRNG (node:crypto). */
export function cryptoRandom(): RandomSource {
  return new ByteSource(() => randomBytes(4096));
}

/** A reproducible stream (AES-256-CTR keyed by SHA-256 of the seed): tests and benchmarks only. */
export function seededRandom(seed: string | number): RandomSource {
  const key = createHash('sha256')
    .update(`dataspace-seeded-random:${String(seed)}`)
    .digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(65536);
  return new ByteSource(() => cipher.update(zeros));
}

/** An exact non-negative rational num/den. */
export interface Rational {
  num: bigint;
  den: bigint;
}

/** The exact value of a finite positive double as a rational (every double is m·2^e). */
export function rationalOf(x: number): Rational {
  if (!(Number.isFinite(x) && x > 0)) throw new RangeError(`expected a finite positive number, got ${x}`);
  let m = x;
  let e = 0;
  while (!Number.isInteger(m)) {
    m *= 2;
    e++;
  }
  // m is an integer double (exact); normalise the power of two
  let num = BigInt(m);
  let den = 1n << BigInt(e);
  while (num % 2n === 0n && den % 2n === 0n) {
    num /= 2n;
    den /= 2n;
  }
  return { num, den };
}

/** Bernoulli(num/den) for 0 <= num <= den. */
function bernoulli(r: RandomSource, num: bigint, den: bigint): boolean {
  return r.below(den) < num;
}

/** Bernoulli(exp(-num/den)) for num/den >= 0, exactly (CKS 2020, Algorithm 1). */
export function bernoulliExp(r: RandomSource, num: bigint, den: bigint): boolean {
  if (num < 0n || den <= 0n) throw new RangeError('bernoulliExp needs num >= 0, den > 0');
  if (num <= den) {
    let k = 1n;
    while (bernoulli(r, num, den * k)) k++;
    return k % 2n === 1n;
  }
  for (let i = 0n; i < num / den; i++) if (!bernoulliExp(r, 1n, 1n)) return false;
  return bernoulliExp(r, num % den, den);
}

/**
 * One draw of the discrete Laplace distribution with scale t = num/den, P(k) ∝ exp(-|k|/t) over the
 * integers (CKS 2020, Algorithm 2: scale t/s with s = den, t = num).
 */
export function discreteLaplace(r: RandomSource, scale: Rational): bigint {
  const { num: t, den: s } = scale;
  if (t <= 0n || s <= 0n) throw new RangeError('discrete Laplace needs a positive scale');
  for (;;) {
    const u = r.below(t);
    if (!bernoulliExp(r, u, t)) continue;
    let v = 0n;
    while (bernoulliExp(r, 1n, 1n)) v++;
    const y = (u + t * v) / s;
    const negative = r.below(2n) === 1n;
    if (negative && y === 0n) continue;
    return negative ? -y : y;
  }
}

/**
 * Discrete Laplace with scale `scale`, conditioned on |k| <= tail (rejection, so the support is
 * symmetric: [-tail, tail]). With tail = LAPLACE_TAIL·t the rejected mass is about e^-40.
 */
export function truncatedDiscreteLaplace(r: RandomSource, scale: Rational, tail: bigint): bigint {
  for (;;) {
    const k = discreteLaplace(r, scale);
    if (k <= tail && k >= -tail) return k;
  }
}

/** Bits below the Laplace scale at which real-valued noise lives: grid γ = 2^(⌈log2 b⌉ − GRID_BITS). */
export const GRID_BITS = 20;

/** The power-of-two grid of real-valued noise of scale b (see `GRID_BITS`). */
export function noiseGrid(b: number): number {
  return 2 ** (Math.ceil(Math.log2(b)) - GRID_BITS);
}

/**
 * Laplace noise of scale `b` on the grid `grid` (an integer multiple of it): k·grid with k discrete
 * Laplace of scale b/grid, truncated at ±⌈tailScales·b/grid⌉. Exact: b and grid are doubles, hence
 * dyadic rationals, and so is their quotient.
 */
export function gridLaplace(r: RandomSource, b: number, grid: number, tailScales: number): number {
  const rb = rationalOf(b);
  const rg = rationalOf(grid);
  const scale: Rational = { num: rb.num * rg.den, den: rb.den * rg.num };
  const tail = BigInt(Math.ceil((tailScales * b) / grid));
  return Number(truncatedDiscreteLaplace(r, scale, tail)) * grid;
}
