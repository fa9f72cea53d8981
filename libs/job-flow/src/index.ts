/**
 * A data-space job's queue flow: `JobOrchestrator` turns an accepted job into one flow (an encryption child per bound
 * dataset, an evaluation parent) through the platform's `QueueService`, removes it, and runs the reconciler that
 * re-queues accepted jobs whose flow the queue lost and expires old results. The broker enqueues and removes
 * (`JobsService`); the evaluation worker runs the reconciler (`EvaluationWorker`). Nest and TypeORM, no BullMQ.
 */
export { JobOrchestrator, flowIds } from './job-orchestrator.service.js';
