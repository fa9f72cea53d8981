/**
 * Full audit of a stored ledger (`dataspace ledger verify`): streams every stored entry, recomputes
 * its RFC 6962 leaf hash and the tree incrementally (a Frontier: O(log n) memory), compares with
 * the stored leaf hashes and complete-subtree hashes, checks the latest signed checkpoint's
 * signature and root, and that the auditor's older checkpoint is a prefix of the same history.
 * The first problem found is returned, with the first bad entry index when it can be located.
 */
import type { KeyObject } from 'node:crypto';
import { canonicalEventString } from './canonical.js';
import { verifyCheckpoint, type Checkpoint } from './checkpoint.js';
import { Frontier } from './frontier.js';
import { EMPTY_ROOT, HASH_SIZE, hashesEqual, leafHash, leafHashOfText, toHex } from './hash.js';
import { consistencyProof } from './merkle-log.js';
import { ProofError, assertConsistency } from './proof-verify.js';
import type { NodeReader } from './tree-store.js';

/** One stored ledger entry as read back from storage. */
export interface StoredEntry {
  /** Position in the log (0-based). */
  readonly index: number;
  /** The stored RFC 8785 canonical JSON of the event (text, or its UTF-8 bytes). */
  readonly canonical: string | Uint8Array;
  /** The stored leaf hash (32 bytes, or 64 hex characters). */
  readonly leafHash: Uint8Array | string;
}

/** The stored complete-subtree hashes (the node table) and the leaf count they claim. */
export interface StoredTree extends NodeReader {
  getLeafCount(): Promise<number>;
}

export interface VerifyLogInput {
  /** Every stored entry, in index order. */
  readonly entries: AsyncIterable<StoredEntry> | Iterable<StoredEntry>;
  /** The latest signed checkpoint (note text). */
  readonly checkpoint: string;
  /** An older signed checkpoint the auditor saved earlier (`--since`). */
  readonly since?: string;
  /** The published checkpoint key and its note key name. */
  readonly publicKey: KeyObject;
  readonly keyName: string;
  /** Expected log origin; when given, both checkpoints must carry it. */
  readonly origin?: string;
  /** The stored node table: every node is compared with the recomputed one when given. */
  readonly tree?: StoredTree;
  /** Also require each stored body to be exactly the RFC 8785 form of itself. */
  readonly checkCanonicalForm?: boolean;
}

export type LogProblemCode =
  | 'BAD_CHECKPOINT'
  | 'BAD_SINCE_CHECKPOINT'
  | 'ORIGIN_MISMATCH'
  | 'ROLLED_BACK'
  | 'ENTRY_MISSING'
  | 'ENTRY_OUT_OF_ORDER'
  | 'LEAF_HASH_MISMATCH'
  | 'NOT_CANONICAL'
  | 'NODE_MISMATCH'
  | 'ROOT_MISMATCH'
  | 'HISTORY_REWRITTEN'
  | 'TRUNCATED'
  | 'TREE_SIZE_MISMATCH'
  | 'INCONSISTENT_PROOF';

export type LogVerification =
  | {
      readonly ok: true;
      /** Number of entries verified. */
      readonly size: number;
      /** Recomputed root over all of them. */
      readonly root: Uint8Array;
      /** The verified latest checkpoint (its size may be below `size` if the log grew since). */
      readonly checkpoint: Checkpoint;
    }
  | { readonly ok: false; readonly code: LogProblemCode; readonly problem: string; readonly firstBadIndex?: number };

type Failure = Extract<LogVerification, { ok: false }>;

function fail(code: LogProblemCode, problem: string, firstBadIndex?: number): Failure {
  return firstBadIndex === undefined ? { ok: false, code, problem } : { ok: false, code, problem, firstBadIndex };
}

const NODE_BATCH = 4096;

/** Whether a stored leaf hash (bytes, or hex as SQL keeps it) equals the recomputed one. */
function sameLeafHash(stored: Uint8Array | string, computed: Uint8Array): boolean {
  if (typeof stored === 'string') {
    if (stored.length !== HASH_SIZE * 2) return false;
    const hex = toHex(computed);
    return hex === stored || hex === stored.toLowerCase();
  }
  return stored instanceof Uint8Array && hashesEqual(stored, computed);
}

function isCanonical(canonical: string | Uint8Array): boolean {
  const text = typeof canonical === 'string' ? canonical : new TextDecoder('utf-8', { fatal: true }).decode(canonical);
  try {
    return canonicalEventString(JSON.parse(text)) === text;
  } catch {
    return false;
  }
}

/** Compares recomputed complete-subtree hashes with the stored node table, a batch at a time. */
class NodeAudit {
  private pending: { level: number; index: number; hash: Uint8Array }[] = [];
  constructor(private readonly tree: StoredTree) {}

  add(level: number, index: number, hash: Uint8Array): void {
    this.pending.push({ level, index, hash });
  }

  get full(): boolean {
    return this.pending.length >= NODE_BATCH;
  }

  async flush(): Promise<Failure | undefined> {
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return undefined;
    const stored = await this.tree.getNodes(batch);
    for (let i = 0; i < batch.length; i++) {
      const want = batch[i] as { level: number; index: number; hash: Uint8Array };
      const got = stored[i];
      if (got === undefined || !hashesEqual(got, want.hash)) {
        const first = want.index * 2 ** want.level;
        const what =
          want.level === 0
            ? `leaf node ${first}`
            : `subtree node level ${want.level} index ${want.index} (entries ${first}..${first + 2 ** want.level - 1})`;
        return fail('NODE_MISMATCH', `stored ${what} ${got === undefined ? 'is missing' : 'does not match the entries'}`, first);
      }
    }
    return undefined;
  }
}

function checkRoot(expected: Uint8Array, actual: Uint8Array, size: number, which: 'latest' | 'since'): Failure | undefined {
  if (hashesEqual(expected, actual)) return undefined;
  return which === 'latest'
    ? fail(
        'ROOT_MISMATCH',
        `the first ${size} entries do not hash to the root of the latest signed checkpoint (${toHex(expected)}); recomputed ${toHex(actual)}`,
      )
    : fail('HISTORY_REWRITTEN', `the first ${size} entries no longer hash to the root of the saved checkpoint: history was rewritten`);
}

function openCheckpoint(note: string, input: VerifyLogInput, code: LogProblemCode, label: string): Checkpoint | Failure {
  let cp: Checkpoint;
  try {
    cp = verifyCheckpoint(note, input.publicKey, input.keyName);
  } catch (e) {
    return fail(code, `${label}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (input.origin !== undefined && cp.origin !== input.origin) {
    return fail('ORIGIN_MISMATCH', `${label} is for log "${cp.origin}", expected "${input.origin}"`);
  }
  return cp;
}

/** Verifies a whole stored log; see the module comment. Never throws for bad data, only for bad arguments or I/O. */
export async function verifyLog(input: VerifyLogInput): Promise<LogVerification> {
  const latest = openCheckpoint(input.checkpoint, input, 'BAD_CHECKPOINT', 'latest checkpoint');
  if ('ok' in latest) return latest;
  let older: Checkpoint | undefined;
  if (input.since !== undefined) {
    const o = openCheckpoint(input.since, input, 'BAD_SINCE_CHECKPOINT', 'saved checkpoint');
    if ('ok' in o) return o;
    if (o.origin !== latest.origin) return fail('ORIGIN_MISMATCH', `saved checkpoint is for "${o.origin}", latest for "${latest.origin}"`);
    if (o.size > latest.size) {
      return fail(
        'ROLLED_BACK',
        `latest checkpoint has ${latest.size} entries, fewer than the ${o.size} of the saved checkpoint: the log was truncated or rolled back`,
        latest.size,
      );
    }
    older = o;
  }
  // Size-0 checkpoints are compared before any entry is read.
  for (const [cp, which] of [
    [older, 'since'],
    [latest, 'latest'],
  ] as const) {
    if (cp !== undefined && cp.size === 0) {
      const bad = checkRoot(cp.root, EMPTY_ROOT, 0, which);
      if (bad) return bad;
    }
  }

  const frontier = Frontier.empty();
  const nodes = input.tree === undefined ? undefined : new NodeAudit(input.tree);
  const sink = nodes === undefined ? undefined : nodes.add.bind(nodes);
  for await (const entry of input.entries) {
    const index = frontier.size;
    if (entry.index !== index) {
      if (typeof entry.index === 'number' && entry.index > index) {
        return fail('ENTRY_MISSING', `entry ${index} is missing (the next stored entry has index ${entry.index})`, index);
      }
      return fail(
        'ENTRY_OUT_OF_ORDER',
        `entry index ${String(entry.index)} found where ${index} was expected (duplicate or reordered)`,
        index,
      );
    }
    const computed = typeof entry.canonical === 'string' ? leafHashOfText(entry.canonical) : leafHash(entry.canonical);
    if (!sameLeafHash(entry.leafHash, computed)) {
      return fail('LEAF_HASH_MISMATCH', `entry ${index}: its content does not match its stored leaf hash (entry altered)`, index);
    }
    if (input.checkCanonicalForm === true && !isCanonical(entry.canonical)) {
      return fail('NOT_CANONICAL', `entry ${index}: stored body is not RFC 8785 canonical JSON`, index);
    }
    frontier.append(computed, sink);
    if (nodes?.full) {
      const bad = await nodes.flush();
      if (bad) return bad;
    }
    const size = frontier.size;
    for (const [cp, which] of [
      [older, 'since'],
      [latest, 'latest'],
    ] as const) {
      if (cp !== undefined && cp.size === size) {
        // Node mismatches locate the bad entry; report them before a bare root mismatch.
        const located = await nodes?.flush();
        if (located) return located;
        const bad = checkRoot(cp.root, frontier.root(), size, which);
        if (bad) return bad;
      }
    }
  }
  const located = await nodes?.flush();
  if (located) return located;
  const size = frontier.size;
  if (size < latest.size) {
    return fail('TRUNCATED', `log truncated: the latest signed checkpoint covers ${latest.size} entries but only ${size} are stored`, size);
  }
  if (input.tree !== undefined) {
    const treeSize = await input.tree.getLeafCount();
    if (treeSize !== size) {
      return fail(
        'TREE_SIZE_MISMATCH',
        `the node table covers ${treeSize} entries but ${size} entries are stored`,
        Math.min(treeSize, size),
      );
    }
    if (older !== undefined) {
      // The proof an auditor would be served for these two checkpoints must verify too.
      try {
        const proof = await consistencyProof(input.tree, older.size, latest.size);
        assertConsistency(older.size, latest.size, proof, older.root, latest.root);
      } catch (e) {
        if (!(e instanceof ProofError)) throw e;
        return fail('INCONSISTENT_PROOF', `consistency proof ${older.size} -> ${latest.size} from the node table fails: ${e.message}`);
      }
    }
  }
  return { ok: true, size, root: frontier.root(), checkpoint: latest };
}
