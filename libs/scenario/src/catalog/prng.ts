/**
 * Seeded pseudo-random numbers for the synthetic catalog data. Never used for anything secret:
 * the generators must be reproducible (same seed, same rows), so `Math.random` is not allowed.
 *
 * - Generator: sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, 128-bit state, as in
 *   PractRand), seeded through cyrb128 string hashing and warmed up by 12 outputs.
 * - Seed-independent membership hashing: murmur3's 32-bit finalizer (fmix32).
 */

/** cyrb128: four 32-bit words from a string; used only to derive seeds. */
export function hash128(text: string): [number, number, number, number] {
  let h1 = 1779033703,
    h2 = 3144134277,
    h3 = 1013904242,
    h4 = 2773480762;
  for (let i = 0; i < text.length; i++) {
    const k = text.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

/** murmur3 fmix32: a bijective 32-bit mixer. */
export function fmix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A seed-independent hash of (tag, k) to [0, 1): which entities a role holds does not depend on
 * the seed, so consumer key lists can be derived from row counts alone.
 */
export function unitHash(tag: string, k: number): number {
  if (!Number.isSafeInteger(k) || k < 0) throw new RangeError(`unitHash: k must be a non-negative safe integer, got ${k}`);
  const t = hash128(tag)[0];
  const lo = k >>> 0;
  const hi = Math.floor(k / 2 ** 32) >>> 0;
  return fmix32(fmix32(t ^ lo) ^ Math.imul(hi ^ 0x9e3779b9, 0x85ebca6b)) / 2 ** 32;
}

/** A precomputed-tag variant of `unitHash` for hot loops. */
export function unitHasher(tag: string): (k: number) => number {
  const t = hash128(tag)[0];
  return (k: number) => {
    const lo = k >>> 0;
    const hi = Math.floor(k / 2 ** 32) >>> 0;
    return fmix32(fmix32(t ^ lo) ^ Math.imul(hi ^ 0x9e3779b9, 0x85ebca6b)) / 2 ** 32;
  };
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare: number | undefined;

  constructor(seed: readonly [number, number, number, number]) {
    [this.a, this.b, this.c, this.d] = seed;
    this.d = (this.d | 1) >>> 0; // avoid the all-zero state
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** A generator seeded from the given parts, e.g. `Rng.from(seed, scenarioId, role)`. */
  static from(...parts: (string | number)[]): Rng {
    return new Rng(hash128(parts.join('\u0000')));
  }

  /** sfc32 step: a uniform 32-bit unsigned integer. */
  u32(): number {
    this.a >>>= 0;
    this.b >>>= 0;
    this.c >>>= 0;
    this.d >>>= 0;
    const t = (this.a + this.b) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.d = (this.d + 1) | 0;
    const r = (t + this.d) | 0;
    this.c = (this.c + r) | 0;
    return r >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Uniform integer in [lo, hi], both inclusive. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  bernoulli(p: number): boolean {
    return this.next() < p;
  }

  /** Standard normal by the Marsaglia polar method. */
  gauss(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    let u: number, v: number, s: number;
    do {
      u = 2 * this.next() - 1;
      v = 2 * this.next() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const m = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = v * m;
    return u * m;
  }

  normal(mean: number, sd: number): number {
    return mean + sd * this.gauss();
  }

  /** Log-normal with the given median and log-scale sigma (median · e^(σZ)). */
  logNormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.gauss());
  }

  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }

  /** Poisson: Knuth's product method for small means, a rounded normal beyond 30. */
  poisson(mean: number): number {
    if (mean <= 0) return 0;
    if (mean > 30) return Math.max(0, Math.round(this.normal(mean, Math.sqrt(mean))));
    const limit = Math.exp(-mean);
    let k = 0;
    let p = this.next();
    while (p > limit) {
      k++;
      p *= this.next();
    }
    return k;
  }

  binomial(n: number, p: number): number {
    let k = 0;
    for (let i = 0; i < n; i++) if (this.next() < p) k++;
    return k;
  }

  /** Gamma(shape, 1) by Marsaglia and Tsang (2000); shape < 1 through the boost u^(1/shape). */
  gamma(shape: number): number {
    if (shape < 1) return this.gamma(shape + 1) * Math.pow(this.next(), 1 / shape);
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number, v: number;
      do {
        x = this.gauss();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.next();
      if (u < 1 - 0.0331 * x * x * x * x || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  }

  /** Beta(a, b) from two gammas. */
  beta(a: number, b: number): number {
    const x = this.gamma(a);
    return x / (x + this.gamma(b));
  }
}

/** Draws values with given relative weights (cumulative table + binary search). */
export class Weighted<T> {
  private readonly cumulative: number[];

  constructor(
    readonly values: readonly T[],
    weights: readonly number[],
  ) {
    if (values.length === 0 || values.length !== weights.length) {
      throw new RangeError(`Weighted: need as many weights as values (got ${weights.length} for ${values.length})`);
    }
    let sum = 0;
    this.cumulative = weights.map((w) => {
      if (!(w >= 0) || !Number.isFinite(w)) throw new RangeError(`Weighted: weights must be finite and >= 0, got ${w}`);
      return (sum += w);
    });
    if (sum <= 0) throw new RangeError('Weighted: weights sum to 0');
  }

  pick(rng: Rng): T {
    const x = rng.next() * this.cumulative[this.cumulative.length - 1];
    let lo = 0,
      hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cumulative[mid] > x) hi = mid;
      else lo = mid + 1;
    }
    return this.values[lo];
  }
}

export function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

/** Rounds to `digits` decimals (values are reported at the precision a real system would keep). */
export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
