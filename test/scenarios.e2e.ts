/**
 * Issue 9, "done when" 2: all 33 built-in scenarios at small sizes through the HE path of a real
 * server (providers import CSV over HTTP, the consumer's keys, the job queue, the broker's
 * evaluation, local decryption), each checked against the plaintext reference with the accuracy
 * table of docs/scenario-format.md (`compareResult`), and the usage ledger audited after each job.
 * Rows per role: E2E_ROWS (default 200).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CATALOG_IDS } from '#scenario';
import type { DemoRunner } from '../apps/cli/src/demo/runner.js';
import { demoRunnerFor } from './support/demo.js';
import { startTestServer } from './support/env.js';

const ROWS = Number(process.env.E2E_ROWS ?? 200);

describe(`built-in scenarios end to end (${ROWS} rows per role)`, () => {
  let s: Awaited<ReturnType<typeof startTestServer>>;
  let runner: DemoRunner;
  before(async () => {
    s = await startTestServer();
    runner = demoRunnerFor(s);
  });
  after(async () => s?.cleanup());

  for (const id of CATALOG_IDS) {
    it(id, { timeout: 120_000 }, async () => {
      const r = await runner.run(id, { rows: ROWS });
      assert.deepEqual(r.problems, [], `${id}: ${r.problems.join('; ')}`);
      assert.equal(r.status, 'pass');
      assert.notEqual(r.job, null);
      assert.equal(typeof r.largestError, 'number');
      // the test server runs the ledger app: every job's events must be audited, not skipped
      assert.equal(r.ledger, 'verified');
    });
  }
});
