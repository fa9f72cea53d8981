import type { EvaluatePayload, JobError, JobProgress, JobStatus, ResultMeta, UploadMeta, UsageEvent } from '#contracts';
import { type JobRecord, countsWithheld, jobFailedEvent, readJobRecord } from '#jobs';
import type { JobEntity } from '#persistence';
import { FatalTaskError, type Task, isFinalAttempt } from '#platform';
import { type Plan, reducibleFeatures } from '#scenario';
import type { HeTask, HeTaskResult } from './he-task.js';

/** A job the policy of a bound dataset stops at evaluation: fails with `code`, never retried. */
export class PolicyFailure extends FatalTaskError {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The job row as evaluation reads it: its plan as the database gives it back, typed only once `readJobRecord` has
 * checked it (a row written by an earlier version, or damaged, is refused there).
 */
export type EvaluationJobRow = Pick<
  JobEntity,
  'id' | 'scenarioId' | 'consumerId' | 'purpose' | 'keysetId' | 'bindings' | 'status' | 'progress'
> & {
  plan: unknown;
};

/** A change to a job: merged progress, and with `to` a status (`transition`); `unlessEnded` leaves an ended job as it is. */
export interface JobChange {
  to?: JobStatus;
  error?: JobError;
  progress?: Partial<JobProgress>;
  unlessEnded?: boolean;
}

/** The broker's job store as evaluation uses it (evaluation-store.ts: TypeORM). */
export interface EvaluationStore {
  job(id: string): Promise<EvaluationJobRow | null>;
  /** Each bound role's upload: its status and the counts its provider committed (`meta`). */
  roles(jobId: string): Promise<{ role: string; status: string; meta: UploadMeta | null }[]>;
  keyset(id: string): Promise<Uint8Array>;
  /** The providers' input ciphertexts by role and feature (in chunk order) and the consumer's private parameters. */
  ciphertexts(jobId: string): Promise<{
    inputs: Record<string, Record<string, Uint8Array[]>>;
    privateParams: Record<string, Uint8Array>;
  }>;
  /** The largest `minAlignedKeys` of these datasets' offers (0 when none sets one). */
  minAlignedKeys(datasetIds: string[]): Promise<number>;
  update(id: string, change: JobChange): Promise<void>;
  /** At once: the outputs stored as the job's result, its other ciphertexts deleted, the job completed with `resultMeta`. */
  complete(jobId: string, outputs: Record<string, Uint8Array>, resultMeta: ResultMeta, evaluationMs: number): Promise<void>;
  /** Deletes every ciphertext of the job (inputs, parameters, PSI messages, any result). */
  purge(jobId: string): Promise<void>;
}

export interface EvaluateJobPorts {
  store: EvaluationStore;
  /** The HE evaluation threads (he-threads.ts). */
  threads: { readonly size: number; run(task: HeTask): Promise<HeTaskResult> };
  ledger: { record(e: Omit<UsageEvent, 'id' | 'at'> & { id?: string }): Promise<unknown> };
  log?: { log(message: string): void };
}

/**
 * Evaluates a job (the `evaluate` task, run once every provider has uploaded): runs the job's circuit on the
 * providers' ciphertexts, applies the release controls, stores the encrypted result. Idempotent: a retry after a
 * crash replaces the outputs and records the same (deterministic) ledger events.
 */
export class EvaluateJob {
  private readonly store: EvaluationStore;
  private readonly threads: EvaluateJobPorts['threads'];
  private readonly ledger: EvaluateJobPorts['ledger'];
  private readonly log: EvaluateJobPorts['log'];

  constructor(ports: EvaluateJobPorts) {
    this.store = ports.store;
    this.threads = ports.threads;
    this.ledger = ports.ledger;
    this.log = ports.log;
  }

  async process(bj: Task<EvaluatePayload>): Promise<{ outputs: number }> {
    const jobId = bj.data.jobId;
    const row = await this.store.job(jobId);
    if (!row) throw new FatalTaskError('unknown job');
    if (row.status === 'cancelled' || row.status === 'completed') return { outputs: 0 };
    let job: JobRecord<EvaluationJobRow>;
    try {
      job = readJobRecord(row);
    } catch (e) {
      await this.fail(row, e);
      throw new FatalTaskError((e as Error).message);
    }
    try {
      return await this.evaluate(job, bj);
    } catch (e) {
      if (isFinalAttempt(bj, e)) await this.fail(job, e);
      throw e;
    }
  }

  private async evaluate(job: JobRecord<EvaluationJobRow>, bj: Task<EvaluatePayload>): Promise<{ outputs: number }> {
    const started = Date.now();
    const plan = job.plan;
    const roles = await this.store.roles(job.id);
    const notReady = roles.filter((r) => r.status !== 'encrypted');
    if (notReady.length) throw new FatalTaskError(`inputs missing for role(s) ${notReady.map((r) => r.role).join(', ')}`);
    await this.store.update(job.id, { to: 'evaluating', progress: { stage: 'evaluating', evaluation: { status: 'running' } } });

    const publicKeyset = await this.store.keyset(job.keysetId);
    // Partial sums: a feature consumed by its sum alone (`reducibleFeatures`) is split over this process's HE
    // threads, each summing a slice. Any split gives the same total (`reduceChunks`).
    const params = plan.params;
    const reducible = reducibleFeatures(plan);
    const { inputs, privateParams } = await this.store.ciphertexts(job.id);
    const parts = this.threads.size;
    await Promise.all(
      reducible.map(async ({ role, feature }) => {
        const chunks = inputs[role]?.[feature];
        if (!chunks || chunks.length < 2 * parts || parts < 2) return;
        const size = Math.ceil(chunks.length / parts);
        const slices = Array.from({ length: parts }, (_, i) => chunks.slice(i * size, (i + 1) * size)).filter((s) => s.length);
        const sums = await Promise.all(slices.map((s) => this.threads.run({ kind: 'reduce', params, chunks: s })));
        inputs[role]![feature] = sums.map((r) => (r as { ct: Uint8Array }).ct);
      }),
    );
    await bj.updateProgress({ stage: 'evaluating' });
    const groupCounts: Record<string, Record<string, number[]>> = {};
    const rows: Record<string, number> = {};
    const missingKeys: Record<string, number> = {};
    for (const r of roles) {
      groupCounts[r.role] = r.meta?.groupCounts ?? {};
      rows[r.role] = r.meta?.rows ?? 0;
      if (plan.align) missingKeys[r.role] = r.meta?.missingKeys ?? 0;
    }
    await this.checkIntersection(job, plan, rows);
    const res = await this.threads.run({
      kind: 'evaluate',
      plan,
      publicKeyset,
      inputs,
      privateParams,
      groupCounts,
    });
    if (res.kind !== 'evaluate') throw new Error('unexpected HE task result');
    const evaluationMs = Date.now() - started;
    const base = {
      actor: { id: 'broker', role: 'broker' },
      job: job.id,
      scenario: job.scenarioId,
      consumer: job.consumerId,
      purpose: job.purpose,
      datasets: Object.values(job.bindings),
    };
    await this.ledger.record({
      ...base,
      id: `${job.id}.evaluated`,
      type: 'job.evaluated',
      data: { outputs: Object.keys(res.outputs).length, ms: evaluationMs },
    });
    const suppressed = res.meta.suppressedGroups;
    await this.ledger.record({
      ...base,
      id: `${job.id}.released`,
      type: 'job.released',
      // under noise the suppressed groups are the noisy selection's output (selection.ts), safe to publish
      data: {
        suppressedGroups: suppressed,
        epsilonSpent: res.meta.epsilonSpent,
        ...(res.meta.selection ? { selection: res.meta.selection } : {}),
      },
    });
    // Counts withheld (a bound dataset's policy requires noise or a minimum group size, or the plan is noisy): the consumer gets no row
    // or missing-key count; the SDK decodes without them (README, threat model).
    const counts = countsWithheld(job)
      ? { withheld: ['rows', 'missingKeys'] }
      : { rows, missingKeys: plan.align ? missingKeys : undefined };
    const resultMeta: ResultMeta = {
      ...counts,
      suppressedGroups: suppressed,
      epsilonSpent: res.meta.epsilonSpent,
      ...(res.meta.selection ? { selection: res.meta.selection } : {}),
      scheme: params.scheme,
      polyModulusDegree: params.polyModulusDegree,
      evaluationMs,
    };
    await this.store.complete(job.id, res.outputs, resultMeta, evaluationMs);
    this.log?.log(`job ${job.id} evaluated in ${evaluationMs} ms`);
    return { outputs: Object.keys(res.outputs).length };
  }

  /**
   * A private set intersection is refused under the largest `minAlignedKeys` of the aligned roles' datasets once its
   * size is known (the aligned roles' rows; a consumer key list was counted at submission). The job fails with
   * TOO_FEW_KEYS and names only the minimum, never the size.
   */
  private async checkIntersection(job: JobRecord<EvaluationJobRow>, plan: Plan, rows: Record<string, number>): Promise<void> {
    if (!plan.align || plan.align.keys) return;
    const aligned = Object.keys(plan.align.on).filter((r) => r in job.bindings);
    const min = await this.store.minAlignedKeys(aligned.map((r) => job.bindings[r]!));
    const size = Math.min(...aligned.map((r) => rows[r] ?? 0));
    if (min > 0 && size < min) {
      throw new PolicyFailure(
        'TOO_FEW_KEYS',
        `the private set intersection has fewer keys than a bound dataset's policy requires (minAlignedKeys ${min})`,
      );
    }
  }

  /**
   * An evaluation the queue gave up on without running it again (it stalled past the queue's limit: the worker died
   * in it each time, e.g. killed for its memory): the job fails with code EVALUATION_ABANDONED, recorded and its
   * inputs purged, instead of staying `evaluating` until the reconciler queues the same job again.
   */
  async abandoned(task: EvaluatePayload, reason: string): Promise<void> {
    this.log?.log(`job ${task.jobId}: evaluation abandoned (${reason})`);
    const row = await this.store.job(task.jobId);
    if (row) await this.fail(row, Object.assign(new Error(`the evaluation was abandoned: ${reason}`), { code: 'EVALUATION_ABANDONED' }));
  }

  private async fail(job: Pick<EvaluationJobRow, 'id' | 'scenarioId' | 'consumerId' | 'bindings'>, e: unknown): Promise<void> {
    const message = e instanceof Error ? e.message : String(e);
    const code = (e as { code?: string })?.code ?? 'EVALUATION_FAILED';
    await this.ledger.record(jobFailedEvent(job, { code })).catch(() => undefined);
    // a job cancelled (or completed) meanwhile stays as it ended
    await this.store.update(job.id, { to: 'failed', error: { code, message }, progress: { stage: 'failed' }, unlessEnded: true });
    await this.store.purge(job.id);
  }
}
