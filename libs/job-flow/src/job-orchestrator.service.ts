import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { DataSource, In } from 'typeorm';
import { ACTIVE_JOB_STATUSES, type EncryptTaskPayload, type EvaluatePayload, JobName, QueueName } from '#contracts';
import { JobCiphertextEntity, JobEntity, OfferEntity } from '#persistence';
import { QueueService, type TypedFlow } from '#platform';

/** Queue job ids of a data-space job's flow (deterministic, so re-adding a flow is a no-op). */
export const flowIds = {
  evaluate: (jobId: string) => `eval-${jobId}`,
  encrypt: (jobId: string, role: string) => `enc-${jobId}-${role.replace(/[^A-Za-z0-9_-]/g, '_')}`,
};

const RETRY = { attempts: 4, backoff: { type: 'exponential' as const, delay: 1000 } };

/**
 * Turns an accepted job into a queue flow: one encryption child per bound dataset (served by that dataset's
 * connector), one evaluation parent that runs when every child is done. Payloads carry ids only.
 * The database is the source of truth: `reconcile` re-queues accepted jobs whose flow the queue (Redis) lost.
 */
/**
 * How long Redis keeps a finished queue entry (the job row and the ledger keep the record): an hour, and at most the
 * last 1,000 per queue, so Redis stays flat under a steady stream of jobs (the soak benchmark grew by ~3 keys a job
 * with the age rule alone). Failed entries a day, at most 5,000, for inspection. BullMQ `KeepJobs`.
 */
const KEEP = {
  removeOnComplete: { age: 3600, count: 1000 },
  removeOnFail: { age: 24 * 3600, count: 5000 },
};

@Injectable()
export class JobOrchestrator implements OnModuleDestroy {
  private readonly log = new Logger('orchestrator');
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly ds: DataSource,
    private readonly queues: QueueService,
  ) {}

  async enqueue(jobId: string): Promise<void> {
    const job = await this.ds.getRepository(JobEntity).findOneByOrFail({ id: jobId });
    const offers = await this.ds.getRepository(OfferEntity).findBy({ datasetId: In(Object.values(job.bindings)) });
    const byId = new Map(offers.map((o) => [o.datasetId, o]));
    const children = Object.entries(job.bindings).map(([role, datasetId]): TypedFlow => {
      const data: EncryptTaskPayload = { jobId, role, datasetId, consumerId: job.consumerId, purpose: job.purpose };
      return {
        name: JobName.encryptInputs,
        queue: QueueName.encrypt(byId.get(datasetId)?.connectorId ?? 'local'),
        data,
        opts: {
          jobId: flowIds.encrypt(jobId, role),
          ...RETRY,
          failParentOnFailure: true,
          ...KEEP,
        },
      };
    });
    const data: EvaluatePayload = { jobId };
    await this.queues.addFlow({
      name: JobName.evaluate,
      queue: QueueName.evaluate,
      data,
      opts: { jobId: flowIds.evaluate(jobId), ...RETRY, ...KEEP },
      children,
    });
  }

  async remove(jobId: string): Promise<void> {
    await this.queues.removeJob(QueueName.evaluate, flowIds.evaluate(jobId));
  }

  /**
   * Re-queues every accepted, unfinished job whose flow is missing from Redis (a Redis restart without
   * persistence, or a crash between commit and enqueue). Safe to run any time: flow ids are deterministic.
   */
  async reconcile(): Promise<number> {
    const open = await this.ds.getRepository(JobEntity).findBy({ status: In([...ACTIVE_JOB_STATUSES]) });
    let requeued = 0;
    for (const job of open) {
      // A flow that exists (even failed: the worker records failures itself) is left alone.
      if (await this.queues.job(QueueName.evaluate, flowIds.evaluate(job.id))) continue;
      await this.enqueue(job.id);
      requeued++;
    }
    if (requeued) this.log.warn(`re-queued ${requeued} accepted job(s) missing from the queue`);
    return requeued;
  }

  /**
   * Deletes the encrypted results of jobs completed more than `retentionMs` ago (RESULT_RETENTION_MS): the job row,
   * its plan, metadata and ledger events stay; fetching the result then answers 410 RESULT_EXPIRED.
   */
  async expireResults(retentionMs: number, now = Date.now()): Promise<number> {
    const old = this.ds
      .getRepository(JobEntity)
      .createQueryBuilder('j')
      .select('j.id')
      .where('j.status = :completed', { completed: 'completed' })
      .andWhere('j.updated_at < :cutoff', { cutoff: new Date(now - retentionMs) });
    const r = await this.ds
      .createQueryBuilder()
      .delete()
      .from(JobCiphertextEntity)
      .where("kind = 'result'")
      .andWhere(`job_id IN (${old.getQuery()})`)
      .setParameters(old.getParameters())
      .execute();
    const n = r.affected ?? 0;
    if (n) this.log.log(`deleted ${n} result ciphertext(s) past their retention`);
    return n;
  }

  startReconciler(everyMs = 10_000, resultRetentionMs?: number): void {
    if (this.timer) return;
    const tick = (): void => {
      this.reconcile()
        .then(() => (resultRetentionMs === undefined ? 0 : this.expireResults(resultRetentionMs)))
        .catch(() => undefined)
        .finally(() => {
          this.timer = setTimeout(tick, everyMs);
          this.timer.unref();
        });
    };
    tick();
  }

  onModuleDestroy(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}
