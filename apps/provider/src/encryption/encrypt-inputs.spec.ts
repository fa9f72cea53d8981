/**
 * The encrypt-inputs use case on the in-memory queue driver, with typed stand-ins for its ports (no Redis, no
 * database, no HE pool): a task is checked against the broker's job and this connector's own policy, a refusal is
 * recorded and reported and never retried, a transient error is retried and reported as a failure on the last
 * attempt only, and an accepted task uploads one ciphertext per chunk the plan's encoding makes.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import {
  BrokerDocumentError,
  type ConnectorJob,
  ConnectorPort,
  type EncryptTaskPayload,
  JobName,
  type OfferDocument,
  QueueName,
  type RefusalReason,
  UPLOAD_BATCH_CHUNKS,
  type UploadMeta,
  type UploadPart,
  type UsageEvent,
  connectorJobSchema,
} from '#contracts';
import { FatalTaskError, QueueService } from '#platform';
import type { UsagePolicy } from '#policy';
import { type Row, aggregationsByRole, builtinScenarios, compilePlan, defaultParams, encodeRole, generateRoleRows } from '#scenario';
import { type DatasetRecord, type DatasetSource, EncryptInputs, REASON_MESSAGE_MAX } from './encrypt-inputs.js';

const CONNECTOR = 'conn-a';
const QUEUE = QueueName.encrypt(CONNECTOR);
const SCENARIO = builtinScenarios().find((s) => s.id === 'water-district-consumption')!;
const ROLE = 'utility';
const ROWS = generateRoleRows(SCENARIO.id, ROLE, { rows: 40, seed: 3 });

function compiledPlan(): ConnectorJob['plan'] {
  const rowCounts = { [ROLE]: ROWS.length };
  const compiled = compilePlan(SCENARIO, defaultParams(SCENARIO.id, rowCounts), { rowCounts });
  assert.ok(compiled.ok);
  return compiled.plan as unknown as ConnectorJob['plan'];
}
const PLAN = compiledPlan();

const POLICY: UsagePolicy = {
  consumers: ['*'],
  purposes: ['billing'],
  aggregations: aggregationsByRole(SCENARIO)[ROLE] ?? [],
  rowLevel: false,
  minGroupSize: 1,
  epsilonBudget: null,
  expiresAt: null,
};

/** The broker's job document, checked with the protocol's schema as the connector's HTTP link checks it. */
function brokerJob(overrides: Partial<Record<keyof ConnectorJob, unknown>> = {}): ConnectorJob {
  return connectorJobSchema.parse({
    id: 'job-1',
    consumerId: 'consumer-1',
    purpose: 'billing',
    status: 'queued',
    scenarioId: SCENARIO.id,
    bindings: { [ROLE]: 'ds-1' },
    plan: PLAN,
    scenario: SCENARIO,
    keysetId: 'ks-1',
    ...overrides,
  });
}

const TASK: EncryptTaskPayload = { jobId: 'job-1', role: ROLE, datasetId: 'ds-1', consumerId: 'consumer-1', purpose: 'billing' };

/** The broker as the connector sees it: answers `job`, records what the connector reports and uploads. */
class BrokerStandIn extends ConnectorPort {
  readonly refusals: { role: string; reasons: RefusalReason[] }[] = [];
  readonly failures: { role: string; message: string }[] = [];
  readonly progress: string[] = [];
  readonly parts: UploadPart[] = [];
  readonly commits: UploadMeta[] = [];
  /** `publicKeyset` fails this many more times (a broker briefly unreachable). */
  keysetFailures = 0;

  constructor(private readonly answer: () => ConnectorJob | null) {
    super();
  }
  boundConnectorId(): Promise<string | null> {
    return Promise.resolve(null);
  }
  publishOffer(_o: OfferDocument): Promise<void> {
    return Promise.reject(new Error('not used here'));
  }
  job(_jobId: string): Promise<ConnectorJob | null> {
    try {
      return Promise.resolve(this.answer());
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }
  publicKeyset(_keysetId: string): Promise<Uint8Array> {
    if (this.keysetFailures-- > 0) return Promise.reject(new Error('broker unreachable'));
    return Promise.resolve(new Uint8Array([1, 2, 3]));
  }
  beginUpload(): Promise<void> {
    this.parts.length = 0;
    return Promise.resolve();
  }
  uploadPart(_jobId: string, _role: string, part: UploadPart): Promise<void> {
    this.parts.push(part);
    return Promise.resolve();
  }
  commitUpload(_jobId: string, _role: string, meta: UploadMeta): Promise<void> {
    this.commits.push(meta);
    return Promise.resolve();
  }
  reportProgress(_jobId: string, _role: string, p: Record<string, unknown>): Promise<void> {
    this.progress.push(String(p.status));
    return Promise.resolve();
  }
  reportRefusal(_jobId: string, role: string, reasons: RefusalReason[]): Promise<void> {
    this.refusals.push({ role, reasons });
    return Promise.resolve();
  }
  reportFailure(_jobId: string, role: string, message: string): Promise<void> {
    this.failures.push({ role, message });
    return Promise.resolve();
  }
  psiSubmit(): Promise<void> {
    return Promise.reject(new Error('not used here'));
  }
  psiTask(): Promise<Uint8Array | null> {
    return Promise.reject(new Error('not used here'));
  }
  psiMatches(): Promise<number[] | null> {
    return Promise.reject(new Error('not used here'));
  }
}

class DatasetsStandIn implements DatasetSource {
  constructor(private readonly held: DatasetRecord[]) {}
  find(id: string): Promise<DatasetRecord | null> {
    return Promise.resolve(this.held.find((d) => d.id === id) ?? null);
  }
  async *rows(_id: string): AsyncIterable<Row[]> {
    // copies: the use case clamps the rows it reads in place
    yield ROWS.slice(0, 25).map((r) => ({ ...r }));
    yield ROWS.slice(25).map((r) => ({ ...r }));
  }
}

const open: QueueService[] = [];
afterEach(async () => {
  for (const q of open.splice(0)) await q.close();
});

function setup(opts: { job?: () => ConnectorJob | null; datasets?: DatasetRecord[] } = {}) {
  const broker = new BrokerStandIn(opts.job ?? (() => brokerJob()));
  const events: (Omit<UsageEvent, 'id' | 'at'> & { id?: string })[] = [];
  const encrypted: number[] = [];
  const useCase = new EncryptInputs({
    connectorId: CONNECTOR,
    datasets: new DatasetsStandIn(opts.datasets ?? [{ id: 'ds-1', connectorId: CONNECTOR, policy: POLICY }]),
    broker,
    ledger: {
      record: (e) => {
        events.push(e);
        return Promise.resolve();
      },
    },
    he: {
      // a stand-in ciphertext per chunk (the HE pool is the he-core specs' to test)
      encryptBatch: (_pk, chunks) => {
        encrypted.push(chunks.length);
        return Promise.resolve(chunks.map(() => new Uint8Array(16)));
      },
    },
  });
  const queues = QueueService.memory();
  open.push(queues);
  queues.worker(QUEUE, JobName.encryptInputs, (t) => useCase.process(t), {
    onAbandoned: ({ data }, reason) => useCase.abandoned(data, reason),
  });
  return { broker, events, encrypted, useCase, queues };
}

async function finished(queues: QueueService, id: string) {
  for (let i = 0; i < 1000; i++) {
    const j = await queues.job(QUEUE, id);
    if (j?.state === 'completed' || j?.state === 'failed') return j;
    await new Promise((r) => setTimeout(r, 2));
  }
  return assert.fail(`task ${id} did not finish`);
}

const RETRY = { attempts: 3, backoff: { type: 'fixed' as const, delay: 1 } };

describe('EncryptInputs', () => {
  it('an accepted task encodes the rows, uploads one ciphertext per chunk, commits and records inputs.encrypted', async () => {
    const { broker, events, encrypted, queues } = setup();
    await queues.add(QUEUE, JobName.encryptInputs, TASK, { jobId: 't', ...RETRY });
    const j = await finished(queues, 't');
    assert.equal(j.state, 'completed', j.failedReason);
    const expected = encodeRole(PLAN as never, ROLE, ROWS).features;
    const chunks = expected.reduce((n, f) => n + f.chunks.length, 0);
    assert.ok(chunks > 0);
    assert.equal(
      encrypted.reduce((a, b) => a + b, 0),
      chunks,
    );
    assert.deepEqual(
      broker.parts.map((p) => p.features.map((f) => f.id)).flat(),
      // one part per batch of UPLOAD_BATCH_CHUNKS ciphertexts of a feature
      expected.flatMap((f) => Array.from({ length: Math.ceil(f.chunks.length / UPLOAD_BATCH_CHUNKS) }, () => f.id)),
    );
    assert.equal(broker.commits.length, 1);
    assert.equal(broker.commits[0]!.rows, ROWS.length);
    assert.equal(broker.commits[0]!.ciphertexts, chunks);
    assert.deepEqual(broker.progress, ['encoding', 'encrypting']);
    assert.deepEqual(broker.refusals, []);
    assert.deepEqual(broker.failures, []);
    assert.deepEqual(
      events.map((e) => [e.id, e.type]),
      [['job-1.inputs-encrypted.utility', 'inputs.encrypted']],
    );
    // the event carries counts, never a row value
    assert.deepEqual(Object.keys(events[0]!.data ?? {}).sort(), ['bytes', 'ciphertexts', 'missingKeys', 'role', 'rows']);
  });

  it('a task naming another consumer and purpose than the job is refused, recorded and reported, and not retried', async () => {
    const { broker, events, queues } = setup();
    await queues.add(QUEUE, JobName.encryptInputs, { ...TASK, consumerId: 'someone', purpose: 'marketing' }, { jobId: 't', ...RETRY });
    const j = await finished(queues, 't');
    assert.equal(j.state, 'failed');
    assert.equal(j.attemptsMade, 1);
    assert.deepEqual(
      broker.refusals.map((r) => r.reasons.map((x) => x.code)),
      [['CONSUMER_MISMATCH', 'PURPOSE_MISMATCH']],
    );
    assert.deepEqual(
      events.map((e) => [e.type, e.data?.reasons]),
      [['inputs.refused', ['CONSUMER_MISMATCH', 'PURPOSE_MISMATCH']]],
    );
    assert.deepEqual(broker.failures, [], 'a refusal is not a failure');
    assert.equal(broker.parts.length, 0);
  });

  it('refuses a dataset it does not hold (or holds for another connector), a job the broker does not have, and a malformed job', async () => {
    const cases: [string, Parameters<typeof setup>[0], string][] = [
      ['no dataset', { datasets: [] }, 'UNKNOWN_DATASET'],
      ['another connector', { datasets: [{ id: 'ds-1', connectorId: 'conn-b', policy: POLICY }] }, 'UNKNOWN_DATASET'],
      ['no job', { job: () => null }, 'UNKNOWN_JOB'],
      [
        'malformed',
        {
          job: () => {
            throw new BrokerDocumentError('job', [{ path: '$.plan', message: 'is required' }]);
          },
        },
        'MALFORMED_JOB',
      ],
      ['ended', { job: () => brokerJob({ status: 'cancelled' }) }, 'JOB_NOT_RUNNING'],
      ['bound elsewhere', { job: () => brokerJob({ bindings: { [ROLE]: 'ds-2' } }) }, 'BINDING_MISMATCH'],
    ];
    for (const [what, opts, code] of cases) {
      const { broker, queues } = setup(opts);
      await queues.add(QUEUE, JobName.encryptInputs, TASK, { jobId: 't', ...RETRY });
      const j = await finished(queues, 't');
      assert.equal(j.state, 'failed', what);
      assert.equal(j.attemptsMade, 1, what);
      assert.deepEqual(
        broker.refusals.flatMap((r) => r.reasons.map((x) => x.code)),
        [code],
        what,
      );
    }
  });

  it('a transient error is retried; only the last attempt reports a failure to the broker', async () => {
    const ok = setup();
    ok.broker.keysetFailures = 2;
    await ok.queues.add(QUEUE, JobName.encryptInputs, TASK, { jobId: 't', ...RETRY });
    const done = await finished(ok.queues, 't');
    assert.equal(done.state, 'completed');
    assert.equal(done.attemptsMade, 2);
    assert.deepEqual(ok.broker.failures, []);

    const ko = setup();
    ko.broker.keysetFailures = 5;
    await ko.queues.add(QUEUE, JobName.encryptInputs, TASK, { jobId: 't', ...RETRY });
    const failed = await finished(ko.queues, 't');
    assert.equal(failed.state, 'failed');
    assert.equal(failed.attemptsMade, 3);
    assert.deepEqual(ko.broker.failures, [{ role: ROLE, message: 'broker unreachable' }]);
    assert.deepEqual(ko.broker.refusals, []);
  });

  it('a task the queue abandoned is reported to the broker as a failure, its reason cut to what the broker takes', async () => {
    const { broker, useCase } = setup();
    useCase.abandoned(TASK, `job stalled more than allowable limit ${'x'.repeat(600)}`);
    await new Promise((r) => setImmediate(r));
    assert.equal(broker.failures.length, 1);
    assert.equal(broker.failures[0]!.message.length, REASON_MESSAGE_MAX);
    assert.match(broker.failures[0]!.message, /^job stalled more than allowable limit/);
  });

  it('FatalTaskError is what a refusal throws (the queue skips its retries)', async () => {
    const { useCase } = setup({ datasets: [] });
    const task = {
      id: 't',
      name: JobName.encryptInputs,
      data: TASK,
      attemptsMade: 0,
      attempts: 3,
      updateProgress: () => Promise.resolve(),
    };
    await assert.rejects(useCase.process(task), FatalTaskError);
  });
});
