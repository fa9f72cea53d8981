/**
 * Storage port of the Merkle log. The tree keeps the hash of every complete subtree, keyed by
 * (level, index), which makes every root and proof cost O(log n) reads. Async so that a SQL
 * store (apps/ledger, table `ledger_nodes`) can implement it; `MemoryTreeStore` serves tests
 * and benchmarks.
 */
import { HASH_SIZE, hashArg } from './hash.js';
import { sizeArg, type NodeKey } from './tree-math.js';

/** A complete subtree hash to be stored. */
export interface TreeNode extends NodeKey {
  readonly hash: Uint8Array;
}

/** Read side: the hashes of complete subtrees, in the order asked; `undefined` where not stored. */
export interface NodeReader {
  getNodes(keys: readonly NodeKey[]): Promise<ReadonlyArray<Uint8Array | undefined>>;
}

export interface TreeStore extends NodeReader {
  /** Number of leaves whose nodes are committed. */
  getLeafCount(): Promise<number>;
  /**
   * Stores the nodes produced by appending leaves `from .. to-1` and sets the leaf count to `to`,
   * atomically (one transaction in SQL). Must fail if the current leaf count is not `from`, so
   * that two writers can never interleave appends (compare-and-set).
   */
  putNodes(nodes: readonly TreeNode[], sizes: { readonly from: number; readonly to: number }): Promise<void>;
}

/** Thrown when a store's content contradicts the tree shape (a node missing, a lost race). */
export class TreeStoreError extends Error {
  override readonly name = 'TreeStoreError';
}

/** A growable array of 32-byte hashes in one contiguous buffer (2·10^6 nodes ≈ 64 MB, no per-node objects). */
class HashColumn {
  private buf = new Uint8Array(HASH_SIZE * 1024);
  length = 0;

  get(index: number): Uint8Array | undefined {
    if (index < 0 || index >= this.length) return undefined;
    return this.buf.slice(index * HASH_SIZE, (index + 1) * HASH_SIZE);
  }

  set(index: number, hash: Uint8Array): void {
    if (index > this.length) throw new TreeStoreError(`MemoryTreeStore: gap before node index ${index}`);
    if (index === this.length) {
      if ((index + 1) * HASH_SIZE > this.buf.length) {
        const bigger = new Uint8Array(this.buf.length * 2);
        bigger.set(this.buf);
        this.buf = bigger;
      }
      this.length++;
    }
    this.buf.set(hash, index * HASH_SIZE);
  }
}

/** In-memory TreeStore for tests and benchmarks. */
export class MemoryTreeStore implements TreeStore {
  private readonly levels: HashColumn[] = [];
  private leafCount = 0;

  async getLeafCount(): Promise<number> {
    return this.leafCount;
  }

  async getNodes(keys: readonly NodeKey[]): Promise<ReadonlyArray<Uint8Array | undefined>> {
    return keys.map((k) => this.getNode(k));
  }

  /** Synchronous read of one node (copy), for tests and the benchmark. */
  getNode(key: NodeKey): Uint8Array | undefined {
    return this.levels[key.level]?.get(key.index);
  }

  async putNodes(nodes: readonly TreeNode[], sizes: { readonly from: number; readonly to: number }): Promise<void> {
    sizeArg(sizes.from, 'putNodes(sizes.from)');
    sizeArg(sizes.to, 'putNodes(sizes.to)');
    if (sizes.from !== this.leafCount) {
      throw new TreeStoreError(`MemoryTreeStore: leaf count is ${this.leafCount}, append expected ${sizes.from}`);
    }
    if (sizes.to < sizes.from) throw new RangeError(`putNodes: sizes.to (${sizes.to}) < sizes.from (${sizes.from})`);
    for (const n of nodes) {
      hashArg(n.hash, `putNodes(node ${n.level}:${n.index})`);
      sizeArg(n.level, 'putNodes(node.level)');
      sizeArg(n.index, 'putNodes(node.index)');
    }
    for (const n of nodes) {
      let column = this.levels[n.level];
      while (column === undefined) {
        this.levels.push(new HashColumn());
        column = this.levels[n.level];
      }
      column.set(n.index, n.hash);
    }
    this.leafCount = sizes.to;
  }

  /** Test hook: overwrite one stored node (simulates tampering with the node table). */
  overwriteNode(key: NodeKey, hash: Uint8Array): void {
    hashArg(hash, 'overwriteNode(hash)');
    const column = this.levels[key.level];
    if (column === undefined || key.index >= column.length) throw new RangeError(`overwriteNode: no node ${key.level}:${key.index}`);
    column.set(key.index, hash);
  }
}
