/**
 * Index arithmetic of the RFC 6962 tree shape. Sizes and indexes are JS numbers bounded by
 * Number.MAX_SAFE_INTEGER (2^53 - 1 leaves is far beyond any ledger this project will hold), so
 * plain arithmetic is used instead of 32-bit bitwise operators.
 */

/** A complete (perfect) subtree: `level` = height (0 = a leaf), covering leaves [index·2^level, (index+1)·2^level). */
export interface NodeKey {
  readonly level: number;
  readonly index: number;
}

/** Throws a RangeError unless `value` is a non-negative safe integer. */
export function sizeArg(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name}: expected a non-negative safe integer, got ${String(value)}`);
  }
  return value;
}

/** The largest power of two strictly smaller than n (n >= 2): the split point k of RFC 6962 §2.1. */
export function splitPoint(n: number): number {
  if (n < 2) throw new RangeError(`splitPoint: n must be >= 2, got ${n}`);
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * The perfect subtrees whose hashes, folded right to left with nodeHash, give MTH(D[begin:end]),
 * largest first. Valid for every node of an RFC 6962 tree: such a node starts at a multiple of
 * the smallest power of two >= its width, so each piece of the binary decomposition of the width
 * is itself aligned (a stored complete subtree).
 */
export function subtreeKeys(begin: number, end: number): NodeKey[] {
  if (!(begin < end)) throw new RangeError(`subtreeKeys: empty range [${begin}, ${end})`);
  const keys: NodeKey[] = [];
  let at = begin;
  let width = end - begin;
  while (width > 0) {
    let size = 1;
    let level = 0;
    while (size * 2 <= width) {
      size *= 2;
      level++;
    }
    if (at % size !== 0) throw new RangeError(`subtreeKeys: [${begin}, ${end}) is not a node of an RFC 6962 tree`);
    keys.push({ level, index: at / size });
    at += size;
    width -= size;
  }
  return keys;
}

/** The complete subtrees making up a tree of `size` leaves (its "frontier"), largest (leftmost) first. */
export function frontierKeys(size: number): NodeKey[] {
  return size === 0 ? [] : subtreeKeys(0, size);
}

/** Map key for a NodeKey. */
export function nodeKeyString(key: NodeKey): string {
  return `${key.level}:${key.index}`;
}
