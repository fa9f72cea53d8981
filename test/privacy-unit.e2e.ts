/**
 * Contribution bounding through the HE path (issue 17, "Contribution bounding"): a scenario names its privacy
 * unit; one unit has 40 of the dataset's 70 rows. The provider's connector keeps at most 3 rows in each of at
 * most 2 groups of that unit before it encrypts anything, so the decrypted result is the bounded reference's
 * (not the unbounded answer, where that unit counts 40 times), the broker is told only the total dropped, and
 * a noisy job's plan carries Laplace scales for a whole unit: count 2·3/ε, sum 2·3·B/ε.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JobName, QueueName } from '#contracts';
import { JobDatasetEntity, JobEntity } from '#persistence';
import { DataspaceClient, fetchResult, generateKeyFile, keyRequirements, readKeyFile, submitJob, waitForJob } from '#sdk';
import {
  compareResult,
  evaluateReference,
  laplaceScales,
  type Plan,
  type Row,
  type Scenario,
  unitRowBound,
  validateScenario,
  withInternalMetrics,
} from '#scenario';
import { call, startTestServer } from './support/env.js';
import { toCsv } from './support/data.js';

const CATS = ['a', 'b', 'c'];
const columns = {
  pid: { type: 'id', description: 'person' },
  cat: { type: 'category', values: CATS, description: 'category' },
  x: { type: 'number', min: 0, max: 1000, description: 'amount' },
};
const UNIT = { on: { p: 'pid' }, maxGroups: 2, maxRowsPerGroup: 3 };

function scenario(id: string, release: Record<string, unknown>): Scenario {
  const v = validateScenario({
    id,
    title: id,
    sector: 'test',
    description: 'privacy unit test',
    inputs: { p: { description: 'rows of people', columns } },
    metrics: [
      { name: 'n', agg: 'count', role: 'p', by: 'p.cat', description: 'rows per category' },
      { name: 'total', agg: 'sum', of: 'p.x', by: 'p.cat', description: 'x per category' },
    ],
    release,
  });
  assert.ok(v.ok, JSON.stringify(!v.ok && v.errors));
  return v.scenario;
}

/** 30 people with one row each (10 per category), then "w" with 40 rows cycling a, a, b, b, c, c, ... */
function rows(): Row[] {
  const out: Row[] = Array.from({ length: 30 }, (_, i) => ({ pid: `p${i}`, cat: CATS[i % 3]!, x: (i * 37) % 1000 }));
  for (let i = 0; i < 40; i++) out.push({ pid: 'w', cat: CATS[(i >> 1) % 3]!, x: 900 + i });
  return out;
}

describe('privacy unit: contribution bounding through the HE path', () => {
  let s: Awaited<ReturnType<typeof startTestServer>>;
  let dir: string;
  let consumer: string;
  let auditor: string;
  let datasetId: string;
  let exactJob = '';

  before(async () => {
    s = await startTestServer();
    dir = mkdtempSync(join(tmpdir(), 'ds-unit-'));
    const provider = (await call(s.url, 'POST', '/participants', { token: s.adminToken, body: { role: 'provider', name: 'holder' } })).body
      .token as string;
    consumer = (await call(s.url, 'POST', '/participants', { token: s.adminToken, body: { role: 'consumer', name: 'analyst' } })).body
      .token as string;
    auditor = (await call(s.url, 'POST', '/participants', { token: s.adminToken, body: { role: 'auditor', name: 'audit' } })).body
      .token as string;
    const reg = await call(s.url, 'POST', '/datasets', {
      token: provider,
      body: {
        name: 'people',
        description: 'rows of people',
        columns,
        policy: {
          consumers: ['*'],
          purposes: ['research'],
          aggregations: ['count', 'sum'],
          rowLevel: false,
          minGroupSize: 1,
          epsilonBudget: null,
          expiresAt: null,
        },
      },
    });
    assert.equal(reg.status, 201, reg.text);
    datasetId = reg.body.id as string;
    const imp = await call(s.url, 'POST', `/datasets/${datasetId}/rows`, {
      token: provider,
      raw: toCsv(Object.keys(columns), rows()),
      headers: { 'content-type': 'text/csv' },
    });
    assert.equal(imp.status, 200, imp.text);
  });
  after(async () => {
    await s?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function run(
    sc: Scenario,
  ): Promise<{ jobId: string; plan: Plan; metrics: Record<string, unknown>; meta: Record<string, unknown> }> {
    const reg = await call(s.url, 'POST', '/scenarios', { token: consumer, body: sc });
    assert.equal(reg.status, 201, reg.text);
    const file = join(dir, `${sc.id}.keys`);
    await generateKeyFile(file, keyRequirements(sc, {}));
    const keys = readKeyFile(file);
    const client = new DataspaceClient({ url: s.url, token: consumer });
    const sub = await submitJob(client, keys, sc, { scenario: sc.id, bindings: { p: datasetId }, purpose: 'research', params: {} });
    const jobId = String(sub.id);
    const st = await waitForJob(client, jobId, undefined, 200, 180_000);
    assert.equal(st.status, 'completed', JSON.stringify(st.error));
    const doc = await fetchResult(client, jobId, keys);
    const enc = await call(s.url, 'GET', `/jobs/${jobId}/result`, { token: consumer });
    assert.equal(enc.status, 200, enc.text);
    return { jobId, plan: enc.body.plan as Plan, metrics: doc.metrics, meta: doc.meta };
  }

  it('an exact job decrypts to the bounded reference; the provider reports only the total it dropped', async () => {
    const sc = scenario('unit-exact', { minGroupSize: 1, privacyUnit: UNIT });
    const got = await run(sc);
    exactJob = got.jobId;
    const want = evaluateReference(withInternalMetrics(sc), {}, { p: rows() });
    const report = compareResult(sc, got.metrics as never, want.metrics);
    assert.deepEqual(report.problems, []);
    // w keeps 3 rows in a and 3 in b (its first two categories), 34 of its 40 rows are dropped
    assert.deepEqual(got.metrics.n, { a: 13, b: 13, c: 10 });
    const unbounded = evaluateReference(scenario('unit-none', { minGroupSize: 1 }), {}, { p: rows() });
    assert.deepEqual(unbounded.metrics.n, { a: 24, b: 24, c: 22 });
    assert.notDeepEqual(got.metrics.total, unbounded.metrics.total);
    assert.deepEqual(got.meta.rows, { p: 36 });
    // the plan carries the cut; the broker's record of the upload has the dropped total among the skipped rows
    assert.deepEqual(got.plan.roles.p!.unit, {
      column: 'pid',
      maxGroups: 2,
      maxRowsPerGroup: 3,
      groupBy: [{ column: 'cat', values: CATS }],
    });
    const jd = await s.dataSource.getRepository(JobDatasetEntity).findOneByOrFail({ jobId: got.jobId, role: 'p' });
    assert.equal((jd.meta as { skippedRows: number; rows: number }).skippedRows, 34);
    assert.equal((jd.meta as { skippedRows: number; rows: number }).rows, 36);
  });

  it('the connector refuses a plan whose cut is not the scenario’s privacy unit (PLAN_MISMATCH), and encrypts nothing', async () => {
    assert.ok(exactJob, 'needs the exact job');
    const jobs = s.dataSource.getRepository(JobEntity);
    const job = await jobs.findOneByOrFail({ id: exactJob });
    const plan = job.plan as unknown as Plan;
    // a broker that loosens the bounds while its noise still assumes them
    plan.roles.p!.unit!.maxRowsPerGroup = 40;
    await jobs.update({ id: exactJob }, { plan: plan as never, status: 'encrypting' });
    const before = await s.dataSource.getRepository(JobDatasetEntity).findOneByOrFail({ jobId: exactJob, role: 'p' });
    const queue = QueueName.encrypt(s.config.CONNECTOR_ID);
    const task = await s.queues.add(
      queue,
      JobName.encryptInputs,
      { jobId: exactJob, role: 'p', datasetId, consumerId: job.consumerId, purpose: job.purpose },
      { jobId: 'unit-loosened-1', attempts: 1 },
    );
    const end = Date.now() + 30_000;
    while ((await s.queues.job(queue, task))?.state !== 'failed') {
      assert.ok(Date.now() < end, 'the task was not refused');
      await new Promise((r) => setTimeout(r, 100));
    }
    let reasons: string[] | undefined;
    while (!reasons) {
      assert.ok(Date.now() < end + 30_000, 'no inputs.refused event');
      const e = await call(s.url, 'GET', '/ledger/entries?type=inputs.refused&limit=1000', { token: auditor });
      assert.equal(e.status, 200, e.text);
      const hit = (e.body.entries as { event: { job: string; data: { reasons: string[] } } }[]).find((x) => x.event.job === exactJob);
      reasons = hit?.event.data.reasons;
      if (!reasons) await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(reasons, ['PLAN_MISMATCH']);
    const after = await s.dataSource.getRepository(JobDatasetEntity).findOneByOrFail({ jobId: exactJob, role: 'p' });
    assert.deepEqual(after.meta, before.meta, 'nothing was encoded or uploaded again');
  });

  it('a noisy job: every group’s Laplace scale covers a whole unit (L1 = maxGroups·maxRowsPerGroup), within 40 scales of the bounded reference', async () => {
    const eps = 1;
    const sc = scenario('unit-noisy', { minGroupSize: 1, noise: { mechanism: 'laplace', epsilon: eps }, privacyUnit: UNIT });
    const got = await run(sc);
    const L = UNIT.maxGroups * UNIT.maxRowsPerGroup;
    assert.equal(unitRowBound(sc, 'p'), L);
    const scales = laplaceScales(got.plan);
    assert.deepEqual(scales, { n: L / eps, total: (L * 1000) / eps });
    const want = evaluateReference(withInternalMetrics(sc), {}, { p: rows() });
    const report = compareResult(sc, got.metrics as never, want.metrics, { noise: scales });
    assert.deepEqual(report.problems, []);
  });
});
