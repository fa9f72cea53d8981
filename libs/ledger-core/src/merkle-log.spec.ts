/**
 * The stored-subtree tree against the naive recursive RFC 6962 §2.1 definitions: roots, inclusion
 * and consistency proofs for all pairs of small sizes and random sizes up to 2,000, appended in
 * random batch splits; every proof also goes through the RFC 9162 verifiers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { leafHash, toHex } from './hash.js';
import { MerkleLog } from './merkle-log.js';
import { MemoryTreeStore, TreeStoreError, type TreeNode } from './tree-store.js';
import { naiveConsistency, naivePath, naiveRoot } from './testing/naive-reference.js';
import { verifyConsistency, verifyInclusion } from './proof-verify.js';

const MAX = 2000;
const leaves = Array.from({ length: MAX }, (_, i) => leafHash(new TextEncoder().encode(`leaf ${i}`)));
const hex = (hs: readonly Uint8Array[]): string[] => hs.map(toHex);

async function buildLog(batches: readonly number[]): Promise<MerkleLog> {
  const log = await MerkleLog.open(new MemoryTreeStore());
  let at = 0;
  for (const b of batches) {
    const r = await log.append(leaves.slice(at, at + b));
    assert.equal(r.firstIndex, at);
    at += b;
    assert.equal(r.size, at);
  }
  return log;
}

/** Random batch sizes summing to MAX, seeded so a failure reproduces. */
function randomBatches(seed: number): number[] {
  let s = seed;
  const out: number[] = [];
  let left = MAX;
  while (left > 0) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const b = Math.min(left, 1 + (s % 97));
    out.push(b);
    left -= b;
  }
  return out;
}

const full = await buildLog(randomBatches(7));
const small = 40;

test('roots of every size 0..2000 equal MTH of the naive definition', async () => {
  for (let n = 0; n <= MAX; n += n < 100 ? 1 : 37) {
    assert.equal(toHex(await full.root(n)), toHex(naiveRoot(leaves.slice(0, n))), `size ${n}`);
  }
  assert.equal(toHex(await full.root()), toHex(naiveRoot(leaves)));
});

test(`all inclusion proofs for sizes 1..${small} equal PATH and verify`, async () => {
  for (let n = 1; n <= small; n++) {
    const root = naiveRoot(leaves.slice(0, n));
    for (let m = 0; m < n; m++) {
      const proof = await full.inclusionProof(m, n);
      assert.deepEqual(hex(proof), hex(naivePath(m, leaves.slice(0, n))), `PATH(${m}, D[${n}])`);
      assert.ok(verifyInclusion(leaves[m] as Uint8Array, m, n, proof, root), `verify ${m} in ${n}`);
      if (n > 1) assert.ok(!verifyInclusion(leaves[(m + 1) % n] as Uint8Array, m, n, proof, root), 'wrong leaf accepted');
    }
  }
});

test(`all consistency proofs for size pairs within 0..${small} equal PROOF and verify`, async () => {
  for (let n = 0; n <= small; n++) {
    const root2 = naiveRoot(leaves.slice(0, n));
    for (let m = 0; m <= n; m++) {
      const proof = await full.consistencyProof(m, n);
      assert.deepEqual(hex(proof), hex(naiveConsistency(m, leaves.slice(0, n))), `PROOF(${m}, D[${n}])`);
      const root1 = naiveRoot(leaves.slice(0, m));
      assert.ok(verifyConsistency(m, n, proof, root1, root2), `verify ${m} -> ${n}`);
      if (m > 0 && m < n) assert.ok(!verifyConsistency(m, n, proof, root2, root1), `swapped roots ${m} -> ${n}`);
    }
  }
});

test('random sizes up to 2,000: inclusion and consistency proofs equal the naive ones', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc
        .integer({ min: 1, max: MAX })
        .chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n - 1 }), fc.integer({ min: 0, max: n }))),
      async ([n, m, s1]) => {
        const d = leaves.slice(0, n);
        const root = naiveRoot(d);
        const incl = await full.inclusionProof(m, n);
        assert.deepEqual(hex(incl), hex(naivePath(m, d)));
        assert.ok(verifyInclusion(leaves[m] as Uint8Array, m, n, incl, root));
        const cons = await full.consistencyProof(s1, n);
        assert.deepEqual(hex(cons), hex(naiveConsistency(s1, d)));
        assert.ok(verifyConsistency(s1, n, cons, naiveRoot(leaves.slice(0, s1)), root));
      },
    ),
    { numRuns: process.env.SLOW === '1' ? 3000 : 150, seed: 20250601 },
  );
});

test('batch splits do not change nodes or roots', async () => {
  const one = await buildLog([MAX]);
  for (const seed of [1, 2, 3]) {
    const other = await buildLog(randomBatches(seed));
    assert.equal(toHex(await other.root()), toHex(await one.root()));
    for (const n of [1, 2, 3, 255, 256, 257, 1023, 1024, 1999]) {
      assert.equal(toHex(await other.root(n)), toHex(await one.root(n)));
    }
  }
});

test('append returns exactly the new complete subtrees', async () => {
  const log = await MerkleLog.open(new MemoryTreeStore());
  const r1 = await log.append(leaves.slice(0, 3));
  assert.deepEqual(
    r1.nodes.map((n: TreeNode) => `${n.level}:${n.index}`),
    ['0:0', '0:1', '1:0', '0:2'],
  );
  const r2 = await log.append(leaves.slice(3, 4));
  assert.deepEqual(
    r2.nodes.map((n: TreeNode) => `${n.level}:${n.index}`),
    ['0:3', '1:1', '2:0'],
  );
  assert.equal(toHex(r2.root), toHex(naiveRoot(leaves.slice(0, 4))));
});

test('a reopened log continues where the store left off', async () => {
  const store = new MemoryTreeStore();
  const a = await MerkleLog.open(store);
  await a.append(leaves.slice(0, 1234));
  const b = await MerkleLog.open(store);
  assert.equal(b.size, 1234);
  await b.append(leaves.slice(1234, 1500));
  assert.equal(toHex(await b.root()), toHex(naiveRoot(leaves.slice(0, 1500))));
  // `a` is stale now: the store's compare-and-set refuses its append and `a` stays unchanged.
  await assert.rejects(a.append(leaves.slice(1234, 1235)), TreeStoreError);
  assert.equal(a.size, 1234);
});

test('argument checks', async () => {
  await assert.rejects(full.inclusionProof(5, 5), /index 5 is not below tree size 5/);
  await assert.rejects(full.inclusionProof(0, MAX + 1), /inclusionProof\(size\): 2001 is larger than the log \(2000 leaves\)/);
  await assert.rejects(full.consistencyProof(9, 8), /size1 9 is larger than size2 8/);
  await assert.rejects(full.root(1.5), /root\(size\): expected a non-negative safe integer, got 1.5/);
  await assert.rejects(full.append([new Uint8Array(3)]), /planAppend\(leafHashes\[0\]\): expected 32 bytes, got 3/);
});
