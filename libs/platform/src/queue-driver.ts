/**
 * What the project asks of a job queue, in its own types: `QueueService` (queues.ts) types it by `JobItemMap`, and a
 * driver implements it on BullMQ (bullmq-driver.ts, the deployment) or in memory (memory-queue-driver.ts, unit tests).
 * Feature code sees a `Task` and these options, never a BullMQ class.
 */

/**
 * How long finished jobs are kept: `true` removes at once, a number keeps the last that many, `age` keeps them that
 * many seconds (and at most `count`).
 */
export type KeepJobs = boolean | number | { age: number; count?: number };

export interface JobOptions {
  /** Deduplication: a job added with the id of one that still exists (in any state) is not added again. */
  jobId?: string;
  /** Runs allowed in all (1 = no retry). */
  attempts?: number;
  /** Wait before a retry: `delay` ms (fixed), or `delay`·2^(retry−1) ms (exponential). */
  backoff?: { type: 'exponential' | 'fixed'; delay: number };
  removeOnComplete?: KeepJobs;
  removeOnFail?: KeepJobs;
}

/** A flow: a parent job that becomes ready once every child completed (children first, then the parent). */
export interface FlowJobSpec {
  queue: string;
  name: string;
  data: object;
  /** `failParentOnFailure`: a child that fails for good fails its parent, which then never runs. */
  opts?: JobOptions & { failParentOnFailure?: boolean };
  children?: FlowJobSpec[];
}

/** The job a processor runs. */
export interface Task<T> {
  readonly id: string;
  readonly name: string;
  readonly data: T;
  /** Runs that failed before this one (0 on the first run). */
  readonly attemptsMade: number;
  /** Runs allowed in all (`JobOptions.attempts`, default 1). */
  readonly attempts: number;
  updateProgress(progress: object): Promise<void>;
}

/**
 * Thrown by a processor: the job fails now, without its remaining retries (a refusal, a policy failure, an unknown
 * job). The BullMQ driver hands it to BullMQ as its UnrecoverableError.
 */
export class FatalTaskError extends Error {
  override readonly name: string = 'FatalTaskError';
}

/** Whether a run that threw `e` is the task's last: a fatal error, or no retry left. */
export function isFinalAttempt(task: Pick<Task<unknown>, 'attemptsMade' | 'attempts'>, e: unknown): boolean {
  return e instanceof FatalTaskError || task.attemptsMade + 1 >= task.attempts;
}

export type JobState = 'waiting' | 'waiting-children' | 'delayed' | 'prioritized' | 'active' | 'completed' | 'failed';

/** A job as a producer or a test sees it (times: epoch ms). */
export interface JobInfo {
  id: string;
  name: string;
  state: JobState;
  /** Runs that failed. */
  attemptsMade: number;
  /** Times the job was taken back from a worker whose lock lapsed (a crash); 0 where a driver has no locks. */
  stalledCount: number;
  addedAt: number;
  processedAt?: number;
  finishedAt?: number;
  failedReason?: string;
}

/** Jobs of a queue not finished yet, by state. */
export type PendingCounts = Record<Exclude<JobState, 'completed' | 'failed'>, number>;

export interface WorkerOptions {
  /** Jobs this worker runs at once (default 1). */
  concurrency?: number;
  /** How long a job stays with its worker before another may take it over after a crash (ms; locking drivers). */
  lockDuration?: number;
  /**
   * A job failed without its processor running this time: the queue gave up on it (BullMQ: a job whose lock lapsed
   * more often than allowed, "job stalled more than allowable limit", failed by the next worker to take it).
   */
  onAbandoned?: (task: Pick<Task<unknown>, 'id' | 'name' | 'data'>, reason: string) => void;
}

export type Processor = (task: Task<unknown>) => Promise<unknown>;

export interface QueueDriver {
  /** Adds a job; resolves to its id (the existing job's when `jobId` deduplicates it). */
  add(queue: string, name: string, data: object, opts: JobOptions): Promise<string>;
  /** Adds a flow at once (a flow whose root id exists already is left as it is). */
  addFlow(flow: FlowJobSpec): Promise<void>;
  job(queue: string, id: string): Promise<JobInfo | null>;
  /** Removes a job and its children (a job still running is left to finish). */
  removeJob(queue: string, id: string): Promise<void>;
  pending(queue: string): Promise<PendingCounts>;
  worker(queue: string, processor: Processor, opts: WorkerOptions): void;
  /** Whether the queue's store answers within `timeoutMs`. */
  ping(timeoutMs: number): Promise<boolean>;
  /**
   * Workers stop taking jobs and finish the ones they run; a job still running after `graceMs` is handed back to
   * the queue for another worker.
   */
  stopWorkers(graceMs: number): Promise<'finished' | 'handed-back'>;
  close(): Promise<void>;
}
