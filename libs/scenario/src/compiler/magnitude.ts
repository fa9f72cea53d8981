/**
 * Slot-magnitude budget of a plan (compiler/README.md, "Magnitudes and gains").
 *
 * CKKS error is additive and roughly independent of the encoded value (~1e-9 per slot after
 * encryption, ~1e-7 after a 1024-slot rotate-and-sum at scale 2^40, measured on `#he-core`), so
 * relative accuracy comes from encoding every value as large as the modulus allows. The bottom
 * level of `#he-core`'s presets holds |slot| < 2^(66 - 40 - 1) = 2^25 (`HeEngine.maxMagnitude`).
 * The compiler multiplies each feature by a public power-of-two *gain* so the worst case the plan
 * allows (column bounds, row counts, Laplace tails) fills half of it, and the decoding divides it out.
 */

/** Largest |slot value| any ciphertext of a plan may hold: half of the 2^25 bottom-level headroom. */
export const SLOT_CAP = 2 ** 24;

/**
 * Worst-case |slot| of a metric's own value (a sum, a mean, a dot total, a score): half of
 * {@link SLOT_CAP}, so the difference of two metrics still fits without a rescaling mask.
 */
export const VALUE_CAP = 2 ** 23;

/** Laplace samples are capped at this many scales (circuit.ts `laplace`): the noise adds at most that much. */
export const LAPLACE_TAIL = 40;

/**
 * Blinding factors of a quotient's operands lie in [1, 2^BLIND_BITS) (log-uniform): a blinded output sits
 * one level above the bottom of the modulus chain, where 2^BLIND_BITS·SLOT_CAP still leaves 2^20 of headroom.
 */
export const BLIND_BITS = 20;

/**
 * Assumed bound on |value| of a private (consumer-encrypted) parameter: the compiler cannot see
 * private values, so it sizes their multipliers for |v| <= this (`PrivateInput.maxAbs`); the consumer
 * must refuse larger values (they could wrap modulo the bottom-level modulus).
 */
export const PRIVATE_PARAM_BOUND = 2 ** 8;

/** How far a Laplace sample of scale sens/ε can reach (LAPLACE_TAIL scales); 0 without noise (ε null). */
export function laplaceTail(sens: number, epsilon: number | null): number {
  return epsilon === null ? 0 : (LAPLACE_TAIL * sens) / epsilon;
}

/**
 * The gain of a value whose worst case is `worst` (slot units at gain 1) and whose noise reaches `tail`: the largest
 * power of two g with (worst + tail)·g <= VALUE_CAP.
 */
export function valueGain(worst: number, tail: number): number {
  return pow2floor(VALUE_CAP / (worst + tail));
}

/** Largest power of two <= x (x > 0, finite): gains stay exact binary fractions, so decoding is exact. */
export function pow2floor(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) throw new Error(`pow2floor needs a positive finite number, got ${x}`);
  let p = 2 ** Math.floor(Math.log2(x));
  // Math.log2 may round up just below a power of two
  if (p > x) p /= 2;
  return p;
}

/** log2 of a power of two. */
export function log2Exact(p: number): number {
  const e = Math.round(Math.log2(p));
  if (2 ** e !== p) throw new Error(`internal: ${p} is not a power of two`);
  return e;
}

/**
 * Splits a total gain `total` (a power of two) over factors whose per-row magnitudes are `maxRows`
 * into power-of-two gains whose product is exactly `total`, so that every factor's scaled magnitude
 * maxRow·gain is about the same (balanced magnitudes minimise the relative error of a ct × ct product,
 * which is the sum of the factors' relative errors).
 */
export function splitGain(total: number, maxRows: number[]): number[] {
  if (maxRows.length === 0) throw new Error('internal: splitGain needs at least one factor');
  const eTotal = log2Exact(total);
  const logs = maxRows.map((m) => Math.log2(m));
  const target = (eTotal + logs.reduce((a, b) => a + b, 0)) / maxRows.length;
  const exps = logs.map((l) => Math.floor(target - l));
  exps[exps.length - 1] = eTotal - exps.slice(0, -1).reduce((a, b) => a + b, 0);
  return exps.map((e) => 2 ** e);
}
