/**
 * CKKS and BFV parameter presets and their canonical identifiers.
 *
 * Security: the total coefficient-modulus bit count must not exceed the bound of the Homomorphic
 * Encryption Security Standard (Albrecht et al., 2018, Table 1, ternary secret, 128-bit classical),
 * which SEAL ships as `CoeffModulus::MaxBitCount` (native/src/seal/util/hestdparms.h):
 * 218 bits for N=8192 and 438 bits for N=16384. `params.spec.ts` checks these constants against SEAL.
 * @module
 */
import { HeError } from './errors.js';

export interface HeParams {
  scheme: 'ckks';
  polyModulusDegree: 8192 | 16384;
  /** Bit sizes of the coefficient-modulus primes: [first, rescale primes..., special (key-switching) prime]. */
  coeffModulusBits: number[];
  /** log2 of the encoding scale. */
  scaleBits: number;
}

/**
 * BFV parameters (Brakerski 2012, Fan-Vercauteren 2012): exact integer arithmetic modulo the plain
 * modulus t, a prime with t = 1 mod 2N so that N integers are batched per ciphertext (SEAL
 * `PlainModulus::Batching`, "bfv_basics"/"batch_encoder" examples). Results are exact as long as every
 * intermediate value stays in (-t/2, t/2); the BFV engine tracks a worst-case bound to guarantee it.
 */
export interface BfvParams {
  scheme: 'bfv';
  polyModulusDegree: 8192 | 16384;
  /** Bit sizes of the coefficient-modulus primes, the last being the special (key-switching) prime. */
  coeffModulusBits: number[];
  /** Bit size b of the batching prime t: 2^(b-1) < t < 2^b. */
  plainModulusBits: number;
}

/** Parameters of either scheme. */
export type AnyHeParams = HeParams | BfvParams;

/** SEAL's `CoeffModulus.MaxBitCount(N, tc128)` (HE standard, 128-bit security). */
export const MAX_COEFF_BITS_128: Readonly<Record<8192 | 16384, number>> = { 8192: 218, 16384: 438 };

/** The bottom-level modulus is split into two 33-bit primes (66 bits together); see {@link ckksParamsForDepth}. */
const BASE_PRIME_BITS = [33, 33] as const;
const BASE_BITS = 66;
const SPECIAL_PRIME_BITS = 60;
const RESCALE_PRIME_BITS = 40;
const SCALE_BITS = 40;

/** Largest depth (number of rescales) a preset at degree `n` supports. */
function maxDepthFor(n: 8192 | 16384): number {
  return Math.floor((MAX_COEFF_BITS_128[n] - BASE_BITS - SPECIAL_PRIME_BITS) / RESCALE_PRIME_BITS);
}

/** Deepest circuit any preset supports (N=16384: floor((438-126)/40) = 7 rescales). */
export const MAX_DEPTH = maxDepthFor(16384);

/**
 * Preset for a circuit needing `depth` rescales: scale 2^40 and coefficient modulus
 * [33, 33, 40 x depth, 60] at N=8192 while the total fits 218 bits (depth <= 2: 206 bits), else at
 * N=16384 (depth <= 7: 406 <= 438 bits). Deeper circuits throw `DEPTH_EXCEEDED`.
 *
 * Why these sizes (all measured on node-seal 6.0.3, N=8192):
 * - Each rescale divides by a 40-bit prime q ~ 2^40 = scale, so the scale stays near 2^40 along the chain.
 * - The bottom level keeps a 66-bit modulus (two 33-bit primes): with scale 2^40 that leaves
 *   2^(66-40-1) = 2^25 ~ 3.3e7 of signed headroom, so sums of 10^6+ values normalised to [0, 1] by their
 *   column bounds never wrap (a sum of 10^6 ones is 2^60 < 2^65 at the bottom level).
 * - Scale 2^40 rather than 2^35: a public-key encryption carries noise whose constant coefficient sums
 *   into every slot of a full slot sum, giving an absolute error of ~1e-5 (normalised units) at 2^35,
 *   i.e. worse than 1e-6 relative for sums of fewer than ~30 values; at 2^40 it is ~2e-7.
 * - Two 33-bit primes (SEAL primes have at most 60 bits) rather than the textbook [60, 40 x depth, 60]
 *   (SEAL "ckks_basics"), whose one 60-bit bottom prime would leave only 2^19 of headroom and hurts
 *   key switching: SEAL key switching (relinearisation, rotations)
 *   decomposes by RNS prime and divides by the single special prime P, so its noise grows with
 *   max(q_i)/P. With a 60-bit q_0 and a 60-bit P one rotation added ~1e-5 absolute error per slot
 *   (30x a fresh encryption's); with every q_i <= 40 bits it stays at the encryption-noise level.
 * - The last (special) prime, 60 bits, is used only for key switching and must be at least as large as
 *   every other prime (SEAL examples, "ckks_basics").
 */
export function ckksParamsForDepth(depth: number): HeParams {
  if (!Number.isSafeInteger(depth) || depth < 0) {
    throw new HeError('BAD_ARGUMENT', `depth must be a non-negative integer, got ${String(depth)}`);
  }
  if (depth > MAX_DEPTH) {
    throw new HeError('DEPTH_EXCEEDED', `depth ${depth} exceeds the deepest 128-bit preset (${MAX_DEPTH} rescales at N=16384)`);
  }
  const n: 8192 | 16384 = depth <= maxDepthFor(8192) ? 8192 : 16384;
  return {
    scheme: 'ckks',
    polyModulusDegree: n,
    coeffModulusBits: [...BASE_PRIME_BITS, ...Array.from({ length: depth }, () => RESCALE_PRIME_BITS), SPECIAL_PRIME_BITS],
    scaleBits: SCALE_BITS,
  };
}

/**
 * SEAL's `CoeffModulus::BFVDefault(N, tc128)` bit sizes (native/src/seal/util/globals.cpp): the largest
 * modulus the HE standard allows at 128-bit security, split into primes of at most 60 bits.
 * `params.spec.ts` checks them against SEAL.
 */
export const BFV_DEFAULT_COEFF_BITS: Readonly<Record<8192 | 16384, readonly number[]>> = {
  8192: [43, 43, 44, 44, 44],
  16384: [48, 48, 48, 49, 49, 49, 49, 49, 49],
};

/** Smallest plain modulus a BFV preset uses: 2^20 (SEAL's "bfv_basics" example size) or more. */
export const MIN_PLAIN_BITS = 20;
/** Largest: SEAL plain moduli have at most 60 bits (`SEAL_PLAIN_MOD_BIT_COUNT_MAX`). */
export const MAX_PLAIN_BITS = 60;
/** Largest plain modulus the presets use at N=8192; larger ones move to N=16384 for noise budget. */
export const MAX_PLAIN_BITS_8192 = 40;

/**
 * Largest magnitude a BFV preset with a `bits`-bit plain modulus can hold exactly: t > 2^(bits-1), and a
 * signed value v is represented exactly when |v| <= (t-1)/2, so 2^(bits-2) always fits.
 */
export function bfvCapacity(bits: number): number {
  return 2 ** (bits - 2);
}

/**
 * BFV preset for exact integer results of magnitude at most `maxAbs` (the plan's worst case, e.g. a count
 * over 10^6 rows or a sum of 10^6 values bounded by 50 = 5·10^7): SEAL's default 128-bit coefficient
 * modulus and the smallest batching plain modulus of at least {@link MIN_PLAIN_BITS} bits whose capacity
 * ({@link bfvCapacity}) covers `maxAbs`, at N=8192 up to {@link MAX_PLAIN_BITS_8192} bits and at N=16384
 * beyond (or with `deep`). A magnitude no plain modulus can hold is `MAGNITUDE_EXCEEDED`, never a silent
 * wrap-around.
 *
 * Noise (SEAL invariant noise budget, bits, node-seal 6.0.3; `bfv.spec.ts` prints it step by step for
 * b = 20, 40, 41 and 60, and checks ct x ct products in its exhaustion test): a fresh ciphertext keeps
 * about 166 - b at N=8192 (174-bit data modulus) and 380 - b at N=16384; a plaintext product costs about
 * b to b + 5, a ciphertext product about b + 12, a full slot sum (13 or 14 rotations) about 10. So every
 * preset runs "weights, then a group mask, then a full sum" with budget to spare (about 30 bits left at
 * b = 40, N=8192; about 180 at b = 60, N=16384); decryption refuses an exhausted budget
 * (`NOISE_EXHAUSTED`).
 *
 * A plain modulus size equal to one of the coefficient primes' sizes is skipped: SEAL picks the largest
 * b-bit prime = 1 mod 2N for both, and the two moduli must differ.
 */
export function bfvParamsForMagnitude(maxAbs: number, opts: { deep?: boolean } = {}): BfvParams {
  if (typeof maxAbs !== 'number' || !Number.isFinite(maxAbs) || maxAbs < 0) {
    throw new HeError('BAD_ARGUMENT', `maxAbs must be a finite non-negative number, got ${String(maxAbs)}`);
  }
  const exceeded = () =>
    new HeError(
      'MAGNITUDE_EXCEEDED',
      `magnitude ${maxAbs} exceeds what a ${MAX_PLAIN_BITS}-bit BFV plain modulus holds exactly (2^${MAX_PLAIN_BITS - 2})`,
    );
  let bits = MIN_PLAIN_BITS;
  while (bfvCapacity(bits) < maxAbs) {
    if (++bits > MAX_PLAIN_BITS) throw exceeded();
  }
  const n: 8192 | 16384 = opts.deep || bits > MAX_PLAIN_BITS_8192 ? 16384 : 8192;
  const coeff = BFV_DEFAULT_COEFF_BITS[n];
  while (coeff.includes(bits)) {
    if (++bits > MAX_PLAIN_BITS) throw exceeded();
  }
  return { scheme: 'bfv', polyModulusDegree: n, coeffModulusBits: [...coeff], plainModulusBits: bits };
}

/**
 * Stable textual identifier, e.g. `ckks-8192-33.33.40.40.60-s40` or `bfv-8192-43.43.44.44.44-t28`.
 * Validates `p`.
 */
export function paramsId(p: AnyHeParams): string {
  validateParams(p);
  const head = `${p.scheme}-${p.polyModulusDegree}-${p.coeffModulusBits.join('.')}`;
  return p.scheme === 'ckks' ? `${head}-s${p.scaleBits}` : `${head}-t${p.plainModulusBits}`;
}

/** Values per ciphertext: N/2 for CKKS, N for BFV (two batching rows of N/2). */
export function slotCount(p: AnyHeParams): number {
  validateParams(p);
  return p.scheme === 'ckks' ? p.polyModulusDegree / 2 : p.polyModulusDegree;
}

/**
 * Slots a rotation step ranges over: N/2 in both schemes (the CKKS vector; one BFV batching row, where a
 * rotation moves both rows alike and step 0 names the swap of the two rows).
 */
export function rotationSlots(p: AnyHeParams): number {
  return p.polyModulusDegree / 2;
}

/**
 * Layout of a parameter set: the last prime is the special (key-switching) prime; of the data primes,
 * the trailing run of primes whose size equals `scaleBits` are the rescale primes (one per level), and
 * the primes before them form the bottom-level modulus ("base").
 */
export function modulusLayout(p: HeParams): { basePrimes: number; baseBits: number; rescalePrimes: number } {
  const data = p.coeffModulusBits.slice(0, -1);
  let r = 0;
  while (r < data.length - 1 && data[data.length - 1 - r] === p.scaleBits) r++;
  const basePrimes = data.length - r;
  return { basePrimes, baseBits: data.slice(0, basePrimes).reduce((s, b) => s + b, 0), rescalePrimes: r };
}

/** Number of rescales the parameters allow (the rescale primes of {@link modulusLayout}). */
export function maxLevel(p: HeParams): number {
  return modulusLayout(p).rescalePrimes;
}

const ID_RE = /^(ckks|bfv)-(8192|16384)-(\d{1,2}(?:\.\d{1,2}){1,15})-([st])(\d{1,2})$/;

/** Inverse of {@link paramsId}; throws `CORRUPT` on anything that is not a valid identifier. */
export function parseParamsId(id: string): AnyHeParams {
  const m = ID_RE.exec(id);
  if (m === null || (m[1] === 'ckks') !== (m[4] === 's')) throw new HeError('CORRUPT', 'unrecognised parameters identifier');
  const polyModulusDegree = Number(m[2]) as 8192 | 16384;
  const coeffModulusBits = m[3]!.split('.').map(Number);
  const p: AnyHeParams =
    m[1] === 'ckks'
      ? { scheme: 'ckks', polyModulusDegree, coeffModulusBits, scaleBits: Number(m[5]) }
      : { scheme: 'bfv', polyModulusDegree, coeffModulusBits, plainModulusBits: Number(m[5]) };
  try {
    validateParams(p);
  } catch (e) {
    throw new HeError('CORRUPT', `invalid parameters identifier (${(e as Error).message})`);
  }
  return p;
}

/** True when both parameter sets are the same (same identifier). */
export function sameParams(a: AnyHeParams, b: AnyHeParams): boolean {
  return paramsId(a) === paramsId(b);
}

/**
 * Checks a parameter set before SEAL sees it (SEAL would otherwise throw untyped errors or, for some
 * inputs, abort). Throws `BAD_PARAMS` with the first problem found.
 */
export function validateParams(p: AnyHeParams): void {
  if (typeof p !== 'object' || p === null) throw new HeError('BAD_PARAMS', 'params must be an object');
  const scheme: unknown = (p as { scheme?: unknown }).scheme;
  if (scheme !== 'ckks' && scheme !== 'bfv') throw new HeError('BAD_PARAMS', `scheme must be 'ckks' or 'bfv', got ${String(scheme)}`);
  if (p.polyModulusDegree !== 8192 && p.polyModulusDegree !== 16384) {
    throw new HeError('BAD_PARAMS', `polyModulusDegree must be 8192 or 16384, got ${String(p.polyModulusDegree)}`);
  }
  const bits = p.coeffModulusBits;
  if (!Array.isArray(bits) || bits.length < 2 || bits.length > 16) {
    throw new HeError('BAD_PARAMS', 'coeffModulusBits must be an array of 2..16 prime bit sizes');
  }
  for (const [i, b] of bits.entries()) {
    // SEAL's CoeffModulus::Create accepts 1..60 bits (SEAL_USER_MOD_BIT_COUNT_MAX); below 20 bits there
    // are too few NTT-friendly primes for these degrees to be useful.
    if (!Number.isInteger(b) || b < 20 || b > 60) {
      throw new HeError('BAD_PARAMS', `coeffModulusBits[${i}] must be an integer in 20..60, got ${String(b)}`);
    }
  }
  const total = bits.reduce((s, b) => s + b, 0);
  const max = MAX_COEFF_BITS_128[p.polyModulusDegree];
  if (total > max) {
    throw new HeError(
      'BAD_PARAMS',
      `coefficient modulus of ${total} bits exceeds ${max} bits (128-bit security at N=${p.polyModulusDegree})`,
    );
  }
  const special = bits[bits.length - 1]!;
  if (bits.slice(0, -1).some((b) => b > special)) {
    throw new HeError('BAD_PARAMS', 'the last (special) prime must be at least as large as every other prime');
  }
  if (p.scheme === 'bfv') {
    const t = p.plainModulusBits;
    if (!Number.isInteger(t) || t < MIN_PLAIN_BITS || t > MAX_PLAIN_BITS) {
      throw new HeError('BAD_PARAMS', `plainModulusBits must be an integer in ${MIN_PLAIN_BITS}..${MAX_PLAIN_BITS}, got ${String(t)}`);
    }
    if (bits.includes(t)) {
      throw new HeError('BAD_PARAMS', `plainModulusBits ${t} equals a coefficient prime size: SEAL would pick the same prime for both`);
    }
    return;
  }
  if (!Number.isInteger(p.scaleBits) || p.scaleBits < 20 || p.scaleBits > 60) {
    throw new HeError('BAD_PARAMS', `scaleBits must be an integer in 20..60, got ${String(p.scaleBits)}`);
  }
  const { baseBits } = modulusLayout(p);
  if (baseBits <= p.scaleBits) {
    throw new HeError('BAD_PARAMS', `bottom-level modulus (${baseBits} bits) must exceed the scale (${p.scaleBits} bits)`);
  }
}
