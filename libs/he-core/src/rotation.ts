/**
 * Rotation planning: which Galois keys a rotation or a slot sum needs (pure).
 *
 * A CKKS left rotation by k slots is the Galois automorphism X -> X^(5^k mod 2N) (Cheon, Kim, Kim, Song,
 * "Homomorphic Encryption for Arithmetic of Approximate Numbers", ASIACRYPT 2017, section 4; SEAL
 * `GaloisTool::get_elt_from_step`). Each step needs its own key-switching key, so keysets carry keys only
 * for the steps a plan needs, and other steps are composed from those (k = sum of available steps).
 * @module
 */
import { HeError } from './errors.js';

function isPowerOfTwo(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

export function checkWidth(width: number, slots: number): void {
  if (!isPowerOfTwo(width) || width > slots) {
    throw new HeError('BAD_ARGUMENT', `width must be a power of two in 1..${slots}, got ${String(width)}`);
  }
}

/**
 * Rotation steps `sumSlots(width)` needs: [1, 2, 4, ..., width/2] (log2(width) rotate-and-add rounds;
 * Halevi-Shoup "Algorithms in HElib", CRYPTO 2014, the "total sums" routine).
 */
export function rotationStepsForWidth(width: number): number[] {
  if (!isPowerOfTwo(width) || width > 1 << 15) {
    throw new HeError('BAD_ARGUMENT', `width must be a power of two up to 32768, got ${String(width)}`);
  }
  const out: number[] = [];
  for (let s = 1; s < width; s *= 2) out.push(s);
  return out;
}

/**
 * Splits a left rotation by `steps` into rotations the keyset has keys for, or returns null.
 * Tries, in order: the step itself (or its negative equivalent k - slots), its binary decomposition into
 * available positive powers of two, and the binary decomposition of the right rotation slots - k into
 * available negative powers of two.
 */
export function planRotation(steps: number, available: ReadonlySet<number>, slots: number): number[] | null {
  const k = ((steps % slots) + slots) % slots;
  if (k === 0) return [];
  if (available.has(k)) return [k];
  if (available.has(k - slots)) return [k - slots];
  const viaBits = (m: number, sign: 1 | -1): number[] | null => {
    const out: number[] = [];
    for (let bit = 1; bit <= m; bit *= 2) {
      if ((m & bit) === 0) continue;
      if (!available.has(sign * bit)) return null;
      out.push(sign * bit);
    }
    return out;
  };
  return viaBits(k, 1) ?? viaBits(slots - k, -1);
}
