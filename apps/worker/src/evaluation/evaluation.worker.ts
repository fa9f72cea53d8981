import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { JobName, QueueName } from '#contracts';
import { JobOrchestrator } from '#job-flow';
import { type AppConfig, CONFIG, LedgerRecorder, QueueService } from '#platform';
import { EvaluateJob } from './evaluate-job.js';
import { TypeOrmEvaluationStore } from './evaluation-store.js';
import { HeThreads } from './he-threads.js';

/**
 * The broker's HE evaluation worker: serves the `evaluate` queue with the `EvaluateJob` use case (evaluate-job.ts),
 * wired to the broker's database, the ledger and this process's HE threads; runs the orchestrator's reconciler.
 */
@Injectable()
export class EvaluationWorker implements OnApplicationBootstrap, OnModuleDestroy {
  readonly threads: HeThreads;
  readonly evaluateJob: EvaluateJob;

  constructor(
    ds: DataSource,
    private readonly queues: QueueService,
    ledger: LedgerRecorder,
    private readonly orchestrator: JobOrchestrator,
    @Inject(CONFIG) private readonly cfg: AppConfig,
  ) {
    this.threads = new HeThreads(cfg.HE_THREADS || undefined);
    this.evaluateJob = new EvaluateJob({
      store: new TypeOrmEvaluationStore(ds),
      threads: this.threads,
      ledger,
      log: new Logger('evaluation'),
    });
  }

  onApplicationBootstrap(): void {
    this.queues.worker(QueueName.evaluate, JobName.evaluate, (task) => this.evaluateJob.process(task), {
      concurrency: this.threads.size,
      lockDuration: this.cfg.WORKER_LOCK_MS,
      onAbandoned: ({ data }, reason) => void this.evaluateJob.abandoned(data, reason).catch(() => undefined),
    });
    this.orchestrator.startReconciler(this.cfg.RECONCILE_MS, this.cfg.RESULT_RETENTION_MS);
  }

  async onModuleDestroy(): Promise<void> {
    await this.threads.close();
  }
}
