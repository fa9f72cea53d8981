/**
 * The submit-job use case with typed stand-ins (no database, no queue): what is stored, charged, recorded and queued
 * for an accepted job, an idempotent replay, each refusal (policy, budget, admission), and a failure of the ledger or
 * of the queue. The store's transaction is played by a stand-in that keeps its writes only when the work returns.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError, type Principal, type UsageEvent } from '#contracts';
import type { UsagePolicy } from '#policy';
import { builtinScenarios, compilePlan, defaultParams } from '#scenario';
import {
  type ActiveJobs,
  type AdmissionTx,
  type DatasetDecision,
  type NewJob,
  type PreparedJob,
  type SubmissionStore,
  SubmitJob,
  initialProgress,
} from './submit-job.js';

const CONSUMER: Principal = { id: 'consumer-1', name: 'analyst', role: 'consumer' };
const SCENARIO = builtinScenarios().find((s) => s.id === 'water-district-consumption')!;
const ROLE = Object.keys(SCENARIO.inputs)[0]!;
const PLAN = (() => {
  const rows = { [ROLE]: 50 };
  const c = compilePlan(SCENARIO, defaultParams(SCENARIO.id, rows), { rowCounts: rows });
  assert.ok(c.ok);
  return c.plan;
})();

const POLICY: UsagePolicy = {
  consumers: ['*'],
  purposes: ['public-service'],
  aggregations: ['count', 'sum', 'mean'],
  rowLevel: false,
  minGroupSize: 1,
  epsilonBudget: null,
  expiresAt: null,
};

function decision(role: string, dataset: string, allow = true): DatasetDecision {
  return {
    role,
    dataset,
    allow,
    reasons: allow ? [] : [{ code: 'PURPOSE_NOT_ALLOWED', message: 'purpose not allowed' }],
    release: { noiseRequired: false, maxEpsilonPerJob: null, epsilonBudget: null, epsilonSpent: 0, minAlignedKeys: null, scenarios: 'any' },
  };
}

/** A submission over two datasets (the plan is the scenario's; the second role is a stand-in for a budget check). */
function prepared(over: Partial<PreparedJob> = {}, epsilon = 0, budgets: (number | null)[] = [null, null]): PreparedJob {
  const offers = {
    [ROLE]: { datasetId: 'ds-a', rowCount: 50, policy: { ...POLICY, epsilonBudget: budgets[0] ?? null } },
    other: { datasetId: 'ds-b', rowCount: 20, policy: { ...POLICY, epsilonBudget: budgets[1] ?? null } },
  };
  return {
    input: {
      scenario: SCENARIO.id,
      bindings: { [ROLE]: 'ds-a', other: 'ds-b' },
      keyset: 'a'.repeat(64),
      purpose: 'public-service',
      params: { n: 3 },
      privateParams: { w: Buffer.from([1, 2, 3]).toString('base64') },
    },
    scenario: SCENARIO,
    version: 1,
    plan: { ...PLAN, epsilon },
    offers,
    decisions: [decision(ROLE, 'ds-a'), decision('other', 'ds-b')],
    estimate: null,
    countsWithheld: false,
    ...over,
  };
}

/** The job store in memory: committed state, and a transaction whose writes are kept only when its work returns. */
class StoreStandIn implements SubmissionStore {
  jobs: NewJob[] = [];
  spent = new Map<string, number>();
  active: ActiveJobs = { mine: 0, all: 0 };
  transactions = 0;

  byIdempotencyKey(consumerId: string, key: string) {
    const j = this.jobs.find((x) => x.consumerId === consumerId && x.idempotencyKey === key);
    return Promise.resolve(j ? { id: j.id, status: j.status } : null);
  }
  activeJobs(): Promise<ActiveJobs> {
    return Promise.resolve(this.active);
  }
  async admit<T>(work: (tx: AdmissionTx) => Promise<T>): Promise<T> {
    this.transactions++;
    const jobs = [...this.jobs];
    const spent = new Map(this.spent);
    const out = await work({
      activeJobs: () => Promise.resolve(this.active),
      chargeBudget: (datasetId, consumerId, epsilon, budget) => {
        const key = `${datasetId}/${consumerId}`;
        const now = spent.get(key) ?? 0;
        if (now + epsilon > budget) return Promise.resolve(false);
        spent.set(key, now + epsilon);
        return Promise.resolve(true);
      },
      insert: (job) => {
        jobs.push(job);
        return Promise.resolve();
      },
      jobsToday: (datasetId, consumerId, day) =>
        Promise.resolve(
          jobs
            .filter((j) => j.consumerId === consumerId && j.day === day)
            .reduce((n, j) => n + j.datasets.filter((d) => d.datasetId === datasetId).length, 0),
        ),
    });
    // committed only here: a throw above leaves the store as it was
    this.jobs = jobs;
    this.spent = spent;
    return out;
  }
}

type Recorded = Omit<UsageEvent, 'id' | 'at'> & { id?: string };

function setup(p: PreparedJob = prepared(), opts: { ledgerFails?: string; enqueueFails?: boolean } = {}) {
  const store = new StoreStandIn();
  const events: Recorded[] = [];
  const queued: string[] = [];
  let prepares = 0;
  let n = 0;
  const useCase = new SubmitJob({
    store,
    prepare: () => {
      prepares++;
      return Promise.resolve(p);
    },
    ledger: {
      record: (e) => {
        if (opts.ledgerFails === e.type) return Promise.reject(new Error('ledger unavailable'));
        events.push(e);
        return Promise.resolve();
      },
    },
    enqueue: (id) => {
      if (opts.enqueueFails) return Promise.reject(new Error('queue unavailable'));
      queued.push(id);
      return Promise.resolve();
    },
    limits: { maxActiveJobsPerConsumer: 2, maxActiveJobs: 5, retrySeconds: 7 },
    newId: () => `job-${++n}`,
    now: () => new Date('2026-12-07T10:00:00Z'),
  });
  return { useCase, store, events, queued, prepares: () => prepares };
}

async function refusal(f: () => Promise<unknown>): Promise<AppError> {
  try {
    await f();
  } catch (e) {
    assert.ok(e instanceof AppError, String(e));
    return e;
  }
  return assert.fail('the submission was accepted');
}

describe('SubmitJob', () => {
  it('accepts a job: stored whole (row, bound datasets, private parameters), recorded in the transaction, then queued', async () => {
    const { useCase, store, events, queued } = setup();
    const r = await useCase.run({}, CONSUMER, 'key-1');
    assert.deepEqual(r, { id: 'job-1', status: 'queued', created: true });
    assert.equal(store.jobs.length, 1);
    const j = store.jobs[0]!;
    assert.equal(j.consumerId, CONSUMER.id);
    assert.equal(j.idempotencyKey, 'key-1');
    assert.equal(j.day, '2026-12-07');
    assert.deepEqual(j.params, { n: 3 });
    assert.deepEqual(j.datasets, [
      { role: ROLE, datasetId: 'ds-a' },
      { role: 'other', datasetId: 'ds-b' },
    ]);
    assert.deepEqual([...j.privateParams.w!], [1, 2, 3]);
    assert.deepEqual(j.progress, {
      stage: 'queued',
      providers: { [ROLE]: { dataset: 'ds-a', status: 'pending', rows: 50 }, other: { dataset: 'ds-b', status: 'pending', rows: 20 } },
      evaluation: { status: 'pending' },
    });
    assert.deepEqual(
      events.map((e) => [e.id, e.type]),
      [['job-1.submitted', 'job.submitted']],
    );
    assert.deepEqual(queued, ['job-1']);
  });

  it('a replay of an idempotency key answers the job it made, without checking, storing or queueing again', async () => {
    const { useCase, store, queued, prepares } = setup();
    await useCase.run({}, CONSUMER, 'key-1');
    const again = await useCase.run({}, CONSUMER, 'key-1');
    assert.deepEqual(again, { id: 'job-1', status: 'queued', created: false });
    assert.equal(store.jobs.length, 1);
    assert.equal(prepares(), 1);
    assert.deepEqual(queued, ['job-1']);
    const bad = await refusal(() => useCase.run({}, CONSUMER, 'has space'));
    assert.equal(bad.code, 'VALIDATION_FAILED');
    assert.equal(bad.details[0]!.path, '$header.idempotency-key');
  });

  it('withheld counts: the new job keeps no row count in its progress, and says so', () => {
    const p = initialProgress({ ...prepared(), countsWithheld: true });
    assert.equal(p.counts, 'withheld');
    for (const v of Object.values(p.providers)) assert.ok(!('rows' in v));
  });

  it("a dataset's policy refusal is recorded with its reasons; nothing is stored, charged or queued", async () => {
    const p = prepared({ decisions: [decision(ROLE, 'ds-a'), decision('other', 'ds-b', false)] }, 0.5, [1, 1]);
    const { useCase, store, events, queued } = setup(p);
    const e = await refusal(() => useCase.run({}, CONSUMER));
    assert.equal(e.code, 'POLICY_REFUSED');
    assert.deepEqual(
      e.details.map((d) => [d.path, d.code]),
      [['$.bindings.other', 'PURPOSE_NOT_ALLOWED']],
    );
    assert.deepEqual(
      events.map((x) => x.type),
      ['job.refused'],
    );
    assert.equal(store.transactions, 0);
    assert.equal(store.jobs.length + store.spent.size + queued.length, 0);
  });

  it('a budget that cannot cover the plan refuses the job whole: the budget charged before it is not kept', async () => {
    // ds-a can pay 0.5, ds-b only 0.25: without the rollback, ds-a would be charged for a job that never ran
    const { useCase, store, events, queued } = setup(prepared({}, 0.5, [1, 0.25]));
    const e = await refusal(() => useCase.run({}, CONSUMER));
    assert.equal(e.code, 'POLICY_REFUSED');
    assert.deepEqual(
      e.details.map((d) => [d.path, d.code, d.dataset]),
      [['$.bindings.other', 'BUDGET_EXHAUSTED', 'ds-b']],
    );
    assert.equal(store.spent.size, 0, 'no budget charged');
    assert.equal(store.jobs.length, 0);
    assert.deepEqual(queued, []);
    assert.deepEqual(
      events.map((x) => [x.type, x.data]),
      [['job.refused', { reasons: [{ dataset: 'ds-b', code: 'BUDGET_EXHAUSTED' }] }]],
    );
  });

  it('a job every budget covers charges each bound dataset that has one, once', async () => {
    const { useCase, store } = setup(prepared({}, 0.5, [1, null]));
    await useCase.run({}, CONSUMER);
    await useCase.run({}, CONSUMER);
    assert.deepEqual([...store.spent], [['ds-a/consumer-1', 1]]);
    const e = await refusal(() => useCase.run({}, CONSUMER));
    assert.equal(e.details[0]!.code, 'BUDGET_EXHAUSTED');
    assert.equal(store.jobs.length, 2);
  });

  it('admission: a consumer at its limit, or a full data space, is refused with Retry-After before anything is checked', async () => {
    const { useCase, store, prepares, events } = setup();
    store.active = { mine: 2, all: 2 };
    const mine = await refusal(() => useCase.run({}, CONSUMER));
    assert.equal(mine.code, 'TOO_MANY_JOBS');
    assert.equal(mine.details[0]!.code, 'CONSUMER_JOB_LIMIT');
    assert.equal(mine.retryAfterSeconds, 7);
    store.active = { mine: 0, all: 5 };
    const full = await refusal(() => useCase.run({}, CONSUMER));
    assert.equal(full.details[0]!.code, 'QUEUE_FULL');
    assert.doesNotMatch(full.message, /5/, "the data space's total is not disclosed");
    assert.equal(prepares(), 0);
    assert.deepEqual(events, []);
  });

  it('admission is decided again inside the transaction: a place taken meanwhile refuses the job, nothing stored', async () => {
    const { useCase, store } = setup();
    const admit = store.admit.bind(store);
    store.admit = (work) => {
      store.active = { mine: 2, all: 2 };
      return admit(work);
    };
    const e = await refusal(() => useCase.run({}, CONSUMER));
    assert.equal(e.code, 'TOO_MANY_JOBS');
    assert.equal(store.jobs.length, 0);
  });

  it("a dataset's daily job limit is decided again inside the transaction: a job stored meanwhile refuses this one", async () => {
    const p = prepared();
    p.offers[ROLE]!.policy = { ...POLICY, jobsPerDay: 1 };
    const { useCase, store, events } = setup(p);
    // the decision (prepare) counted no job today; a concurrent submission is admitted before this one
    await useCase.run({}, CONSUMER);
    const e = await refusal(() => useCase.run({}, CONSUMER));
    assert.equal(e.code, 'POLICY_REFUSED');
    assert.deepEqual(
      e.details.map((d) => [d.path, d.code, d.dataset]),
      [[`$.bindings.${ROLE}`, 'DAILY_LIMIT_REACHED', 'ds-a']],
    );
    assert.equal(store.jobs.length, 1);
    assert.deepEqual(
      events.map((x) => x.type),
      ['job.submitted', 'job.refused'],
    );
  });

  it('a ledger that cannot record the submission rolls the job back; a queue that is down leaves it accepted', async () => {
    const failing = setup(prepared({}, 0.5, [1, 1]), { ledgerFails: 'job.submitted' });
    await assert.rejects(() => failing.useCase.run({}, CONSUMER), /ledger unavailable/);
    assert.equal(failing.store.jobs.length, 0);
    assert.equal(failing.store.spent.size, 0);
    assert.deepEqual(failing.queued, []);

    const down = setup(prepared(), { enqueueFails: true });
    const r = await down.useCase.run({}, CONSUMER);
    assert.equal(r.created, true);
    assert.equal(down.store.jobs.length, 1, 'stored: the reconciler queues it');
  });
});
