import type { JobItemMap, JobNameOf } from '#contracts';
import { BullMqDriver } from './bullmq-driver.js';
import { MemoryQueueDriver } from './memory-queue-driver.js';
import type { JobInfo, JobOptions, PendingCounts, QueueDriver, Task, WorkerOptions } from './queue-driver.js';
import { FatalTaskError } from './queue-driver.js';

export * from './queue-driver.js';
export { BullMqDriver } from './bullmq-driver.js';
export { MemoryQueueDriver } from './memory-queue-driver.js';

/** A flow whose every job is typed by its name (`JobItemMap`). */
export type TypedFlow = {
  [N in JobNameOf]: {
    queue: string;
    name: N;
    data: JobItemMap[N];
    opts?: JobOptions & { failParentOnFailure?: boolean };
    children?: TypedFlow[];
  };
}[JobNameOf];

/**
 * The job queues, typed by the queue contract (`JobItemMap` in #contracts): a job is added by its name with that
 * name's payload, and a worker serves one job name and gets that payload. Feature code talks to this service only;
 * the driver is BullMQ on Redis in a deployment (`QueueService.redis`), in memory in unit specs.
 */
export class QueueService {
  constructor(readonly driver: QueueDriver) {}

  static redis(redisUrl: string, prefix: string): QueueService {
    return new QueueService(new BullMqDriver(redisUrl, prefix));
  }

  static memory(): QueueService {
    return new QueueService(new MemoryQueueDriver());
  }

  /** The queue store answers (health checks): an answer within `timeoutMs`, or false. */
  ping(timeoutMs = 1500): Promise<boolean> {
    return this.driver.ping(timeoutMs);
  }

  /** Adds job `name` with its payload; resolves to the job's id (with `opts.jobId`, a job that exists is not added again). */
  add<N extends JobNameOf>(queue: string, name: N, data: JobItemMap[N], opts: JobOptions = {}): Promise<string> {
    return this.driver.add(queue, name, data, opts);
  }

  /** Adds a parent and its children at once: the parent runs once every child completed. */
  addFlow(flow: TypedFlow): Promise<void> {
    return this.driver.addFlow(flow);
  }

  job(queue: string, id: string): Promise<JobInfo | null> {
    return this.driver.job(queue, id);
  }

  removeJob(queue: string, id: string): Promise<void> {
    return this.driver.removeJob(queue, id);
  }

  pending(queue: string): Promise<PendingCounts> {
    return this.driver.pending(queue);
  }

  /**
   * Serves job `name` on `queue`. A job of another name on that queue is not what the contract says the queue
   * carries: it fails at once, the processor never sees it.
   */
  worker<N extends JobNameOf>(
    queue: string,
    name: N,
    processor: (task: Task<JobItemMap[N]>) => Promise<unknown>,
    opts: Omit<WorkerOptions, 'onAbandoned'> & {
      onAbandoned?: (task: Pick<Task<JobItemMap[N]>, 'id' | 'name' | 'data'>, reason: string) => void;
    } = {},
  ): void {
    const { onAbandoned, ...rest } = opts;
    this.driver.worker(
      queue,
      async (task) => {
        if (task.name !== name) throw new FatalTaskError(`queue ${queue} serves ${name} jobs, not ${task.name}`);
        return processor(task as Task<JobItemMap[N]>);
      },
      {
        ...rest,
        ...(onAbandoned ? { onAbandoned: (t, reason) => onAbandoned(t as Pick<Task<JobItemMap[N]>, 'id' | 'name' | 'data'>, reason) } : {}),
      },
    );
  }

  /**
   * Stops taking work: every worker stops fetching jobs and finishes the ones it runs. A job still running after
   * `graceMs` is handed back for another worker (the driver says how), so nothing accepted is lost.
   * Called before the app's modules are destroyed, so a running job still has its HE pool and database.
   */
  stopWorkers(graceMs: number): Promise<'finished' | 'handed-back'> {
    return this.driver.stopWorkers(graceMs);
  }

  /** Graceful: workers finish their current job, then the driver's connections close. */
  close(): Promise<void> {
    return this.driver.close();
  }
}
