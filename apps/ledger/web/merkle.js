// RFC 6962 / RFC 9162 Merkle tree hashing and proof verification with WebCrypto, for the browser.
// Sizes and indexes are unsigned 64-bit (bigint inside), as in libs/ledger-core/src/proof-verify.ts,
// so the page checks proofs exactly as the CLI does.

export const HASH_SIZE = 32;
const MAX_U64 = (1n << 64n) - 1n;

/** A proof that does not verify, with a machine-readable code. */
export class ProofError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'ProofError';
    this.code = code;
  }
}

function subtle() {
  // WebCrypto exists only in secure contexts (https, or http on localhost / 127.0.0.1).
  if (!globalThis.crypto?.subtle) throw new Error('WebCrypto is not available: open the console over https or on localhost');
  return globalThis.crypto.subtle;
}

export async function sha256(bytes) {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('sha256: expected Uint8Array');
  return new Uint8Array(await subtle().digest('SHA-256', bytes));
}

export function concatBytes(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** RFC 6962 §2.1: leaf hash = SHA-256(0x00 || leaf data); the ledger's leaf data is the UTF-8 canonical JSON body. */
export async function leafHash(data) {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  if (!(bytes instanceof Uint8Array)) throw new TypeError('leafHash: expected a string or Uint8Array');
  return sha256(concatBytes(Uint8Array.of(0x00), bytes));
}

/** RFC 6962 §2.1: interior node hash = SHA-256(0x01 || left || right). */
export async function nodeHash(left, right) {
  return sha256(concatBytes(Uint8Array.of(0x01), left, right));
}

/** MTH({}) = SHA-256() (RFC 6962 §2.1). */
export const EMPTY_ROOT = hexToBytes('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');

export function bytesToHex(b) {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export function hexToBytes(hex) {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new TypeError('hexToBytes: expected an even-length hex string');
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Strict standard base64 (RFC 4648 §4): canonical padding only, else undefined. */
export function base64ToBytes(s) {
  if (typeof s !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) return undefined;
  let bin;
  try {
    bin = atob(s);
  } catch {
    return undefined;
  }
  const out = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  return bytesToBase64(out) === s ? out : undefined;
}

export function bytesToBase64(b) {
  let bin = '';
  for (const x of b) bin += String.fromCharCode(x);
  return btoa(bin);
}

export function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

function u64(value, name) {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0)
      throw new RangeError(`${name}: expected a non-negative safe integer or a bigint, got ${value}`);
    return BigInt(value);
  }
  if (typeof value === 'bigint') {
    if (value < 0n || value > MAX_U64) throw new RangeError(`${name}: ${value} is outside [0, 2^64)`);
    return value;
  }
  throw new TypeError(`${name}: expected number or bigint, got ${value === null ? 'null' : typeof value}`);
}

/** Hashes that come with a proof are data: a wrong length is a failed proof, not a programming error. */
function proofHash(value, name) {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${name}: expected Uint8Array`);
  if (value.length !== HASH_SIZE) throw new ProofError('BAD_HASH_LENGTH', `${name}: expected ${HASH_SIZE} bytes, got ${value.length}`);
  return value;
}

function proofArray(proof, name) {
  if (!Array.isArray(proof)) throw new TypeError(`${name}: expected an array of hashes`);
  return proof.map((p, i) => proofHash(p, `${name}[${i}]`));
}

/** The root that an inclusion proof implies for `leaf` at `index` in a tree of `size` leaves (RFC 9162 §2.1.3.2 steps 1-5). */
export async function rootFromInclusionProof(leaf, index, size, proof) {
  let fn = u64(index, 'leaf index');
  let sn = u64(size, 'tree size');
  const path = proofArray(proof, 'inclusion proof');
  let r = proofHash(leaf, 'leaf hash');
  if (fn >= sn) throw new ProofError('INDEX_OUT_OF_RANGE', `leaf index ${fn} is not below tree size ${sn}`);
  sn -= 1n;
  for (const p of path) {
    if (sn === 0n) throw new ProofError('PROOF_TOO_LONG', 'inclusion proof has more than the needed hashes');
    if ((fn & 1n) === 1n || fn === sn) {
      r = await nodeHash(p, r);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new ProofError('PROOF_TOO_SHORT', 'inclusion proof is missing hashes');
  return r;
}

/** Throws a ProofError unless the proof shows `leaf` at `index` in the tree of `size` leaves with `root` (RFC 9162 §2.1.3.2). */
export async function assertInclusion(leaf, index, size, proof, root) {
  const computed = await rootFromInclusionProof(leaf, index, size, proof);
  if (!equalBytes(computed, proofHash(root, 'root')))
    throw new ProofError('ROOT_MISMATCH', 'the inclusion proof leads to a different root');
}

function isPowerOfTwo(n) {
  return n > 0n && (n & (n - 1n)) === 0n;
}

/**
 * Throws a ProofError unless the proof shows that the tree of `size2` leaves (root2) extends the tree
 * of `size1` leaves (root1), RFC 9162 §2.1.4.2. Equal sizes need an empty proof and equal roots;
 * size1 = 0 needs an empty proof and root1 = MTH({}) (as transparency-dev/merkle and ledger-core).
 */
export async function assertConsistency(size1, size2, proof, root1, root2) {
  const first = u64(size1, 'size1');
  const second = u64(size2, 'size2');
  const given = proofArray(proof, 'consistency proof');
  const r1 = proofHash(root1, 'root1');
  const r2 = proofHash(root2, 'root2');
  if (second < first) throw new ProofError('SIZE_ORDER', `size2 ${second} is smaller than size1 ${first}`);
  if (first === second || first === 0n) {
    if (given.length > 0) throw new ProofError('UNEXPECTED_PROOF', 'a consistency proof here must be empty');
    if (!equalBytes(r1, first === 0n ? EMPTY_ROOT : r2)) throw new ProofError('ROOT_MISMATCH', 'root1 does not match');
    return;
  }
  // Step 1.
  if (given.length === 0) throw new ProofError('EMPTY_PROOF', 'consistency proof is empty');
  // Step 2: a power-of-two old tree is itself a node of the new tree, so its root starts the path.
  const path = isPowerOfTwo(first) ? [r1, ...given] : given;
  // Steps 3-4.
  let fn = first - 1n;
  let sn = second - 1n;
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  // Step 5.
  let fr = path[0];
  let sr = fr;
  // Step 6.
  for (const c of path.slice(1)) {
    if (sn === 0n) throw new ProofError('PROOF_TOO_LONG', 'consistency proof has more than the needed hashes');
    if ((fn & 1n) === 1n || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  // Step 7.
  if (sn !== 0n) throw new ProofError('PROOF_TOO_SHORT', 'consistency proof is missing hashes');
  if (!equalBytes(fr, r1)) throw new ProofError('ROOT_MISMATCH', 'the consistency proof leads to a different old root');
  if (!equalBytes(sr, r2)) throw new ProofError('ROOT_MISMATCH', 'the consistency proof leads to a different new root');
}

/** true iff the proof verifies; bad argument types still throw. */
export async function verifyInclusion(leaf, index, size, proof, root) {
  return accepts(() => assertInclusion(leaf, index, size, proof, root));
}

export async function verifyConsistency(size1, size2, proof, root1, root2) {
  return accepts(() => assertConsistency(size1, size2, proof, root1, root2));
}

async function accepts(check) {
  try {
    await check();
    return true;
  } catch (e) {
    if (e instanceof ProofError) return false;
    throw e;
  }
}

/**
 * MTH of a list of leaf hashes (RFC 6962 §2.1), built left to right with a stack of complete
 * subtrees, for the full-log check. `leaves` is an async iterable of 32-byte hashes.
 */
export class TreeBuilder {
  constructor() {
    /** @type {{ size: bigint, hash: Uint8Array }[]} complete subtrees, largest first */
    this.stack = [];
    this.size = 0;
  }

  async push(leaf) {
    let node = { size: 1n, hash: proofHash(leaf, 'leaf hash') };
    while (this.stack.length && this.stack[this.stack.length - 1].size === node.size) {
      const left = this.stack.pop();
      node = { size: left.size * 2n, hash: await nodeHash(left.hash, node.hash) };
    }
    this.stack.push(node);
    this.size += 1;
  }

  /** The root of all leaves pushed so far: the subtrees folded right to left. */
  async root() {
    if (this.stack.length === 0) return EMPTY_ROOT;
    let r = this.stack[this.stack.length - 1].hash;
    for (let i = this.stack.length - 2; i >= 0; i--) r = await nodeHash(this.stack[i].hash, r);
    return r;
  }
}
