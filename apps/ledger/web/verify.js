// What the console verifies, and how it remembers the last checkpoint it saw:
//  - the latest checkpoint's Ed25519 signature (C2SP signed note);
//  - that it extends the checkpoint seen on the previous visit (RFC 9162 §2.1.4.2 consistency proof);
//  - for any entry, that the leaf hash recomputed from its stored body (RFC 6962: SHA-256(0x00 || body))
//    is included under the signed root (RFC 9162 §2.1.3.2 inclusion proof);
//  - for the whole log, that the recomputed leaves hash to the signed root.
import {
  ProofError,
  TreeBuilder,
  assertConsistency,
  base64ToBytes,
  bytesToBase64,
  bytesToHex,
  equalBytes,
  hexToBytes,
  leafHash,
  rootFromInclusionProof,
} from './merkle.js';
import { NoteError, verifyCheckpointNote } from './note.js';
import { canonicalJson } from './canonical.js';

const SEEN_KEY = 'dataspace.audit.checkpoint';

/** The checkpoint remembered from an earlier visit (only ever one whose signature verified), or null. */
export function loadSeenCheckpoint() {
  try {
    const v = JSON.parse(localStorage.getItem(SEEN_KEY) ?? 'null');
    if (!v || typeof v.size !== 'number' || typeof v.root !== 'string' || !base64ToBytes(v.root)) return null;
    return v;
  } catch {
    return null;
  }
}

function saveSeenCheckpoint(cp) {
  localStorage.setItem(
    SEEN_KEY,
    JSON.stringify({
      origin: cp.origin,
      keyName: cp.keyName,
      keyId: cp.keyId,
      keyFingerprint: cp.keyFingerprint,
      size: cp.size,
      root: cp.rootBase64,
      time: cp.time ?? null,
      note: cp.note,
      seenAt: new Date().toISOString(),
    }),
  );
}

export function forgetSeenCheckpoint() {
  localStorage.removeItem(SEEN_KEY);
}

function reason(e) {
  if (e instanceof NoteError || e instanceof ProofError) return `${e.message} (${e.code})`;
  return e?.message ?? String(e);
}

export class Verifier {
  constructor(api) {
    this.api = api;
    /** @type {null | { checkpoint?: object, error?: string, consistency: object }} */
    this.state = null;
    this.listeners = new Set();
    this.entryCache = new Map();
    this.pending = null;
  }

  onChange(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit() {
    for (const fn of this.listeners) fn(this.state);
  }

  /**
   * Fetches (or, with sign, asks the ledger to sign) the latest checkpoint, verifies its signature and its
   * consistency with the checkpoint seen before, and remembers it if both hold.
   */
  async refresh({ sign = false } = {}) {
    const run = async () => {
      let res;
      try {
        res = sign ? await this.api.post('/ledger/checkpoint') : await this.api.get('/ledger/checkpoint');
      } catch (e) {
        this.state = { error: `cannot fetch the checkpoint: ${reason(e)}`, consistency: { status: 'unknown' } };
        return this.state;
      }
      let cp;
      try {
        cp = await verifyCheckpointNote(res.checkpoint, res.keyName, res.publicKey);
        if (cp.origin !== res.origin)
          throw new NoteError('MALFORMED_CHECKPOINT', `the checkpoint names origin "${cp.origin}", the ledger says "${res.origin}"`);
      } catch (e) {
        this.state = { error: `checkpoint signature: ${reason(e)}`, consistency: { status: 'unknown' } };
        return this.state;
      }
      const consistency = await this.checkConsistency(cp);
      if (consistency.status === 'consistent' || consistency.status === 'first') saveSeenCheckpoint(cp);
      this.state = { checkpoint: cp, consistency };
      this.entryCache.clear();
      return this.state;
    };
    this.pending = run().finally(() => {
      this.pending = null;
      this.emit();
    });
    return this.pending;
  }

  async checkConsistency(cp) {
    const prior = loadSeenCheckpoint();
    if (!prior) return { status: 'first' };
    const base = { prior };
    if (prior.origin !== cp.origin)
      return { ...base, status: 'failed', reason: `the log's origin changed from "${prior.origin}" to "${cp.origin}"` };
    if (prior.keyFingerprint && prior.keyFingerprint !== cp.keyFingerprint) {
      return { ...base, status: 'failed', reason: `the signing key changed since your last visit (key id ${prior.keyId} → ${cp.keyId})` };
    }
    if (prior.size > cp.size)
      return { ...base, status: 'failed', reason: `the log shrank: you saw ${prior.size} entries, the new checkpoint has ${cp.size}` };
    try {
      const p =
        prior.size === cp.size || prior.size === 0
          ? { proof: [] }
          : await this.api.get('/ledger/proof/consistency', { from: prior.size, to: cp.size });
      await assertConsistency(prior.size, cp.size, p.proof.map(hexToBytes), base64ToBytes(prior.root), cp.root);
      return { ...base, status: 'consistent', proofLength: p.proof.length };
    } catch (e) {
      return { ...base, status: 'failed', reason: `consistency with the checkpoint of ${prior.size} entries you saw: ${reason(e)}` };
    }
  }

  /** A verified checkpoint whose tree contains entry `index`, signing a new one if the latest is older. */
  async covering(index) {
    if (this.pending) await this.pending;
    if (!this.state?.checkpoint) await this.refresh();
    if (this.state.checkpoint && this.state.checkpoint.size <= index) await this.refresh({ sign: true });
    const cp = this.state.checkpoint;
    if (!cp) throw new Error(this.state.error ?? 'no verified checkpoint');
    if (cp.size <= index) throw new Error(`the newest checkpoint (${cp.size} entries) does not cover entry ${index} yet`);
    return cp;
  }

  /**
   * Verifies one entry ({index, leafHash?, event?, body?}, as /ledger/entries or /ledger/raw list it) against a
   * signed checkpoint. Returns { ok, steps: [{ label, ok, detail }], checkpoint?, error? }.
   */
  async verifyEntry(entry) {
    const key = `${entry.index}:${entry.leafHash ?? ''}:${entry.body ?? JSON.stringify(entry.event ?? null)}`;
    if (!this.entryCache.has(key)) this.entryCache.set(key, this.runEntry(entry));
    return this.entryCache.get(key);
  }

  async runEntry(entry) {
    const steps = [];
    try {
      // The exact stored leaf data: from the entry if it carries it, else from /ledger/raw (the stored bytes).
      let stored = typeof entry.body === 'string' ? { body: entry.body, leafHash: entry.leafHash } : null;
      if (!stored) {
        const raw = (await this.api.get('/ledger/raw', { from: entry.index, limit: 1 })).entries?.[0];
        if (!raw || raw.index !== entry.index) throw new Error(`the ledger has no stored entry ${entry.index}`);
        stored = raw;
      }
      if (entry.event !== undefined) {
        let same = false;
        try {
          same = canonicalJson(entry.event) === stored.body;
        } catch {
          same = false;
        }
        steps.push({
          label: 'The event shown is the stored entry (RFC 8785 canonical JSON)',
          ok: same,
          detail: same ? `${stored.body.length} bytes` : 'the listed event differs from the stored leaf data',
        });
      }
      const leaf = await leafHash(stored.body);
      const leafHex = bytesToHex(leaf);
      const listed = entry.leafHash ?? stored.leafHash;
      steps.push({
        label: 'Leaf hash recomputed from the stored entry',
        ok: leafHex === listed && leafHex === stored.leafHash,
        detail: leafHex === listed && leafHex === stored.leafHash ? leafHex : `recomputed ${leafHex}, the ledger lists ${listed}`,
      });
      const cp = await this.covering(entry.index);
      steps.push({
        label: `Checkpoint signature (${cp.keyName}, key id ${cp.keyId})`,
        ok: true,
        detail: `tree of ${cp.size} entries, root ${cp.rootBase64}`,
      });
      const p = await this.api.get('/ledger/proof/inclusion', { index: entry.index, size: cp.size });
      let root;
      try {
        root = await rootFromInclusionProof(leaf, entry.index, cp.size, p.proof.map(hexToBytes));
      } catch (e) {
        steps.push({ label: 'Inclusion proof', ok: false, detail: reason(e) });
        return { ok: false, steps, checkpoint: cp };
      }
      const same = equalBytes(root, cp.root);
      steps.push({
        label: `Inclusion proof (${p.proof.length} hashes) leads to the signed root`,
        ok: same,
        detail: same ? bytesToBase64(root) : `computed root ${bytesToBase64(root)} differs from the signed root ${cp.rootBase64}`,
      });
      return { ok: steps.every((s) => s.ok), steps, checkpoint: cp };
    } catch (e) {
      steps.push({ label: 'Verification could not run', ok: false, detail: reason(e) });
      return { ok: false, steps, error: reason(e) };
    }
  }

  /**
   * Full check: signs a fresh checkpoint, reads every stored entry in order, recomputes every leaf hash and
   * the tree root, and compares with the signed root. Reports each entry whose body does not match.
   */
  async verifyLog(onProgress = () => undefined) {
    await this.refresh({ sign: true });
    const cp = this.state.checkpoint;
    if (!cp) return { ok: false, error: this.state.error, mismatches: [], checked: 0 };
    const tree = new TreeBuilder();
    const mismatches = [];
    let next = 0;
    while (next < cp.size) {
      const { entries } = await this.api.get('/ledger/raw', { from: next, limit: Math.min(5000, cp.size - next) });
      if (entries.length === 0) break;
      for (const e of entries) {
        if (e.index !== next)
          return {
            ok: false,
            checkpoint: cp,
            mismatches,
            checked: next,
            error: `entry ${next} is missing (the log returned entry ${e.index})`,
          };
        const leaf = await leafHash(e.body);
        if (bytesToHex(leaf) !== e.leafHash) mismatches.push({ index: e.index, reason: 'its body does not hash to the listed leaf hash' });
        await tree.push(leaf);
        next += 1;
      }
      onProgress(next, cp.size);
    }
    if (next < cp.size)
      return {
        ok: false,
        checkpoint: cp,
        mismatches,
        checked: next,
        error: `the log returned ${next} entries, the checkpoint covers ${cp.size}`,
      };
    const root = await tree.root();
    const rootOk = equalBytes(root, cp.root);
    return { ok: rootOk && mismatches.length === 0, rootOk, root: bytesToBase64(root), checkpoint: cp, mismatches, checked: next };
  }
}
