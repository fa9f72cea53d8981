import { type DynamicModule, Module } from '@nestjs/common';
import { JobOrchestrator } from '#job-flow';
import type { PlatformDeps } from '#platform';
import { EvaluationWorker } from './evaluation/evaluation.worker.js';

/**
 * The HE evaluation worker, an app of its own: it serves the `evaluate` queue for the broker and runs the job-flow
 * reconciler (`#job-flow`). Scale it out: several processes share one Redis and one database.
 */
@Module({})
export class WorkerModule {
  static forRoot(_deps: PlatformDeps): DynamicModule {
    return { module: WorkerModule, providers: [EvaluationWorker, JobOrchestrator], exports: [EvaluationWorker] };
  }
}
