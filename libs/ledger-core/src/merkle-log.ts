/**
 * Append-only RFC 6962 Merkle log over a TreeStore. Roots and proofs are computed from stored
 * complete-subtree hashes: every element of an RFC 6962 proof is MTH of a node of the tree, and
 * any node is a fold of at most log2(n) + 1 complete subtrees (see `subtreeKeys`), so each call
 * does one batched read of O(log n) nodes.
 */
import { EMPTY_ROOT, hashArg, nodeHash } from './hash.js';
import { Frontier } from './frontier.js';
import { frontierKeys, sizeArg, splitPoint, subtreeKeys, type NodeKey } from './tree-math.js';
import { TreeStoreError, type NodeReader, type TreeNode, type TreeStore } from './tree-store.js';

/** Reads the nodes of several groups in one call and folds each group right to left into one hash. */
async function foldGroups(reader: NodeReader, groups: readonly NodeKey[][]): Promise<Uint8Array[]> {
  const flat = groups.flat();
  const hashes = await reader.getNodes(flat);
  if (hashes.length !== flat.length) {
    throw new TreeStoreError(`getNodes returned ${hashes.length} hashes for ${flat.length} keys`);
  }
  let at = 0;
  return groups.map((group) => {
    const part = hashes.slice(at, at + group.length).map((h, i) => {
      const key = group[i] as NodeKey;
      if (h === undefined) throw new TreeStoreError(`tree node ${key.level}:${key.index} is not stored`);
      return h;
    });
    at += group.length;
    let h = part[part.length - 1] as Uint8Array;
    for (let i = part.length - 2; i >= 0; i--) h = nodeHash(part[i] as Uint8Array, h);
    return h;
  });
}

/** Loads the frontier of a stored tree of `size` leaves. */
export async function loadFrontier(reader: NodeReader, size: number): Promise<Frontier> {
  sizeArg(size, 'loadFrontier(size)');
  const keys = frontierKeys(size);
  const hashes = await foldGroups(
    reader,
    keys.map((k) => [k]),
  );
  return Frontier.fromHashes(size, hashes);
}

/**
 * Appends leaf hashes to `frontier` (mutated) and returns every complete subtree they complete:
 * the nodes a store must persist. Pure apart from the frontier, so a caller can write entries and
 * nodes in its own transaction.
 */
export function planAppend(frontier: Frontier, leafHashes: readonly Uint8Array[]): TreeNode[] {
  const nodes: TreeNode[] = [];
  leafHashes.forEach((h, i) => hashArg(h, `planAppend(leafHashes[${i}])`));
  for (const leaf of leafHashes) frontier.append(leaf, (level, index, hash) => nodes.push({ level, index, hash }));
  return nodes;
}

/** MTH(D[0:size]) from stored nodes (RFC 6962 §2.1). */
export async function treeRoot(reader: NodeReader, size: number): Promise<Uint8Array> {
  sizeArg(size, 'treeRoot(size)');
  if (size === 0) return EMPTY_ROOT.slice();
  const [root] = await foldGroups(reader, [subtreeKeys(0, size)]);
  return root as Uint8Array;
}

/**
 * PATH(m, D[0:n]) of RFC 6962 §2.1.1 (RFC 9162 §2.1.3.1), leaf-to-root order. Walks from the root
 * to the leaf; each sibling is a node of the tree, so it is a fold of stored complete subtrees.
 */
export async function inclusionProof(reader: NodeReader, index: number, size: number): Promise<Uint8Array[]> {
  sizeArg(index, 'inclusionProof(index)');
  sizeArg(size, 'inclusionProof(size)');
  if (index >= size) throw new RangeError(`inclusionProof: index ${index} is not below tree size ${size}`);
  const siblings: NodeKey[][] = [];
  let begin = 0;
  let end = size;
  while (end - begin > 1) {
    const k = splitPoint(end - begin);
    if (index < begin + k) {
      siblings.push(subtreeKeys(begin + k, end));
      end = begin + k;
    } else {
      siblings.push(subtreeKeys(begin, begin + k));
      begin += k;
    }
  }
  return (await foldGroups(reader, siblings)).reverse();
}

/**
 * PROOF(m, D[0:n]) = SUBPROOF(m, D[0:n], true) of RFC 6962 §2.1.2 (RFC 9162 §2.1.4.1), iteratively.
 * Invariant: the current node is D[begin:end] and the old tree ends at size1 inside it.
 */
export async function consistencyProof(reader: NodeReader, size1: number, size2: number): Promise<Uint8Array[]> {
  sizeArg(size1, 'consistencyProof(size1)');
  sizeArg(size2, 'consistencyProof(size2)');
  if (size1 > size2) throw new RangeError(`consistencyProof: size1 ${size1} is larger than size2 ${size2}`);
  if (size1 === 0 || size1 === size2) return [];
  const parts: NodeKey[][] = [];
  let begin = 0;
  let end = size2;
  let whole = true; // the `b` flag of SUBPROOF: D[begin:end] is the full old tree's ancestor path
  for (;;) {
    if (size1 === end) {
      // SUBPROOF(m, D[m], b): [] if b, else [MTH(D[m])]; it comes first in the proof.
      if (!whole) parts.push(subtreeKeys(begin, end));
      break;
    }
    const k = splitPoint(end - begin);
    if (size1 - begin <= k) {
      parts.push(subtreeKeys(begin + k, end));
      end = begin + k;
    } else {
      parts.push(subtreeKeys(begin, begin + k));
      begin += k;
      whole = false;
    }
  }
  return (await foldGroups(reader, parts)).reverse();
}

/** What one append did. */
export interface AppendResult {
  /** Index of the first appended leaf. */
  readonly firstIndex: number;
  /** Tree size after the append. */
  readonly size: number;
  /** MTH after the append. */
  readonly root: Uint8Array;
  /** The complete subtree hashes the append stored. */
  readonly nodes: readonly TreeNode[];
}

/**
 * A Merkle log bound to one TreeStore, with a single writer: appends are serialised in-process
 * and the store's compare-and-set on the leaf count rejects a second process.
 */
export class MerkleLog {
  private frontier: Frontier;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly store: TreeStore,
    frontier: Frontier,
  ) {
    this.frontier = frontier;
  }

  /** Opens the log stored in `store` (reads its leaf count and frontier). */
  static async open(store: TreeStore): Promise<MerkleLog> {
    const size = sizeArg(await store.getLeafCount(), 'TreeStore.getLeafCount()');
    return new MerkleLog(store, await loadFrontier(store, size));
  }

  /** Committed number of leaves. */
  get size(): number {
    return this.frontier.size;
  }

  /** Appends a batch of leaf hashes; the nodes are computed in memory and stored in one putNodes call. */
  append(leafHashes: readonly Uint8Array[]): Promise<AppendResult> {
    const run = this.queue.then(async () => {
      const firstIndex = this.frontier.size;
      const next = Frontier.fromHashes(firstIndex, this.frontier.hashes());
      const nodes = planAppend(next, leafHashes);
      await this.store.putNodes(nodes, { from: firstIndex, to: next.size });
      this.frontier = next; // only once stored: a failed write leaves the log unchanged
      return { firstIndex, size: next.size, root: next.root(), nodes };
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** MTH of the first `size` leaves (default: all). */
  async root(size: number = this.size): Promise<Uint8Array> {
    this.checkSize(size, 'root(size)');
    return size === this.size ? this.frontier.root() : treeRoot(this.store, size);
  }

  /** Inclusion proof of leaf `index` in the tree of `size` leaves (default: all). */
  async inclusionProof(index: number, size: number = this.size): Promise<Uint8Array[]> {
    this.checkSize(size, 'inclusionProof(size)');
    return inclusionProof(this.store, index, size);
  }

  /** Consistency proof between the trees of `size1` and `size2` leaves (default: all). */
  async consistencyProof(size1: number, size2: number = this.size): Promise<Uint8Array[]> {
    this.checkSize(size2, 'consistencyProof(size2)');
    return consistencyProof(this.store, size1, size2);
  }

  private checkSize(size: number, name: string): void {
    sizeArg(size, name);
    if (size > this.size) throw new RangeError(`${name}: ${size} is larger than the log (${this.size} leaves)`);
  }
}
