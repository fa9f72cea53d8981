import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import { DataSource } from 'typeorm';
import { type EvaluatePayload, QueueName } from '#contracts';
import type { HeParams } from '#he-core';
import { JobCiphertextEntity, JobDatasetEntity, JobEntity, KeysetEntity, inTransaction } from '#persistence';
import { type AppConfig, CONFIG, LedgerRecorder, QueueService } from '#platform';
import { type Plan, reducibleFeatures } from '#scenario';
import { HeThreads } from './he-threads.js';
import { JobOrchestrator } from '../jobs/job-orchestrator.service.js';

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
    this.queues.worker<EvaluatePayload>(QueueName.evaluate, (job) => this.process(job), { concurrency: this.threads.size, lockDuration: this.cfg.WORKER_LOCK_MS });
    this.orchestrator.startReconciler(this.cfg.RECONCILE_MS);
  }

  async onModuleDestroy(): Promise<void> {
    await this.threads.close();
  }

  private async setJob(id: string, patch: Partial<JobEntity>, progress?: Record<string, unknown>): Promise<void> {
    await inTransaction(this.ds, async (m) => {
      const j = await m.getRepository(JobEntity).findOneBy({ id });
      if (!j) return;
      await m.getRepository(JobEntity).update({ id }, { ...patch, ...(progress ? { progress: { ...j.progress, ...progress } } : {}) } as never);
    });
  }

  async process(bj: Job<EvaluatePayload>): Promise<{ outputs: number }> {
    const jobId = bj.data.jobId;
    const job = await this.ds.getRepository(JobEntity).findOneBy({ id: jobId });
    if (!job) throw new UnrecoverableError('unknown job');
    if (job.status === 'cancelled' || job.status === 'completed') return { outputs: 0 };
    try {
      return await this.evaluate(job, bj);
    } catch (e) {
      const final = e instanceof UnrecoverableError || bj.attemptsMade + 1 >= (bj.opts.attempts ?? 1);
      if (final) await this.fail(job, e);
      throw e;
    }
  }

  private async evaluate(job: JobEntity, bj: Job<EvaluatePayload>): Promise<{ outputs: number }> {
    const started = Date.now();
    const plan = job.plan as unknown as Plan;
    const roles = await this.ds.getRepository(JobDatasetEntity).findBy({ jobId: job.id });
    const notReady = roles.filter((r) => r.status !== 'encrypted');
    if (notReady.length) throw new UnrecoverableError(`inputs missing for role(s) ${notReady.map((r) => r.role).join(', ')}`);
    await this.setJob(job.id, { status: 'evaluating' }, { stage: 'evaluating', evaluation: { status: 'running' } });

    const keyset = await this.ds.getRepository(KeysetEntity).findOneByOrFail({ id: job.keysetId });
    const all = await this.ds.getRepository(JobCiphertextEntity).find({ where: { jobId: job.id }, order: { role: 'ASC', feature: 'ASC', chunk: 'ASC' } });
    const inputs: Record<string, Record<string, Uint8Array[]>> = {};
    const privateParams: Record<string, Uint8Array> = {};
    for (const c of all) {
      // `$result` holds outputs, `$psi` the intersection's blinded messages: neither is an input.
      if (c.role.startsWith('$') && c.role !== '$params') continue;
      const bytes = new Uint8Array(c.blob);
      if (c.role === '$params') privateParams[c.feature] = bytes;
      else ((inputs[c.role] ??= {})[c.feature] ??= []).push(bytes);
    }
    // Partial sums: a reducible feature's chunks are split over the HE threads, then each part's sum is
    // handed to the circuit (any split gives the same total).
    const params = plan.params as unknown as HeParams;
    const reducible = reducibleFeatures(plan);
    const parts = this.threads.size;
    await Promise.all(reducible.map(async ({ role, feature }) => {
      const chunks = inputs[role]?.[feature];
      if (!chunks || chunks.length < 2 * parts || parts < 2) return;
      const size = Math.ceil(chunks.length / parts);
      const slices = Array.from({ length: parts }, (_, i) => chunks.slice(i * size, (i + 1) * size)).filter((s) => s.length);
      const sums = await Promise.all(slices.map((s) => this.threads.run({ kind: 'reduce', params, chunks: s })));
      inputs[role]![feature] = sums.map((r) => (r as { ct: Uint8Array }).ct);
    }));
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
    const res = await this.threads.run({ kind: 'evaluate', plan, publicKeyset: new Uint8Array(keyset.blob), inputs, privateParams, groupCounts });
    if (res.kind !== 'evaluate') throw new Error('unexpected HE task result');
    const evaluationMs = Date.now() - started;
    const base = { actor: { id: 'broker', role: 'broker' }, job: job.id, scenario: job.scenarioId, consumer: job.consumerId, purpose: job.purpose, datasets: Object.values(job.bindings) };
    await this.ledger.record({ ...base, id: `${job.id}.evaluated`, type: 'job.evaluated', data: { outputs: Object.keys(res.outputs).length, ms: evaluationMs } });
    const suppressed = res.meta.suppressedGroups;
    await this.ledger.record({ ...base, id: `${job.id}.released`, type: 'job.released', data: { suppressedGroups: suppressed, epsilonSpent: res.meta.epsilonSpent } });
    const resultMeta = {
      rows, missingKeys: plan.align ? missingKeys : undefined, suppressedGroups: suppressed, epsilonSpent: res.meta.epsilonSpent,
      scheme: params.scheme, polyModulusDegree: params.polyModulusDegree, evaluationMs,
    };
    await inTransaction(this.ds, async (m) => {
      await m.getRepository(JobCiphertextEntity).delete({ jobId: job.id, role: '$result' });
      // The intersection's blinded messages are not needed once the inputs are encrypted.
      await m.getRepository(JobCiphertextEntity).delete({ jobId: job.id, role: '$psi' });
      for (const [id, ct] of Object.entries(res.outputs)) {
        await m.getRepository(JobCiphertextEntity).insert({ jobId: job.id, role: '$result', feature: id, chunk: 0, blob: Buffer.from(ct.buffer, ct.byteOffset, ct.byteLength) });
      }
      const j = await m.getRepository(JobEntity).findOneByOrFail({ id: job.id });
      await m.getRepository(JobEntity).update({ id: job.id }, {
        status: 'completed', resultMeta, progress: { ...j.progress, stage: 'completed', evaluation: { status: 'done', ms: evaluationMs } },
      } as never);
    });
    this.log.log(`job ${job.id} evaluated in ${evaluationMs} ms`);
    return { outputs: Object.keys(res.outputs).length };
  }

  private async fail(job: JobEntity, e: unknown): Promise<void> {
    const message = e instanceof Error ? e.message : String(e);
    const code = (e as { code?: string })?.code ?? 'EVALUATION_FAILED';
    await this.ledger.record({ id: `${job.id}.failed`, type: 'job.failed', actor: { id: 'broker', role: 'broker' }, job: job.id, scenario: job.scenarioId, consumer: job.consumerId, datasets: Object.values(job.bindings), data: { code } }).catch(() => undefined);
    await this.setJob(job.id, { status: 'failed', error: { code, message } }, { stage: 'failed' });
  }
}
