/**
 * CKKS parameter presets and their canonical identifiers.
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

/** Stable textual identifier, e.g. `ckks-8192-60.35.35.60-s35`. Validates `p`. */
export function paramsId(p: HeParams): string {
  validateParams(p);
  return `ckks-${p.polyModulusDegree}-${p.coeffModulusBits.join('.')}-s${p.scaleBits}`;
}

/** Number of CKKS slots: N/2. */
export function slotCount(p: HeParams): number {
  validateParams(p);
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

const ID_RE = /^ckks-(8192|16384)-(\d{1,2}(?:\.\d{1,2}){1,15})-s(\d{1,2})$/;

/** Inverse of {@link paramsId}; throws `CORRUPT` on anything that is not a valid identifier. */
export function parseParamsId(id: string): HeParams {
  const m = ID_RE.exec(id);
  if (m === null) throw new HeError('CORRUPT', 'unrecognised parameters identifier');
  const p: HeParams = {
    scheme: 'ckks',
    polyModulusDegree: Number(m[1]) as 8192 | 16384,
    coeffModulusBits: m[2]!.split('.').map(Number),
    scaleBits: Number(m[3]),
  };
  try {
    validateParams(p);
  } catch (e) {
    throw new HeError('CORRUPT', `invalid parameters identifier (${(e as Error).message})`);
  }
  return p;
}

/** True when both parameter sets are the same (same identifier). */
export function sameParams(a: HeParams, b: HeParams): boolean {
  return paramsId(a) === paramsId(b);
}

/**
 * Checks a parameter set before SEAL sees it (SEAL would otherwise throw untyped errors or, for some
 * inputs, abort). Throws `BAD_PARAMS` with the first problem found.
 */
export function validateParams(p: HeParams): void {
  if (typeof p !== 'object' || p === null) throw new HeError('BAD_PARAMS', 'params must be an object');
  if (p.scheme !== 'ckks') throw new HeError('BAD_PARAMS', `scheme must be 'ckks', got ${String(p.scheme)}`);
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
    throw new HeError('BAD_PARAMS', `coefficient modulus of ${total} bits exceeds ${max} bits (128-bit security at N=${p.polyModulusDegree})`);
  }
  if (!Number.isInteger(p.scaleBits) || p.scaleBits < 20 || p.scaleBits > 60) {
    throw new HeError('BAD_PARAMS', `scaleBits must be an integer in 20..60, got ${String(p.scaleBits)}`);
  }
  const special = bits[bits.length - 1]!;
  if (bits.slice(0, -1).some((b) => b > special)) {
    throw new HeError('BAD_PARAMS', 'the last (special) prime must be at least as large as every other prime');
  }
  const { baseBits } = modulusLayout(p);
  if (baseBits <= p.scaleBits) {
    throw new HeError('BAD_PARAMS', `bottom-level modulus (${baseBits} bits) must exceed the scale (${p.scaleBits} bits)`);
  }
}
