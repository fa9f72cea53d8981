/**
 * Naive recursive RFC 6962 §2.1 definitions — MTH, PATH and PROOF/SUBPROOF — transcribed
 * literally, O(n) per call. Only the property tests use them, as the reference the O(log n)
 * stored-subtree implementation must agree with.
 */
import { EMPTY_ROOT, nodeHash } from '../hash.js';

/** The k of §2.1: largest power of two smaller than n. */
function k(n: number): number {
  let p = 1;
  while (p * 2 < n) p *= 2;
  return p;
}

/** MTH(D[n]) over leaf hashes (MTH({d}) = leafHash(d) already applied by the caller). */
export function naiveRoot(leaves: readonly Uint8Array[]): Uint8Array {
  const n = leaves.length;
  if (n === 0) return EMPTY_ROOT;
  if (n === 1) return leaves[0] as Uint8Array;
  const split = k(n);
  return nodeHash(naiveRoot(leaves.slice(0, split)), naiveRoot(leaves.slice(split)));
}

/** PATH(m, D[n]) of §2.1.1. */
export function naivePath(m: number, leaves: readonly Uint8Array[]): Uint8Array[] {
  const n = leaves.length;
  if (n <= 1) return [];
  const split = k(n);
  if (m < split) return [...naivePath(m, leaves.slice(0, split)), naiveRoot(leaves.slice(split))];
  return [...naivePath(m - split, leaves.slice(split)), naiveRoot(leaves.slice(0, split))];
}

/** SUBPROOF(m, D[n], b) of §2.1.2. */
function subproof(m: number, leaves: readonly Uint8Array[], b: boolean): Uint8Array[] {
  const n = leaves.length;
  if (m === n) return b ? [] : [naiveRoot(leaves)];
  const split = k(n);
  if (m <= split) return [...subproof(m, leaves.slice(0, split), b), naiveRoot(leaves.slice(split))];
  return [...subproof(m - split, leaves.slice(split), false), naiveRoot(leaves.slice(0, split))];
}

/** PROOF(m, D[n]) = SUBPROOF(m, D[n], true) of §2.1.2 (defined for 0 < m <= n; [] otherwise). */
export function naiveConsistency(m: number, leaves: readonly Uint8Array[]): Uint8Array[] {
  if (m === 0 || m === leaves.length) return [];
  return subproof(m, leaves, true);
}
