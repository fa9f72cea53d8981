import {
  BrokerDocumentError,
  type ConnectorJob,
  type ConnectorPort,
  type EncryptTaskPayload,
  type RefusalReason,
  UPLOAD_BATCH_CHUNKS,
  type UsageEvent,
  isTerminalJobStatus,
} from '#contracts';
import { FatalTaskError, type Task, isFinalAttempt } from '#platform';
import { type UsagePolicy, decide, scenarioHash, withholdsCounts } from '#policy';
import { type Plan, type Row, aggregationsByRole, encodeRole, sameBounding, unitBounding } from '#scenario';
import { psiAlign } from './psi-alignment.js';

export type TaskRefusal = RefusalReason;

/** The longest refusal message the broker takes (refusalReasonSchema, `#contracts`). */
export const REASON_MESSAGE_MAX = 500;

/** Ciphertexts encrypted and uploaded at a time (~0.5 MiB each at N=8192). */
const UPLOAD_BATCH = UPLOAD_BATCH_CHUNKS;
const EMPTY = new Float64Array(0);

/** A dataset as this connector holds it: whose it is and its usage policy. */
export interface DatasetRecord {
  id: string;
  connectorId: string;
  policy: UsagePolicy;
}

/** The connector's own store of datasets: a dataset by id, and its rows, batch by batch. */
export interface DatasetSource {
  find(id: string): Promise<DatasetRecord | null>;
  rows(id: string): AsyncIterable<Row[]>;
}

/** What encrypting a role's inputs needs: this connector's id, its datasets, the broker, the ledger, HE encryption. */
export interface EncryptInputsPorts {
  connectorId: string;
  datasets: DatasetSource;
  broker: ConnectorPort;
  ledger: { record(e: Omit<UsageEvent, 'id' | 'at'> & { id?: string }): Promise<unknown> };
  he: { encryptBatch(publicKeyset: Uint8Array, chunks: Float64Array[]): Promise<Uint8Array[]> };
  log?: { log(message: string): void; warn(message: string): void };
}

/**
 * Encrypts one role's inputs for a job (the `encrypt-inputs` task). It does not trust the broker: a task is checked
 * against the job the broker holds and against this connector's own copy of the dataset's policy; a forged or widened
 * task is refused and the refusal recorded. Then it does the plan's provider-side work in plaintext, encrypts under
 * the job's public key and uploads the ciphertexts (replacing any earlier upload: a retry leaves one set).
 */
export class EncryptInputs {
  private readonly connectorId: string;
  private readonly datasets: DatasetSource;
  private readonly broker: ConnectorPort;
  private readonly ledger: EncryptInputsPorts['ledger'];
  private readonly he: EncryptInputsPorts['he'];
  private readonly log: EncryptInputsPorts['log'];

  constructor(ports: EncryptInputsPorts) {
    this.connectorId = ports.connectorId;
    this.datasets = ports.datasets;
    this.broker = ports.broker;
    this.ledger = ports.ledger;
    this.he = ports.he;
    this.log = ports.log;
  }

  /**
   * A task the queue gave up on without running it (its lock lapsed more often than allowed: a process killed or
   * blocked mid-task, again and again): the broker is told, or the job would wait for this role forever.
   */
  abandoned(task: EncryptTaskPayload, reason: string): void {
    this.log?.warn(`job ${task.jobId} role ${task.role}: encryption task failed (${reason})`);
    void this.broker.reportFailure(task.jobId, task.role, reason.slice(0, REASON_MESSAGE_MAX)).catch(() => undefined);
  }

  /** Checks a task; returns every reason to refuse it (empty when it may run). */
  async check(task: EncryptTaskPayload): Promise<{
    reasons: TaskRefusal[];
    dataset: DatasetRecord | null;
    plan: Plan | null;
    keysetId: string | null;
    countsWithheld: boolean;
  }> {
    const reasons: TaskRefusal[] = [];
    const dataset = await this.datasets.find(task.datasetId);
    if (!dataset || dataset.connectorId !== this.connectorId) {
      return {
        reasons: [{ code: 'UNKNOWN_DATASET', message: 'this connector holds no such dataset' }],
        dataset: null,
        plan: null,
        keysetId: null,
        countsWithheld: true,
      };
    }
    const policy = dataset.policy;
    let job: ConnectorJob | null;
    try {
      job = await this.broker.job(task.jobId);
    } catch (e) {
      // The connector does not act on a job document that is not what the protocol says (the broker's schema,
      // `connectorJobSchema`): the task is refused, and the refusal names the JSON paths at fault.
      if (!(e instanceof BrokerDocumentError)) throw e;
      return {
        reasons: [{ code: 'MALFORMED_JOB', message: e.message.slice(0, REASON_MESSAGE_MAX) }],
        dataset,
        plan: null,
        keysetId: null,
        countsWithheld: true,
      };
    }
    if (!job)
      return {
        reasons: [{ code: 'UNKNOWN_JOB', message: 'the broker has no such job' }],
        dataset,
        plan: null,
        keysetId: null,
        countsWithheld: true,
      };
    if (job.bindings[task.role] !== task.datasetId)
      reasons.push({ code: 'BINDING_MISMATCH', message: `the job does not bind this dataset to role ${task.role}` });
    if (job.consumerId !== task.consumerId)
      reasons.push({ code: 'CONSUMER_MISMATCH', message: 'the task names another consumer than the job' });
    if (job.purpose !== task.purpose) reasons.push({ code: 'PURPOSE_MISMATCH', message: 'the task names another purpose than the job' });
    if (isTerminalJobStatus(job.status)) reasons.push({ code: 'JOB_NOT_RUNNING', message: `the job is ${job.status}` });
    const { scenario, plan } = job;
    // The plan's epsilon, scenario and key list are re-checked against this connector's own copy of the policy
    // (noise required, per-job maximum, scenario allowlist, minimum of aligned keys); the budget and the daily
    // limit are the broker's to count.
    const epsilon = plan.epsilon; // finite and >= 0: checked with the job document
    const aligned = plan.align && plan.align.on[task.role] !== undefined;
    const d = decide(
      policy,
      {
        consumerId: job.consumerId,
        purpose: job.purpose,
        aggregations: aggregationsByRole(scenario)[task.role] ?? [],
        rowLevel: scenario.release?.rowLevel === true,
        minGroupSize: scenario.release?.minGroupSize ?? 1,
        epsilon,
        ...(Number.isInteger(job.scenarioVersion)
          ? { scenario: { id: job.scenarioId, version: job.scenarioVersion!, hash: scenarioHash(scenario) } }
          : {}),
        // the number of aligned roles, as the broker passes it: joint groups exist with two or more (ALIGNED_NOISE_REQUIRED)
        ...(aligned && plan.align
          ? { alignment: { keys: plan.align.keys?.length ?? null, roles: Object.keys(plan.align.on).length } }
          : {}),
      },
      { epsilonSpent: 0, jobsToday: 0 },
      new Date(),
    );
    reasons.push(
      ...d.reasons
        .filter((r) => r.code !== 'BUDGET_EXHAUSTED' && r.code !== 'DAILY_LIMIT_REACHED')
        .map((r) => ({ code: r.code, message: r.message })),
    );
    if (!plan.roles?.[task.role]) reasons.push({ code: 'PLAN_MISMATCH', message: `the plan has no work for role ${task.role}` });
    // the scenario's privacy unit bounds this role's rows: a plan that carries another cut (or none) is not encoded
    else if (!sameBounding(plan.roles[task.role]?.unit, unitBounding(scenario, task.role)))
      reasons.push({
        code: 'PLAN_MISMATCH',
        message: `the plan's contribution bounds for role ${task.role} are not the scenario's privacy unit`,
      });
    return { reasons, dataset, plan, keysetId: job.keysetId, countsWithheld: job.countsWithheld === true || withholdsCounts(policy) };
  }

  /**
   * A usage event about one encryption task, recorded by this connector: one id per (job, role, type), so a retried
   * task records it once.
   */
  private taskEvent(
    task: EncryptTaskPayload,
    type: 'inputs.refused' | 'inputs.encrypted',
    data: Record<string, unknown>,
  ): Omit<UsageEvent, 'at'> {
    return {
      id: `${task.jobId}.${type.replace('.', '-')}.${task.role}`,
      type,
      actor: { id: this.connectorId, role: 'provider' },
      job: task.jobId,
      consumer: task.consumerId,
      purpose: task.purpose,
      datasets: [task.datasetId],
      data,
    };
  }

  private async refuse(task: EncryptTaskPayload, reasons: TaskRefusal[]): Promise<never> {
    await this.ledger.record(this.taskEvent(task, 'inputs.refused', { role: task.role, reasons: reasons.map((r) => r.code) }));
    await this.broker.reportRefusal(task.jobId, task.role, reasons).catch(() => undefined);
    throw new FatalTaskError(`refused: ${reasons.map((r) => r.code).join(', ')}`);
  }

  async process(job: Task<EncryptTaskPayload>): Promise<{ ciphertexts: number }> {
    try {
      return await this.run(job);
    } catch (e) {
      // a refusal (fatal) was reported as such; an error on the last attempt is reported as a failure
      if (isFinalAttempt(job, e) && !(e instanceof FatalTaskError))
        await this.broker.reportFailure(job.data.jobId, job.data.role, (e as Error).message).catch(() => undefined);
      throw e;
    }
  }

  private async run(job: Task<EncryptTaskPayload>): Promise<{ ciphertexts: number }> {
    const task = job.data;
    const { reasons, dataset, plan, keysetId, countsWithheld } = await this.check(task);
    if (reasons.length || !dataset || !plan || !keysetId) return this.refuse(task, reasons);
    await this.broker.reportProgress(task.jobId, task.role, { status: 'encoding' });
    const rows: Row[] = [];
    for await (const part of this.datasets.rows(dataset.id)) for (const r of part) rows.push(r);
    let keys = plan.align?.keys ?? undefined;
    if (plan.align && !keys && plan.align.on[task.role] !== undefined) {
      // Align by private set intersection with the other aligned providers, through the broker.
      await this.broker.reportProgress(task.jobId, task.role, { status: 'intersecting' });
      const idColumn = plan.align.on[task.role]!;
      keys = await psiAlign(
        this.broker,
        task.jobId,
        Object.keys(plan.align.on).sort(),
        task.role,
        rows.map((r) => String(r[idColumn])),
      );
      // The intersection's size is known now: under the policy's minimum, nothing is encrypted (the broker checks too).
      const min = dataset.policy.minAlignedKeys ?? null;
      if (min !== null && keys.length < min) {
        rows.length = 0;
        return this.refuse(task, [
          { code: 'TOO_FEW_KEYS', message: `the private set intersection has fewer keys than this dataset's policy requires (${min})` },
        ]);
      }
    }
    // the rows were read for this task alone: clamped in place rather than copied
    const encoded = encodeRole(plan, task.role, rows, keys ? { keys, inPlace: true } : { inPlace: true });
    rows.length = 0;
    await job.updateProgress({ stage: 'encrypting' });
    await this.broker.reportProgress(
      task.jobId,
      task.role,
      countsWithheld ? { status: 'encrypting' } : { status: 'encrypting', rows: encoded.rows },
    );
    const pk = await this.broker.publicKeyset(keysetId);
    // Encrypt and upload batch by batch: the connector never holds a role's whole set of ciphertexts.
    await this.broker.beginUpload(task.jobId, task.role);
    let bytes = 0;
    let ciphertexts = 0;
    for (const f of encoded.features) {
      for (let i = 0; i < f.chunks.length; i += UPLOAD_BATCH) {
        const saved = await this.he.encryptBatch(pk, f.chunks.slice(i, i + UPLOAD_BATCH));
        for (let k = i; k < Math.min(f.chunks.length, i + UPLOAD_BATCH); k++) f.chunks[k] = EMPTY;
        await this.broker.uploadPart(task.jobId, task.role, { features: [{ id: f.id, first: i, chunks: saved }] });
        ciphertexts += saved.length;
        bytes += saved.reduce((a, c) => a + c.length, 0);
      }
    }
    // the consumer reads this event: a policy that withholds counts keeps them out of it (the broker gets them below)
    await this.ledger.record(
      this.taskEvent(
        task,
        'inputs.encrypted',
        countsWithheld
          ? { role: task.role, ciphertexts, counts: 'withheld' }
          : { role: task.role, rows: encoded.rows, ciphertexts, bytes, missingKeys: encoded.missingKeys },
      ),
    );
    await this.broker.commitUpload(task.jobId, task.role, {
      rows: encoded.rows,
      groupCounts: encoded.groupCounts,
      missingKeys: encoded.missingKeys,
      // rows dropped by the privacy unit's bounds are reported as skipped: one total, never a count per unit
      skippedRows: encoded.skippedRows + encoded.boundedRows,
      ciphertexts,
      bytes,
    });
    this.log?.log(`job ${task.jobId} role ${task.role}: ${ciphertexts} ciphertexts uploaded`);
    return { ciphertexts };
  }
}
