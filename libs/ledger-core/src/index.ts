/** Public API of libs/ledger-core: RFC 8785 leaves, RFC 6962 tree and proofs, C2SP checkpoints. */
export { HASH_SIZE, EMPTY_ROOT, leafHash, nodeHash, hashesEqual, toHex, hashFromHex } from './hash.js';
export { canonicalEventBytes, canonicalEventString } from './canonical.js';
export { type NodeKey, frontierKeys, subtreeKeys } from './tree-math.js';
export { Frontier, type NodeSink } from './frontier.js';
export { type TreeNode, type NodeReader, type TreeStore, TreeStoreError, MemoryTreeStore } from './tree-store.js';
export {
  MerkleLog,
  type AppendResult,
  planAppend,
  loadFrontier,
  treeRoot,
  inclusionProof,
  consistencyProof,
} from './merkle-log.js';
export {
  type TreeSize,
  type ProofErrorCode,
  ProofError,
  rootFromInclusionProof,
  assertInclusion,
  verifyInclusion,
  assertConsistency,
  verifyConsistency,
} from './proof-verify.js';
