/** Tamper tests for the full-log verifier behind `dataspace ledger verify`. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalEventString } from './canonical.js';
import { signCheckpoint } from './checkpoint.js';
import { leafHash, toHex } from './hash.js';
import { MerkleLog } from './merkle-log.js';
import { generateSigningKey, type SigningKey } from './signing-key.js';
import { MemoryTreeStore } from './tree-store.js';
import { verifyLog, type LogVerification, type StoredEntry, type VerifyLogInput } from './log-verifier.js';

const ORIGIN = 'dataspace.test/ledger';
const key = generateSigningKey();

interface Entry {
  index: number;
  canonical: string;
  leafHash: string;
}

function event(i: number, tweak = ''): string {
  return canonicalEventString({
    id: `ev-${i}${tweak}`,
    type: 'job.submitted',
    jobId: `job-${i % 7}`,
    datasets: [`ds-${i % 3}`],
    at: `2025-06-01T00:00:${String(i % 60).padStart(2, '0')}Z`,
  });
}

interface Ledger {
  entries: Entry[];
  store: MemoryTreeStore;
  log: MerkleLog;
  checkpoint(size: number, signer?: SigningKey): Promise<string>;
}

async function ledger(bodies: readonly string[]): Promise<Ledger> {
  const store = new MemoryTreeStore();
  const log = await MerkleLog.open(store);
  const entries = bodies.map((canonical, index) => ({ index, canonical, leafHash: toHex(leafHash(new TextEncoder().encode(canonical))) }));
  for (let i = 0; i < entries.length; i += 25) {
    await log.append(entries.slice(i, i + 25).map((e) => Buffer.from(e.leafHash, 'hex')));
  }
  return {
    entries,
    store,
    log,
    checkpoint: async (size, signer = key) =>
      signCheckpoint(
        { origin: ORIGIN, size, root: await log.root(size), time: new Date('2025-06-01T00:00:00Z') },
        signer.privateKey,
        ORIGIN,
      ),
  };
}

const N = 100;
const bodies = Array.from({ length: N }, (_, i) => event(i));

async function* stream(entries: readonly StoredEntry[]): AsyncGenerator<StoredEntry> {
  for (const e of entries) yield e;
}

function run(l: Ledger, entries: readonly Entry[], extra: Partial<VerifyLogInput> & { checkpoint: string }): Promise<LogVerification> {
  return verifyLog({ entries: stream(entries), publicKey: key.publicKey, keyName: ORIGIN, origin: ORIGIN, tree: l.store, ...extra });
}

function expectProblem(r: LogVerification, code: string, firstBadIndex?: number): void {
  assert.equal(r.ok, false, 'tampering not detected');
  if (r.ok) return;
  assert.equal(r.code, code, r.problem);
  assert.equal(r.firstBadIndex, firstBadIndex, r.problem);
  assert.ok(r.problem.length > 10);
}

test('an untouched log verifies, with and without the node table and a saved checkpoint', async () => {
  const l = await ledger(bodies);
  const latest = await l.checkpoint(N);
  const since = await l.checkpoint(37);
  const r = await run(l, l.entries, { checkpoint: latest, since });
  assert.equal(r.ok, true);
  if (r.ok) {
    assert.equal(r.size, N);
    assert.equal(toHex(r.root), toHex(await l.log.root()));
    assert.equal(r.checkpoint.size, N);
  }
  const plain = await verifyLog({
    entries: l.entries,
    publicKey: key.publicKey,
    keyName: ORIGIN,
    checkpoint: latest,
    checkCanonicalForm: true,
  });
  assert.equal(plain.ok, true);
  // The log may have grown past the latest checkpoint.
  const grown = await run(l, l.entries, { checkpoint: await l.checkpoint(60), since: await l.checkpoint(0) });
  assert.equal(grown.ok && grown.size, N);
});

test('one entry altered: named by its leaf hash', async () => {
  const l = await ledger(bodies);
  const entries = l.entries.map((e) => (e.index === 42 ? { ...e, canonical: event(42, '-edited') } : e));
  expectProblem(await run(l, entries, { checkpoint: await l.checkpoint(N) }), 'LEAF_HASH_MISMATCH', 42);
});

test('one entry altered with its leaf hash recomputed: named by the node table, else caught by the root', async () => {
  const l = await ledger(bodies);
  const body = event(42, '-edited');
  const entries = l.entries.map((e) => (e.index === 42 ? { ...e, canonical: body, leafHash: toHex(leafHash(Buffer.from(body))) } : e));
  const latest = await l.checkpoint(N);
  expectProblem(await run(l, entries, { checkpoint: latest }), 'NODE_MISMATCH', 42);
  expectProblem(await run(l, entries, { checkpoint: latest, tree: undefined }), 'ROOT_MISMATCH');
  expectProblem(await run(l, entries, { checkpoint: latest, since: await l.checkpoint(50), tree: undefined }), 'HISTORY_REWRITTEN');
});

test('one entry deleted', async () => {
  const l = await ledger(bodies);
  const latest = await l.checkpoint(N);
  expectProblem(
    await run(
      l,
      l.entries.filter((e) => e.index !== 17),
      { checkpoint: latest },
    ),
    'ENTRY_MISSING',
    17,
  );
  // Deleted and the later entries renumbered to close the gap.
  const renumbered = l.entries.filter((e) => e.index !== 17).map((e, index) => ({ ...e, index }));
  expectProblem(await run(l, renumbered, { checkpoint: latest }), 'NODE_MISMATCH', 17);
  // Without the node table the stream only shows one entry fewer than signed.
  expectProblem(await run(l, renumbered, { checkpoint: latest, tree: undefined }), 'TRUNCATED', 99);
});

test('two entries swapped', async () => {
  const l = await ledger(bodies);
  const latest = await l.checkpoint(N);
  const swapped = l.entries.map((e) => {
    const from = e.index === 10 ? 20 : e.index === 20 ? 10 : e.index;
    const src = l.entries[from] as Entry;
    return { ...src, index: e.index };
  });
  expectProblem(await run(l, swapped, { checkpoint: latest }), 'NODE_MISMATCH', 10);
  expectProblem(await run(l, swapped, { checkpoint: latest, tree: undefined }), 'ROOT_MISMATCH');
  // Rows swapped with their indexes: the stream arrives out of order, and 10 is where it breaks.
  const reordered = [...l.entries];
  [reordered[10], reordered[20]] = [reordered[20] as Entry, reordered[10] as Entry];
  expectProblem(await run(l, reordered, { checkpoint: latest }), 'ENTRY_MISSING', 10);
  const duplicated = [...l.entries.slice(0, 11), l.entries[10] as Entry, ...l.entries.slice(11)];
  expectProblem(await run(l, duplicated, { checkpoint: latest }), 'ENTRY_OUT_OF_ORDER', 11);
});

test('log truncated below the signed checkpoint, or rolled back and re-signed', async () => {
  const l = await ledger(bodies);
  const latest = await l.checkpoint(N);
  expectProblem(await run(l, l.entries.slice(0, 95), { checkpoint: latest, tree: undefined }), 'TRUNCATED', 95);
  expectProblem(await run(l, l.entries.slice(0, 95), { checkpoint: latest }), 'TRUNCATED', 95);
  // The operator truncates everything consistently and signs a new, shorter checkpoint.
  const short = await ledger(bodies.slice(0, 95));
  const resigned = await short.checkpoint(95);
  expectProblem(await run(short, short.entries, { checkpoint: resigned, since: latest }), 'ROLLED_BACK', 95);
  // Entries deleted past the latest checkpoint still disagree with the node table.
  expectProblem(await run(l, l.entries.slice(0, 98), { checkpoint: await l.checkpoint(90) }), 'TREE_SIZE_MISMATCH', 98);
});

test('checkpoint re-signed with another key, or altered', async () => {
  const l = await ledger(bodies);
  const mallory = generateSigningKey();
  expectProblem(await run(l, l.entries, { checkpoint: await l.checkpoint(N, mallory) }), 'BAD_CHECKPOINT');
  expectProblem(
    await run(l, l.entries, { checkpoint: await l.checkpoint(N), since: await l.checkpoint(20, mallory) }),
    'BAD_SINCE_CHECKPOINT',
  );
  const altered = (await l.checkpoint(N)).replace(`\n${N}\n`, `\n${N - 1}\n`);
  expectProblem(await run(l, l.entries, { checkpoint: altered }), 'BAD_CHECKPOINT');
  const foreign = signCheckpoint({ origin: 'other.log', size: N, root: await l.log.root() }, key.privateKey, ORIGIN);
  expectProblem(await run(l, l.entries, { checkpoint: foreign }), 'ORIGIN_MISMATCH');
});

test('history rewritten and re-signed with the real key is caught by the saved checkpoint', async () => {
  const l = await ledger(bodies);
  const since = await l.checkpoint(50);
  const forged = await ledger(bodies.map((b, i) => (i === 5 ? event(5, '-forged') : b)));
  const r = await run(forged, forged.entries, { checkpoint: await forged.checkpoint(N), since });
  expectProblem(r, 'HISTORY_REWRITTEN');
});

test('a corrupted stored subtree hash is named with its entry range', async () => {
  const l = await ledger(bodies);
  l.store.overwriteNode({ level: 3, index: 2 }, new Uint8Array(32));
  const r = await run(l, l.entries, { checkpoint: await l.checkpoint(N) });
  expectProblem(r, 'NODE_MISMATCH', 16);
  assert.match(r.ok ? '' : r.problem, /level 3 index 2 \(entries 16\.\.23\)/);
});

test('empty log and random single tampering at every position class', async () => {
  const empty = await ledger([]);
  const r0 = await run(empty, [], { checkpoint: await empty.checkpoint(0) });
  assert.equal(r0.ok && r0.size, 0);
  const l = await ledger(bodies);
  const latest = await l.checkpoint(N);
  for (const i of [0, 1, 31, 32, 63, 64, 98, 99]) {
    const alteredEntries = l.entries.map((e) => (e.index === i ? { ...e, canonical: event(i, 'x') } : e));
    expectProblem(await run(l, alteredEntries, { checkpoint: latest }), 'LEAF_HASH_MISMATCH', i);
    expectProblem(
      await run(
        l,
        l.entries.filter((e) => e.index !== i),
        { checkpoint: latest },
      ),
      i === N - 1 ? 'TRUNCATED' : 'ENTRY_MISSING',
      i,
    );
  }
});
