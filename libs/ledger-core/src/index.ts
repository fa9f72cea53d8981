/** Public API of libs/ledger-core: RFC 8785 leaves, RFC 6962 tree and proofs, C2SP checkpoints. */
export { HASH_SIZE, EMPTY_ROOT, leafHash, leafHashOfText, nodeHash, hashesEqual, toHex, hashFromHex } from './hash.js';
export { canonicalEventBytes, canonicalEventString } from './canonical.js';
export { type NodeKey, frontierKeys, subtreeKeys } from './tree-math.js';
export { Frontier, type NodeSink } from './frontier.js';
export { type TreeNode, type NodeReader, type TreeStore, TreeStoreError, MemoryTreeStore } from './tree-store.js';
export { MerkleLog, type AppendResult, planAppend, loadFrontier, treeRoot, inclusionProof, consistencyProof } from './merkle-log.js';
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
export {
  type NoteErrorCode,
  NoteError,
  type NoteSignature,
  type ParsedNote,
  checkKeyName,
  rawEd25519PublicKey,
  noteKeyId,
  noteVerifierKey,
  signNote,
  parseNote,
  verifyNote,
} from './signed-note.js';
export {
  type Checkpoint,
  type ParsedCheckpoint,
  type CheckpointInput,
  checkpointText,
  signCheckpoint,
  parseCheckpoint,
  verifyCheckpoint,
} from './checkpoint.js';
export {
  SIGNING_KEY_FILE,
  PUBLIC_KEY_FILE,
  type SigningKey,
  type StoredSigningKey,
  generateSigningKey,
  loadOrCreateSigningKey,
  publicKeyPem,
  publicKeyFromPem,
} from './signing-key.js';
export {
  type StoredEntry,
  type StoredTree,
  type VerifyLogInput,
  type LogProblemCode,
  type LogVerification,
  verifyLog,
} from './log-verifier.js';
export { type LedgerBenchOptions, type LedgerBenchResult, type TimingStats, runLedgerBench, formatLedgerBench } from './bench.js';
