/**
 * The submit-job use case on the real database (SQLite, or PostgreSQL with DATABASE_URL), through
 * `TypeOrmSubmissionStore`: what an accepted job stores, and that a refusal or failure inside the admission
 * transaction keeps nothing, not even the budget it charged before it. Through the API a budget refused there is
 * rare (the policy decision refuses first unless two submissions race), so the race is set up here directly: the
 * second dataset's budget is spent after the decision and before the admission.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AppError, type Principal } from '#contracts';
import { BudgetEntity, JobCiphertextEntity, JobDatasetEntity, JobEntity } from '#persistence';
import type { UsagePolicy } from '#policy';
import { builtinScenario, compilePlan, defaultParams } from '#scenario';
import { type PreparedJob, SubmitJob } from '../apps/broker/src/jobs/submit-job.js';
import { TypeOrmSubmissionStore } from '../apps/broker/src/jobs/submission-store.js';
import { startTestServer } from './support/env.js';

const CONSUMER: Principal = { id: 'submit-e2e-consumer', name: 'lab', role: 'consumer' };
const POLICY: UsagePolicy = {
  consumers: ['*'],
  purposes: ['public-service'],
  aggregations: ['count', 'sum', 'mean'],
  rowLevel: false,
  minGroupSize: 1,
  epsilonBudget: null,
  expiresAt: null,
};

describe('SubmitJob on the real database', () => {
  let s: Awaited<ReturnType<typeof startTestServer>>;
  let n = 0;
  before(async () => {
    s = await startTestServer({ apps: ['ledger'] });
  });
  after(async () => s.cleanup());

  /** A prepared job over two datasets with these budgets, every policy allowing it (the decision ran before). */
  function prepared(tag: string, epsilon: number, budgets: [number | null, number | null]): PreparedJob {
    const scenario = builtinScenario('water-district-consumption');
    const role = Object.keys(scenario.inputs)[0]!;
    const rows = { [role]: 40 };
    const c = compilePlan(scenario, defaultParams(scenario.id, rows), { rowCounts: rows });
    assert.ok(c.ok);
    const allow = (r: string, dataset: string) => ({
      role: r,
      dataset,
      allow: true,
      reasons: [],
      release: {
        noiseRequired: false,
        maxEpsilonPerJob: null,
        epsilonBudget: null,
        epsilonSpent: 0,
        minAlignedKeys: null,
        scenarios: 'any' as const,
      },
    });
    return {
      input: {
        scenario: scenario.id,
        bindings: { [role]: `${tag}-a`, other: `${tag}-b` },
        keyset: 'b'.repeat(64),
        purpose: 'public-service',
        params: { t: 1 },
        privateParams: { w: Buffer.from([7, 8, 9]).toString('base64') },
      },
      scenario,
      version: 1,
      plan: { ...c.plan, epsilon },
      offers: {
        [role]: { datasetId: `${tag}-a`, rowCount: 40, policy: { ...POLICY, epsilonBudget: budgets[0] } },
        other: { datasetId: `${tag}-b`, rowCount: 40, policy: { ...POLICY, epsilonBudget: budgets[1] } },
      },
      decisions: [allow(role, `${tag}-a`), allow('other', `${tag}-b`)],
      estimate: null,
      countsWithheld: false,
    };
  }

  function useCase(p: PreparedJob, opts: { before?: () => Promise<void>; ledgerFails?: string } = {}) {
    const events: string[] = [];
    const queued: string[] = [];
    const submit = new SubmitJob({
      store: new TypeOrmSubmissionStore(s.dataSource),
      prepare: async () => {
        await opts.before?.();
        return p;
      },
      ledger: {
        record: (e) => {
          if (e.type === opts.ledgerFails) return Promise.reject(new Error('ledger unavailable'));
          events.push(String(e.type));
          return Promise.resolve();
        },
      },
      enqueue: (id) => {
        queued.push(id);
        return Promise.resolve();
      },
      limits: { maxActiveJobsPerConsumer: 100, maxActiveJobs: 1000, retrySeconds: 1 },
      newId: () => `submit-e2e-${++n}`,
    });
    return { submit, events, queued };
  }

  const spent = async (datasetId: string): Promise<number | null> => {
    const b = await s.dataSource.getRepository(BudgetEntity).findOneBy({ datasetId, consumerId: CONSUMER.id });
    return b ? Number(b.spent) : null;
  };
  const stored = async (jobId: string) => ({
    jobs: await s.dataSource.getRepository(JobEntity).countBy({ id: jobId }),
    datasets: await s.dataSource.getRepository(JobDatasetEntity).countBy({ jobId }),
    params: await s.dataSource.getRepository(JobCiphertextEntity).countBy({ jobId }),
  });

  it('an accepted job is stored whole (row, bound datasets, private parameter), both budgets charged, then queued', async () => {
    const { submit, events, queued } = useCase(prepared('ok', 0.5, [10, 10]));
    const r = await submit.run({}, CONSUMER, 'submit-e2e-key');
    assert.equal(r.created, true);
    assert.deepEqual(await stored(r.id), { jobs: 1, datasets: 2, params: 1 });
    const row = await s.dataSource.getRepository(JobEntity).findOneByOrFail({ id: r.id });
    assert.equal(row.status, 'queued');
    assert.equal(row.plan?.epsilon, 0.5);
    assert.deepEqual(row.params, { t: 1 });
    assert.equal(row.progress.stage, 'queued');
    const blob = await s.dataSource.getRepository(JobCiphertextEntity).findOneByOrFail({ jobId: r.id, kind: 'params' });
    assert.deepEqual([...blob.blob], [7, 8, 9]);
    assert.equal(await spent('ok-a'), 0.5);
    assert.equal(await spent('ok-b'), 0.5);
    assert.deepEqual(events, ['job.submitted']);
    assert.deepEqual(queued, [r.id]);
    const again = await submit.run({}, CONSUMER, 'submit-e2e-key');
    assert.deepEqual(again, { id: r.id, status: 'queued', created: false });
  });

  it("a budget spent between the decision and the admission refuses the job whole: the other dataset's charge rolls back", async () => {
    // b's budget covers the job when the policy decided; another job spends it before this one's admission
    const p = prepared('race', 1, [10, 1]);
    const { submit, events, queued } = useCase(p, {
      before: async () => {
        await s.dataSource.getRepository(BudgetEntity).insert({ datasetId: 'race-b', consumerId: CONSUMER.id, spent: 0.5 });
      },
    });
    const e = await submit.run({}, CONSUMER).then(
      () => assert.fail('accepted'),
      (x: unknown) => x,
    );
    assert.ok(e instanceof AppError && e.code === 'POLICY_REFUSED', String(e));
    assert.deepEqual(
      e.details.map((d) => [d.path, d.code]),
      [['$.bindings.other', 'BUDGET_EXHAUSTED']],
    );
    assert.equal(await spent('race-a'), null, 'a, charged first in the transaction, is not charged');
    assert.equal(await spent('race-b'), 0.5);
    assert.equal(await s.dataSource.getRepository(JobEntity).countBy({ consumerId: CONSUMER.id, epsilon: 1 }), 0);
    assert.deepEqual(events, ['job.refused']);
    assert.deepEqual(queued, []);
  });

  it('a ledger that cannot record the submission leaves no job, no bound dataset, no ciphertext and no charge', async () => {
    const { submit, queued } = useCase(prepared('ledger', 0.25, [10, null]), { ledgerFails: 'job.submitted' });
    await assert.rejects(() => submit.run({}, CONSUMER), /ledger unavailable/);
    const id = `submit-e2e-${n}`;
    assert.deepEqual(await stored(id), { jobs: 0, datasets: 0, params: 0 });
    assert.equal(await spent('ledger-a'), null);
    assert.deepEqual(queued, []);
  });
});
