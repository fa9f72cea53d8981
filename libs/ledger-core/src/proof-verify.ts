/**
 * Proof verification exactly as RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency) state
 * it, on unsigned 64-bit sizes (bigint internally, so every uint64 test vector is taken as
 * written). The `assert*` forms throw a ProofError saying why; `verify*` return a boolean.
 */
import { EMPTY_ROOT, HASH_SIZE, hashesEqual, nodeHash } from './hash.js';

/** A tree size or leaf index: a safe-integer number or a bigint in [0, 2^64). */
export type TreeSize = number | bigint;

export type ProofErrorCode =
  | 'INDEX_OUT_OF_RANGE'
  | 'SIZE_ORDER'
  | 'BAD_HASH_LENGTH'
  | 'EMPTY_PROOF'
  | 'UNEXPECTED_PROOF'
  | 'PROOF_TOO_LONG'
  | 'PROOF_TOO_SHORT'
  | 'ROOT_MISMATCH';

/** A proof that does not verify, with a machine-readable reason. */
export class ProofError extends Error {
  override readonly name = 'ProofError';
  constructor(
    readonly code: ProofErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const MAX_U64 = (1n << 64n) - 1n;

function u64(value: unknown, name: string): bigint {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`${name}: expected a non-negative safe integer or a bigint, got ${value}`);
    }
    return BigInt(value);
  }
  if (typeof value === 'bigint') {
    if (value < 0n || value > MAX_U64) throw new RangeError(`${name}: ${value} is outside [0, 2^64)`);
    return value;
  }
  throw new TypeError(`${name}: expected number or bigint, got ${value === null ? 'null' : typeof value}`);
}

/** Hashes that come with a proof are data, so a wrong length is a failed proof, not a programming error. */
function proofHash(value: unknown, name: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${name}: expected Uint8Array`);
  if (value.length !== HASH_SIZE) {
    throw new ProofError('BAD_HASH_LENGTH', `${name}: expected ${HASH_SIZE} bytes, got ${value.length}`);
  }
  return value;
}

function proofArray(proof: unknown, name: string): Uint8Array[] {
  if (!Array.isArray(proof)) throw new TypeError(`${name}: expected an array of hashes`);
  return proof.map((p, i) => proofHash(p, `${name}[${i}]`));
}

/**
 * The root that `proof` implies for `leaf` at `index` in a tree of `size` leaves
 * (RFC 9162 §2.1.3.2 steps 1–5, without the final comparison).
 */
export function rootFromInclusionProof(leaf: Uint8Array, index: TreeSize, size: TreeSize, proof: readonly Uint8Array[]): Uint8Array {
  let fn = u64(index, 'leaf index');
  let sn = u64(size, 'tree size');
  const path = proofArray(proof, 'inclusion proof');
  let r = proofHash(leaf, 'leaf hash');
  if (fn >= sn) throw new ProofError('INDEX_OUT_OF_RANGE', `leaf index ${fn} is not below tree size ${sn}`);
  sn -= 1n;
  for (const p of path) {
    if (sn === 0n) throw new ProofError('PROOF_TOO_LONG', `inclusion proof has more than the needed hashes`);
    if ((fn & 1n) === 1n || fn === sn) {
      r = nodeHash(p, r);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new ProofError('PROOF_TOO_SHORT', `inclusion proof is missing hashes`);
  return r;
}

/** Throws a ProofError unless `proof` shows `leaf` at `index` in the tree of `size` leaves with root `root`. */
export function assertInclusion(leaf: Uint8Array, index: TreeSize, size: TreeSize, proof: readonly Uint8Array[], root: Uint8Array): void {
  const computed = rootFromInclusionProof(leaf, index, size, proof);
  if (!hashesEqual(computed, proofHash(root, 'root'))) {
    throw new ProofError('ROOT_MISMATCH', 'inclusion proof leads to a different root');
  }
}

/** RFC 9162 §2.1.3.2: true iff the inclusion proof verifies. Bad argument types still throw. */
export function verifyInclusion(
  leaf: Uint8Array,
  index: TreeSize,
  size: TreeSize,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  return accepts(() => assertInclusion(leaf, index, size, proof, root));
}

function isPowerOfTwo(n: bigint): boolean {
  return n > 0n && (n & (n - 1n)) === 0n;
}

/**
 * Throws a ProofError unless `proof` shows that the tree of `size2` leaves with root `root2`
 * extends the tree of `size1` leaves with root `root1` (RFC 9162 §2.1.4.2). Edge cases as in
 * transparency-dev/merkle: equal sizes need an empty proof and equal roots; size1 = 0 needs an
 * empty proof (and, here, root1 = MTH({}) since that is the only root an empty tree has).
 */
export function assertConsistency(
  size1: TreeSize,
  size2: TreeSize,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): void {
  const first = u64(size1, 'size1');
  const second = u64(size2, 'size2');
  const given = proofArray(proof, 'consistency proof');
  const r1 = proofHash(root1, 'root1');
  const r2 = proofHash(root2, 'root2');
  if (second < first) throw new ProofError('SIZE_ORDER', `size2 ${second} is smaller than size1 ${first}`);
  if (first === second || first === 0n) {
    if (given.length > 0) throw new ProofError('UNEXPECTED_PROOF', 'a consistency proof here must be empty');
    const expected = first === 0n ? EMPTY_ROOT : r2;
    if (!hashesEqual(r1, expected)) throw new ProofError('ROOT_MISMATCH', 'root1 does not match');
    return;
  }
  // Step 1.
  if (given.length === 0) throw new ProofError('EMPTY_PROOF', 'consistency proof is empty');
  // Step 2: a power-of-two old tree is itself a node of the new tree, so its root starts the path.
  const path = isPowerOfTwo(first) ? [r1, ...given] : given;
  // Steps 3–4.
  let fn = first - 1n;
  let sn = second - 1n;
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  // Step 5.
  let fr = path[0] as Uint8Array;
  let sr = fr;
  // Step 6.
  for (const c of path.slice(1)) {
    if (sn === 0n) throw new ProofError('PROOF_TOO_LONG', 'consistency proof has more than the needed hashes');
    if ((fn & 1n) === 1n || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  // Step 7.
  if (sn !== 0n) throw new ProofError('PROOF_TOO_SHORT', 'consistency proof is missing hashes');
  if (!hashesEqual(fr, r1)) throw new ProofError('ROOT_MISMATCH', 'consistency proof leads to a different root1');
  if (!hashesEqual(sr, r2)) throw new ProofError('ROOT_MISMATCH', 'consistency proof leads to a different root2');
}

/** RFC 9162 §2.1.4.2: true iff the consistency proof verifies. Bad argument types still throw. */
export function verifyConsistency(
  size1: TreeSize,
  size2: TreeSize,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): boolean {
  return accepts(() => assertConsistency(size1, size2, proof, root1, root2));
}

function accepts(check: () => void): boolean {
  try {
    check();
    return true;
  } catch (e) {
    if (e instanceof ProofError) return false;
    throw e;
  }
}
