/**
 * Issue 20, "done when" 5: with provider-side aggregation (the TOTALS layout, compiler README "Layouts") a
 * blocked metric costs one ciphertext per feature and role, whatever the rows. A 10^6-row job through the
 * real server (CSV import over HTTP, the connector, the broker, local decryption, the plaintext reference)
 * stores ⌈groups·W / slots⌉ = 1 ciphertext per feature, and its result is within the accuracy table.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { JobEntity } from '#persistence';
import type { Plan } from '#scenario';
import type { DemoRunner } from '../apps/cli/src/demo/runner.js';
import { demoRunnerFor } from './support/demo.js';
import { startTestServer } from './support/env.js';

const ID = 'water-district-consumption';

describe('provider-side aggregation: a blocked metric costs one ciphertext per feature and role, however many rows', () => {
  let s: Awaited<ReturnType<typeof startTestServer>>;
  let runner: DemoRunner;
  before(async () => {
    s = await startTestServer();
    runner = demoRunnerFor(s);
  });
  after(async () => s?.cleanup());

  it(`${ID} at 10^6 meters: one ciphertext per feature, the result within the accuracy table`, { timeout: 600_000 }, async () => {
    const r = await runner.run(ID, { rows: 1_000_000 });
    assert.deepEqual(r.problems, [], r.problems.join('; '));
    assert.equal(r.status, 'pass');
    const job = await s.dataSource.getRepository(JobEntity).findOneByOrFail({ id: r.job! });
    const plan = job.plan as unknown as Plan;
    const work = plan.roles.utility!;
    assert.ok(work.features.length > 0 && work.features.every((f) => f.layout === 'totals'));
    // what the broker stored for the role (the inputs are deleted with the job; the count stays in its progress)
    const progress = (job.progress as { providers: Record<string, { ciphertexts: number; rows?: number }> }).providers.utility!;
    const bound = work.features.reduce((n, f) => {
      const groups = f.grouping.columns.reduce((g, c) => g * c.values.length, 1);
      return n + Math.ceil((groups * f.width) / plan.slots);
    }, 0);
    assert.equal(progress.ciphertexts, bound);
    assert.equal(progress.ciphertexts, work.features.length);
  });
});
