import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { DataSource, In } from 'typeorm';
import { type EvaluatePayload, JobName, type JobStatus, QueueName, isTerminalJobStatus } from '#contracts';
import type { HeParams } from '#he-core';
import { type JobRecord, readJobRecord, transition } from '#jobs';
import {
  forUpdate,
  JobCiphertextEntity,
  JobDatasetEntity,
  JobEntity,
  KeysetEntity,
  OfferEntity,
  inTransaction,
  purgeJobCiphertexts,
} from '#persistence';
import { type AppConfig, CONFIG, FatalTaskError, LedgerRecorder, QueueService, type Task, isFinalAttempt } from '#platform';
import type { UsagePolicy } from '#policy';
import { type Plan, reducibleFeatures } from '#scenario';
import { countsWithheld } from '../connector/connector-gateway.service.js';
import { HeThreads } from './he-threads.js';
import { JobOrchestrator } from '../jobs/job-orchestrator.service.js';

/** A job the policy of a bound dataset stops at evaluation: fails with `code`, never retried. */
class PolicyFailure extends FatalTaskError {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The broker's HE evaluation worker: runs a job's circuit on the providers' ciphertexts once every provider
 * has uploaded, applies the release controls, stores the encrypted result. Idempotent: a retry after a crash
 * replaces the outputs and records the same (deterministic) ledger events.
 */
@Injectable()
export class EvaluationWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger('evaluation');
  readonly threads: HeThreads;

  constructor(
    private readonly ds: DataSource,
    private readonly queues: QueueService,
    private readonly ledger: LedgerRecorder,
    private readonly orchestrator: JobOrchestrator,
    @Inject(CONFIG) private readonly cfg: AppConfig,
  ) {
    this.threads = new HeThreads(cfg.HE_THREADS || undefined);
  }

  onApplicationBootstrap(): void {
    this.queues.worker(QueueName.evaluate, JobName.evaluate, (task) => this.process(task), {
      concurrency: this.threads.size,
      lockDuration: this.cfg.WORKER_LOCK_MS,
    });
    this.orchestrator.startReconciler(this.cfg.RECONCILE_MS, this.cfg.RESULT_RETENTION_MS);
  }

  async onModuleDestroy(): Promise<void> {
    await this.threads.close();
  }

  /**
   * Merges `progress` into the job's and, with `to`, moves it to that status (`transition`, checked against the state
   * the same transaction reads). With `unlessEnded`, a job that already ended is left as it is.
   */
  private async setJob(
    id: string,
    change: { to?: JobStatus; error?: JobEntity['error']; progress?: Record<string, unknown>; unlessEnded?: boolean },
  ): Promise<void> {
    await inTransaction(this.ds, async (m) => {
      const j = await m.getRepository(JobEntity).findOne({ where: { id }, ...forUpdate(m) });
      if (!j || (change.unlessEnded && isTerminalJobStatus(j.status))) return;
      await m.getRepository(JobEntity).update({ id }, {
        ...(change.to ? transition(j, change.to) : {}),
        ...(change.error !== undefined ? { error: change.error } : {}),
        ...(change.progress ? { progress: { ...j.progress, ...change.progress } } : {}),
      } as never);
    });
  }

  async process(bj: Task<EvaluatePayload>): Promise<{ outputs: number }> {
    const jobId = bj.data.jobId;
    const row = await this.ds.getRepository(JobEntity).findOneBy({ id: jobId });
    if (!row) throw new FatalTaskError('unknown job');
    if (row.status === 'cancelled' || row.status === 'completed') return { outputs: 0 };
    let job: JobRecord<JobEntity>;
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

  private async evaluate(job: JobRecord<JobEntity>, bj: Task<EvaluatePayload>): Promise<{ outputs: number }> {
    const started = Date.now();
    const plan = job.plan;
    const roles = await this.ds.getRepository(JobDatasetEntity).findBy({ jobId: job.id });
    const notReady = roles.filter((r) => r.status !== 'encrypted');
    if (notReady.length) throw new FatalTaskError(`inputs missing for role(s) ${notReady.map((r) => r.role).join(', ')}`);
    await this.setJob(job.id, { to: 'evaluating', progress: { stage: 'evaluating', evaluation: { status: 'running' } } });

    const keyset = await this.ds.getRepository(KeysetEntity).findOneByOrFail({ id: job.keysetId });
    // Partial sums: a feature consumed by its sum alone (`reducibleFeatures`) is split over this process's HE
    // threads, each summing a slice. Any split gives the same total (`reduceChunks`).
    const params = plan.params as unknown as HeParams;
    const reducible = reducibleFeatures(plan);
    const inputs: Record<string, Record<string, Uint8Array[]>> = {};
    const privateParams: Record<string, Uint8Array> = {};
    // Which (role, feature) sets exist, without their bytes; then the bytes of each.
    const sets: { role: string; feature: string }[] = await this.ds
      .getRepository(JobCiphertextEntity)
      .createQueryBuilder('c')
      .select('c.role', 'role')
      .addSelect('c.feature', 'feature')
      .where('c.job_id = :id', { id: job.id })
      .groupBy('c.role')
      .addGroupBy('c.feature')
      .getRawMany();
    for (const { role, feature } of sets) {
      // `$result` holds outputs, `$psi` the intersection's messages, `$staging:*` uploads in progress.
      if (role.startsWith('$') && role !== '$params') continue;
      const rows = await this.ds
        .getRepository(JobCiphertextEntity)
        .find({ where: { jobId: job.id, role, feature }, order: { chunk: 'ASC' } });
      for (const c of rows) {
        const bytes = new Uint8Array(c.blob);
        if (role === '$params') privateParams[feature] = bytes;
        else ((inputs[role] ??= {})[feature] ??= []).push(bytes);
      }
    }
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
      const meta = (r.meta ?? {}) as { groupCounts?: Record<string, number[]>; rows?: number; missingKeys?: number };
      groupCounts[r.role] = meta.groupCounts ?? {};
      rows[r.role] = meta.rows ?? 0;
      if (plan.align) missingKeys[r.role] = meta.missingKeys ?? 0;
    }
    await this.checkIntersection(job, plan, rows);
    const res = await this.threads.run({
      kind: 'evaluate',
      plan,
      publicKeyset: new Uint8Array(keyset.blob),
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
    const resultMeta = {
      ...counts,
      suppressedGroups: suppressed,
      epsilonSpent: res.meta.epsilonSpent,
      ...(res.meta.selection ? { selection: res.meta.selection } : {}),
      scheme: params.scheme,
      polyModulusDegree: params.polyModulusDegree,
      evaluationMs,
    };
    await inTransaction(this.ds, async (m) => {
      await m.getRepository(JobCiphertextEntity).delete({ jobId: job.id, role: '$result' });
      // Inputs, private parameters and the intersection's messages go with the job: only
      // the released outputs stay (README, threat model).
      await purgeJobCiphertexts(m, job.id, { keepResult: false });
      for (const [id, ct] of Object.entries(res.outputs)) {
        await m
          .getRepository(JobCiphertextEntity)
          .insert({ jobId: job.id, role: '$result', feature: id, chunk: 0, blob: Buffer.from(ct.buffer, ct.byteOffset, ct.byteLength) });
      }
      const j = await m.getRepository(JobEntity).findOneOrFail({ where: { id: job.id }, ...forUpdate(m) });
      await m.getRepository(JobEntity).update({ id: job.id }, {
        ...transition(j, 'completed'),
        resultMeta,
        progress: { ...j.progress, stage: 'completed', evaluation: { status: 'done', ms: evaluationMs } },
      } as never);
    });
    this.log.log(`job ${job.id} evaluated in ${evaluationMs} ms`);
    return { outputs: Object.keys(res.outputs).length };
  }

  /**
   * A private set intersection is refused under the largest `minAlignedKeys` of the aligned roles' datasets once its
   * size is known (the aligned roles' rows; a consumer key list was counted at submission). The job fails with
   * TOO_FEW_KEYS and names only the minimum, never the size.
   */
  private async checkIntersection(job: JobRecord<JobEntity>, plan: Plan, rows: Record<string, number>): Promise<void> {
    if (!plan.align || plan.align.keys) return;
    const aligned = Object.keys(plan.align.on).filter((r) => r in job.bindings);
    const offers = await this.ds.getRepository(OfferEntity).findBy({ datasetId: In(aligned.map((r) => job.bindings[r]!)) });
    const min = Math.max(0, ...offers.map((o) => (o.policy as unknown as UsagePolicy).minAlignedKeys ?? 0));
    const size = Math.min(...aligned.map((r) => rows[r] ?? 0));
    if (min > 0 && size < min) {
      throw new PolicyFailure(
        'TOO_FEW_KEYS',
        `the private set intersection has fewer keys than a bound dataset's policy requires (minAlignedKeys ${min})`,
      );
    }
  }

  private async fail(job: Pick<JobEntity, 'id' | 'scenarioId' | 'consumerId' | 'bindings'>, e: unknown): Promise<void> {
    const message = e instanceof Error ? e.message : String(e);
    const code = (e as { code?: string })?.code ?? 'EVALUATION_FAILED';
    await this.ledger
      .record({
        id: `${job.id}.failed`,
        type: 'job.failed',
        actor: { id: 'broker', role: 'broker' },
        job: job.id,
        scenario: job.scenarioId,
        consumer: job.consumerId,
        datasets: Object.values(job.bindings),
        data: { code },
      })
      .catch(() => undefined);
    // a job cancelled (or completed) meanwhile stays as it ended
    await this.setJob(job.id, { to: 'failed', error: { code, message }, progress: { stage: 'failed' }, unlessEnded: true });
    await inTransaction(this.ds, (m) => purgeJobCiphertexts(m, job.id, { keepResult: false }));
  }
}
