import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatLedgerBench, runLedgerBench } from './bench.js';

test('runLedgerBench (quick, 5,000 leaves) measures every figure and verifies its own log', async () => {
  const r = await runLedgerBench({ quick: true, leaves: 5000 });
  assert.equal(r.leaves, 5000);
  assert.ok(r.appendsPerSecond > 0 && Number.isFinite(r.appendsPerSecond));
  assert.equal(r.inclusionProof.samples, 200);
  assert.ok(r.inclusionProof.p50Micros > 0 && r.inclusionProof.p99Micros >= r.inclusionProof.p50Micros);
  assert.ok(r.fullVerifySeconds >= 0);
  assert.match(formatLedgerBench(r), /full verification of 5,000 entries/);
  await assert.rejects(runLedgerBench({ quick: true, leaves: 1 }), /leaves must be an integer >= 2/);
});
