/**
 * The right edge of an append-only RFC 6962 tree: one hash per complete subtree of the
 * decomposition of its size (at most log2(n) + 1 hashes). Enough to append leaves and to compute
 * the current root, so streaming verification needs O(log n) memory.
 */
import { EMPTY_ROOT, hashArg, nodeHash } from './hash.js';
import { frontierKeys, sizeArg } from './tree-math.js';

/** Called for every complete subtree that an append completes (leaf itself included, level 0). */
export type NodeSink = (level: number, index: number, hash: Uint8Array) => void;

export class Frontier {
  private readonly stack: Uint8Array[];
  private count: number;

  private constructor(size: number, stack: Uint8Array[]) {
    this.count = size;
    this.stack = stack;
  }

  /** An empty tree. */
  static empty(): Frontier {
    return new Frontier(0, []);
  }

  /** Rebuilds the frontier of a tree of `size` leaves from the hashes of `frontierKeys(size)`, in that order. */
  static fromHashes(size: number, hashes: readonly Uint8Array[]): Frontier {
    sizeArg(size, 'Frontier.fromHashes(size)');
    const want = frontierKeys(size).length;
    if (hashes.length !== want) {
      throw new RangeError(`Frontier.fromHashes: a tree of ${size} leaves needs ${want} hashes, got ${hashes.length}`);
    }
    hashes.forEach((h, i) => hashArg(h, `Frontier.fromHashes(hashes[${i}])`));
    return new Frontier(size, [...hashes]);
  }

  /** Number of leaves appended so far. */
  get size(): number {
    return this.count;
  }

  /** Current frontier hashes, largest subtree first (matches `frontierKeys(size)`). */
  hashes(): readonly Uint8Array[] {
    return [...this.stack];
  }

  /**
   * Appends one leaf hash. Each time the new leaf completes a subtree (its index is odd at that
   * level) the left sibling is popped and their parent pushed, as in a binary counter.
   */
  append(leaf: Uint8Array, sink?: NodeSink): void {
    let hash = leaf;
    let level = 0;
    let index = this.count;
    sink?.(0, index, hash);
    while (index % 2 === 1) {
      const left = this.stack.pop();
      if (left === undefined) throw new Error('Frontier: internal invariant broken (missing left sibling)');
      hash = nodeHash(left, hash);
      level++;
      index = (index - 1) / 2;
      sink?.(level, index, hash);
    }
    this.stack.push(hash);
    this.count++;
  }

  /** MTH of the leaves appended so far: the frontier folded right to left (RFC 6962 §2.1). */
  root(): Uint8Array {
    if (this.stack.length === 0) return EMPTY_ROOT.slice();
    let h = this.stack[this.stack.length - 1] as Uint8Array;
    for (let i = this.stack.length - 2; i >= 0; i--) h = nodeHash(this.stack[i] as Uint8Array, h);
    return h;
  }
}
