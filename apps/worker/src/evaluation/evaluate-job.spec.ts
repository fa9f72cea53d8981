/**
 * The evaluate-job use case on the in-memory queue driver, with typed stand-ins for its ports (no Redis, no database,
 * no HE threads): what it does with a job that is gone, ended, corrupt or not ready, how it completes one (result
 * metadata with or without counts, ledger events), how it splits a reducible feature over its threads, and that a
 * job is failed (recorded, inputs purged) on its last attempt only.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { type EvaluatePayload, JobName, QueueName, type ResultMeta, type UsageEvent } from '#contracts';
import { QueueService } from '#platform';
import { builtinScenarios, compilePlan, defaultParams, reducibleFeatures } from '#scenario';
import { EvaluateJob, type EvaluationJobRow, type EvaluationStore, type JobChange } from './evaluate-job.js';
import type { HeTask, HeTaskResult } from './he-task.js';

const SCENARIO = builtinScenarios().find((s) => s.id === 'water-district-consumption')!;
const ROLE = 'utility';

function compiledPlan(): Record<string, unknown> {
  const rowCounts = { [ROLE]: 40 };
  const compiled = compilePlan(SCENARIO, defaultParams(SCENARIO.id, rowCounts), { rowCounts });
  assert.ok(compiled.ok);
  return JSON.parse(JSON.stringify(compiled.plan)) as Record<string, unknown>;
}
const PLAN = compiledPlan();
const REDUCIBLE = reducibleFeatures(PLAN as never);

function jobRow(overrides: Partial<EvaluationJobRow> = {}): EvaluationJobRow {
  return {
    id: 'job-1',
    scenarioId: SCENARIO.id,
    consumerId: 'consumer-1',
    purpose: 'billing',
    keysetId: 'ks-1',
    bindings: { [ROLE]: 'ds-1' },
    plan: PLAN,
    status: 'encrypting',
    progress: { stage: 'encrypting', providers: {}, evaluation: { status: 'pending' } },
    ...overrides,
  };
}

/** The broker's job store in memory: one job, its uploads, and what evaluation asked of it. */
class StoreStandIn implements EvaluationStore {
  readonly updates: JobChange[] = [];
  readonly completed: { outputs: Record<string, Uint8Array>; resultMeta: ResultMeta }[] = [];
  purged = 0;
  /** `keyset` fails this many more times (the database briefly unreachable). */
  keysetFailures = 0;
  roleStatus = 'encrypted';
  /** Input ciphertexts per feature of the role (a stand-in byte each, its chunk index). */
  chunksPerFeature = 1;

  constructor(private readonly row: EvaluationJobRow | null) {}

  job(): Promise<EvaluationJobRow | null> {
    return Promise.resolve(this.row);
  }
  roles(): ReturnType<EvaluationStore['roles']> {
    const meta = { rows: 40, groupCounts: {}, missingKeys: 0, skippedRows: 0, ciphertexts: 1, bytes: 1 };
    return Promise.resolve([{ role: ROLE, status: this.roleStatus, meta }]);
  }
  keyset(): Promise<Uint8Array> {
    if (this.keysetFailures-- > 0) return Promise.reject(new Error('database unreachable'));
    return Promise.resolve(new Uint8Array([9]));
  }
  ciphertexts(): ReturnType<EvaluationStore['ciphertexts']> {
    const features = (PLAN as { roles: Record<string, { features: { id: string }[] }> }).roles[ROLE]!.features;
    const inputs = {
      [ROLE]: Object.fromEntries(features.map((f) => [f.id, Array.from({ length: this.chunksPerFeature }, (_, i) => new Uint8Array([i]))])),
    };
    return Promise.resolve({ inputs, privateParams: {} });
  }
  minAlignedKeys(): Promise<number> {
    return Promise.resolve(0);
  }
  update(_id: string, change: JobChange): Promise<void> {
    this.updates.push(change);
    return Promise.resolve();
  }
  complete(_jobId: string, outputs: Record<string, Uint8Array>, resultMeta: ResultMeta): Promise<void> {
    this.completed.push({ outputs, resultMeta });
    return Promise.resolve();
  }
  purge(): Promise<void> {
    this.purged++;
    return Promise.resolve();
  }
}

/** HE threads that do no HE: a reduce answers the number of chunks it summed, an evaluation one output. */
class ThreadsStandIn {
  readonly tasks: HeTask[] = [];
  constructor(readonly size: number) {}
  run(task: HeTask): Promise<HeTaskResult> {
    this.tasks.push(task);
    if (task.kind === 'reduce') return Promise.resolve({ kind: 'reduce', ct: new Uint8Array([task.chunks.length]) });
    return Promise.resolve({ kind: 'evaluate', outputs: { total: new Uint8Array([7]) }, meta: { suppressedGroups: {}, epsilonSpent: 0 } });
  }
}

const open: QueueService[] = [];
afterEach(async () => {
  for (const q of open.splice(0)) await q.close();
});

function setup(row: EvaluationJobRow | null = jobRow(), threads = 1) {
  const store = new StoreStandIn(row);
  const he = new ThreadsStandIn(threads);
  const events: (Omit<UsageEvent, 'id' | 'at'> & { id?: string })[] = [];
  const useCase = new EvaluateJob({
    store,
    threads: he,
    ledger: {
      record: (e) => {
        events.push(e);
        return Promise.resolve();
      },
    },
  });
  const queues = QueueService.memory();
  open.push(queues);
  queues.worker(QueueName.evaluate, JobName.evaluate, (t) => useCase.process(t));
  return { store, he, events, queues };
}

const RETRY = { attempts: 3, backoff: { type: 'fixed' as const, delay: 1 } };

async function run(queues: QueueService, data: EvaluatePayload = { jobId: 'job-1' }) {
  await queues.add(QueueName.evaluate, JobName.evaluate, data, { jobId: 'e', ...RETRY });
  for (let i = 0; i < 1000; i++) {
    const j = await queues.job(QueueName.evaluate, 'e');
    if (j?.state === 'completed' || j?.state === 'failed') return j;
    await new Promise((r) => setTimeout(r, 2));
  }
  return assert.fail('the evaluation did not finish');
}

describe('EvaluateJob', () => {
  it('completes a ready job: evaluated, released, the result stored with its counts', async () => {
    const { store, he, events, queues } = setup();
    const j = await run(queues);
    assert.equal(j.state, 'completed', j.failedReason);
    assert.deepEqual(store.updates, [{ to: 'evaluating', progress: { stage: 'evaluating', evaluation: { status: 'running' } } }]);
    assert.equal(store.completed.length, 1);
    const { outputs, resultMeta } = store.completed[0]!;
    assert.deepEqual(Object.keys(outputs), ['total']);
    assert.deepEqual(resultMeta.rows, { [ROLE]: 40 });
    assert.equal(resultMeta.withheld, undefined);
    assert.deepEqual(
      events.map((e) => [e.id, e.type]),
      [
        ['job-1.evaluated', 'job.evaluated'],
        ['job-1.released', 'job.released'],
      ],
    );
    assert.deepEqual(
      he.tasks.map((t) => t.kind),
      ['evaluate'],
    );
    assert.equal(store.purged, 0);
  });

  it("withholds the row counts of a job accepted with them withheld (a bound dataset's policy)", async () => {
    const { store, queues } = setup(
      jobRow({ progress: { stage: 'encrypting', providers: {}, evaluation: { status: 'pending' }, counts: 'withheld' } }),
    );
    assert.equal((await run(queues)).state, 'completed');
    const meta = store.completed[0]!.resultMeta;
    assert.deepEqual(meta.withheld, ['rows', 'missingKeys']);
    assert.equal(meta.rows, undefined);
  });

  it('sums a reducible feature of many ciphertexts over its threads, one slice each, before the evaluation', async () => {
    assert.ok(REDUCIBLE.length > 0, 'the plan has a feature consumed by its sum alone');
    const { store, he, queues } = setup(jobRow(), 2);
    store.chunksPerFeature = 5;
    assert.equal((await run(queues)).state, 'completed');
    const reduces = he.tasks.filter((t) => t.kind === 'reduce');
    assert.deepEqual(
      reduces.map((t) => t.chunks.length),
      REDUCIBLE.flatMap(() => [3, 2]),
    );
    const evaluation = he.tasks.find((t) => t.kind === 'evaluate');
    assert.ok(evaluation?.kind === 'evaluate');
    for (const { role, feature } of REDUCIBLE)
      assert.deepEqual(evaluation.inputs[role]![feature], [new Uint8Array([3]), new Uint8Array([2])]);
  });

  it('an unknown job fails its task at once; an ended job is left as it is', async () => {
    const gone = setup(null);
    const j = await run(gone.queues);
    assert.equal(j.state, 'failed');
    assert.equal(j.attemptsMade, 1);
    assert.deepEqual(gone.events, []);

    const cancelled = setup(jobRow({ status: 'cancelled' }));
    assert.equal((await run(cancelled.queues)).state, 'completed');
    assert.deepEqual(cancelled.store.updates, []);
    assert.deepEqual(cancelled.he.tasks, []);
  });

  it('a stored job whose plan is not one fails with MALFORMED_JOB_RECORD, recorded, its ciphertexts purged, not retried', async () => {
    const { store, events, queues } = setup(jobRow({ plan: { circuit: 'no' } }));
    const j = await run(queues);
    assert.equal(j.state, 'failed');
    assert.equal(j.attemptsMade, 1);
    assert.deepEqual(
      events.map((e) => [e.type, e.data?.code]),
      [['job.failed', 'MALFORMED_JOB_RECORD']],
    );
    assert.equal(store.updates.at(-1)?.to, 'failed');
    assert.equal(store.updates.at(-1)?.error?.code, 'MALFORMED_JOB_RECORD');
    assert.equal(store.updates.at(-1)?.unlessEnded, true);
    assert.equal(store.purged, 1);
  });

  it('an evaluation the queue abandoned (stalled past its limit) fails the job: recorded, purged, EVALUATION_ABANDONED', async () => {
    const { store, events } = setup(jobRow({ status: 'evaluating' }));
    const useCase = new EvaluateJob({
      store,
      threads: new ThreadsStandIn(1),
      ledger: { record: (e) => (events.push(e), Promise.resolve()) },
    });
    await useCase.abandoned({ jobId: 'job-1' }, 'job stalled more than allowable limit');
    assert.deepEqual(
      events.map((e) => [e.type, e.data?.code]),
      [['job.failed', 'EVALUATION_ABANDONED']],
    );
    assert.equal(store.updates.at(-1)?.to, 'failed');
    assert.match(String(store.updates.at(-1)?.error?.message), /stalled more than allowable limit/);
    assert.equal(store.purged, 1);
    // a job that is gone: nothing to fail
    const none = setup(null);
    await new EvaluateJob({ store: none.store, threads: none.he, ledger: { record: () => Promise.resolve() } }).abandoned(
      { jobId: 'x' },
      'r',
    );
    assert.equal(none.store.updates.length, 0);
  });

  it('a job whose inputs are not all uploaded fails at once', async () => {
    const { store, he, queues } = setup();
    store.roleStatus = 'encrypting';
    const j = await run(queues);
    assert.equal(j.state, 'failed');
    assert.equal(j.attemptsMade, 1);
    assert.match(store.updates.at(-1)?.error?.message ?? '', /inputs missing for role\(s\) utility/);
    assert.deepEqual(he.tasks, []);
  });

  it('a transient error is retried; the job is failed (recorded, purged) only when the last attempt fails', async () => {
    const ok = setup();
    ok.store.keysetFailures = 2;
    const done = await run(ok.queues);
    assert.equal(done.state, 'completed');
    assert.equal(done.attemptsMade, 2);
    assert.equal(ok.store.purged, 0);
    assert.ok(!ok.events.some((e) => e.type === 'job.failed'));

    const ko = setup();
    ko.store.keysetFailures = 3;
    const failed = await run(ko.queues);
    assert.equal(failed.state, 'failed');
    assert.equal(failed.attemptsMade, 3);
    assert.deepEqual(
      ko.events.map((e) => [e.type, e.data?.code]),
      [['job.failed', 'EVALUATION_FAILED']],
    );
    assert.equal(ko.store.purged, 1);
  });
});
