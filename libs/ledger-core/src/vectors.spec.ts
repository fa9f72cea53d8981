/** Every case of the transparency-dev/merkle RFC 6962 vectors, `wantErr` honoured. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConsistencyCases, loadInclusionCases } from './testing/vectors.js';
import { ProofError, assertConsistency, assertInclusion, verifyConsistency, verifyInclusion } from './proof-verify.js';

const inclusion = loadInclusionCases();
const consistency = loadConsistencyCases();

test('vector files are complete', () => {
  assert.equal(inclusion.length, 49);
  assert.equal(consistency.length, 43);
  assert.ok(inclusion.some((c) => !c.wantErr) && inclusion.some((c) => c.wantErr));
  assert.ok(consistency.some((c) => !c.wantErr) && consistency.some((c) => c.wantErr));
});

for (const c of inclusion) {
  test(`inclusion ${c.file} (${c.desc}) ${c.wantErr ? 'rejected' : 'accepted'}`, () => {
    assert.equal(verifyInclusion(c.leafHash, c.leafIdx, c.treeSize, c.proof, c.root), !c.wantErr);
    if (c.wantErr) {
      assert.throws(() => assertInclusion(c.leafHash, c.leafIdx, c.treeSize, c.proof, c.root), ProofError);
    }
  });
}

for (const c of consistency) {
  test(`consistency ${c.file} (${c.desc}) ${c.wantErr ? 'rejected' : 'accepted'}`, () => {
    assert.equal(verifyConsistency(c.size1, c.size2, c.proof, c.root1, c.root2), !c.wantErr);
    if (c.wantErr) {
      assert.throws(() => assertConsistency(c.size1, c.size2, c.proof, c.root1, c.root2), ProofError);
    }
  });
}

test('numbers work like bigints when safe; unsafe numbers are refused as arguments', () => {
  const ok = inclusion.find((c) => !c.wantErr && c.treeSize > 1n);
  assert.ok(ok);
  assert.equal(verifyInclusion(ok.leafHash, Number(ok.leafIdx), Number(ok.treeSize), ok.proof, ok.root), true);
  assert.throws(() => verifyInclusion(ok.leafHash, 2 ** 64, 1, [], ok.root), /leaf index: expected a non-negative safe integer/);
  assert.throws(() => verifyInclusion(ok.leafHash, -1n, 1, [], ok.root), /outside \[0, 2\^64\)/);
});
