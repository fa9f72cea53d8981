/**
 * RFC 6962 §2.1 hashing: SHA-256 with domain separation between leaves and interior nodes,
 * so that a leaf can never be passed off as a node (second-preimage resistance of the tree).
 */
import { createHash, hash as oneShotHash } from 'node:crypto';

/** Output length of SHA-256, the hash of every node of the tree. */
export const HASH_SIZE = 32;

const LEAF_PREFIX = 0x00;
const NODE_PREFIX = 0x01;

/**
 * Scratch buffer for the prefixed hash input. crypto.hash (one-shot, Node >= 20.12) reads its input
 * synchronously, so reusing one buffer is safe; it is ~40% faster than a createHash object per node.
 */
const SCRATCH_SIZE = 4096;
const scratch = Buffer.alloc(SCRATCH_SIZE);

function sha256(input: Uint8Array): Uint8Array {
  return plain(oneShotHash('sha256', input, 'buffer'));
}

/** A Buffer's bytes as a plain Uint8Array view (no copy), so every hash has one type. */
function plain(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** MTH({}) = SHA-256() — the root of the empty tree (RFC 6962 §2.1). */
export const EMPTY_ROOT: Uint8Array = plain(createHash('sha256').digest());

function bytesArg(value: unknown, name: string): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(`${name}: expected Uint8Array, got ${value === null ? 'null' : typeof value}`);
  }
  return value;
}

/** Checks that `value` is a 32-byte hash; `name` goes into the error message. */
export function hashArg(value: unknown, name: string): Uint8Array {
  const b = bytesArg(value, name);
  if (b.length !== HASH_SIZE) throw new RangeError(`${name}: expected ${HASH_SIZE} bytes, got ${b.length}`);
  return b;
}

/** MTH({d}) = SHA-256(0x00 || d) — RFC 6962 §2.1. */
export function leafHash(data: Uint8Array): Uint8Array {
  bytesArg(data, 'leafHash(data)');
  if (data.length >= SCRATCH_SIZE) {
    return plain(createHash('sha256').update(Uint8Array.of(LEAF_PREFIX)).update(data).digest());
  }
  scratch[0] = LEAF_PREFIX;
  scratch.set(data, 1);
  return sha256(scratch.subarray(0, data.length + 1));
}

/** leafHash of the UTF-8 bytes of `text` (the stored canonical JSON), without an intermediate copy. */
export function leafHashOfText(text: string): Uint8Array {
  if (typeof text !== 'string') throw new TypeError(`leafHashOfText(text): expected string, got ${typeof text}`);
  // A UTF-16 code unit never needs more than 3 UTF-8 bytes, so this bound guarantees no truncation.
  if (text.length * 3 >= SCRATCH_SIZE) return leafHash(Buffer.from(text, 'utf8'));
  scratch[0] = LEAF_PREFIX;
  const n = scratch.write(text, 1, 'utf8');
  return sha256(scratch.subarray(0, n + 1));
}

/** SHA-256(0x01 || left || right) — the interior node hash of RFC 6962 §2.1. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  hashArg(left, 'nodeHash(left)');
  hashArg(right, 'nodeHash(right)');
  scratch[0] = NODE_PREFIX;
  scratch.set(left, 1);
  scratch.set(right, 1 + HASH_SIZE);
  return sha256(scratch.subarray(0, 1 + 2 * HASH_SIZE));
}

/** Byte equality of two hashes (the values compared are public, so no constant-time need). */
export function hashesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Lower-case hex of a hash, the form stored in SQL columns and shown to auditors. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Parses a 64-character hex hash; throws a RangeError naming `name` otherwise. */
export function hashFromHex(hex: string, name = 'hash'): Uint8Array {
  if (typeof hex !== 'string' || !/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new RangeError(`${name}: expected ${HASH_SIZE * 2} hex characters`);
  }
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}
