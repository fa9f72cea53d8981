import { FlowProducer, Queue, UnrecoverableError, Worker, type FlowJob, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { FlowJobSpec, JobInfo, JobOptions, PendingCounts, Processor, QueueDriver, Task, WorkerOptions } from './queue-driver.js';
import { FatalTaskError } from './queue-driver.js';
import { producerConnection, workerConnection } from './redis.js';

function taskOf(job: Job): Task<unknown> {
  return {
    id: job.id!,
    name: job.name,
    data: job.data as unknown,
    attemptsMade: job.attemptsMade,
    attempts: job.opts.attempts ?? 1,
    updateProgress: (p) => job.updateProgress(p),
  };
}

function flowJob(f: FlowJobSpec): FlowJob {
  return {
    name: f.name,
    queueName: f.queue,
    data: f.data,
    ...(f.opts ? { opts: f.opts } : {}),
    ...(f.children ? { children: f.children.map(flowJob) } : {}),
  };
}

/**
 * The deployment's queues: BullMQ on Redis (the only place that knows queues are BullMQ). Producers share one
 * fail-fast connection; each worker gets its own blocking connection.
 */
export class BullMqDriver implements QueueDriver {
  private readonly producer: Redis;
  private readonly queues = new Map<string, Queue>();
  private readonly workers: Worker[] = [];
  private readonly workerConns: Redis[] = [];
  private flow?: FlowProducer;

  constructor(
    private readonly redisUrl: string,
    readonly prefix: string,
  ) {
    this.producer = producerConnection(redisUrl);
    this.producer.on('error', () => undefined);
  }

  /**
   * Redis answers on the producers' shared connection (health checks): no connection per call, and an answer
   * within `timeoutMs` or false (the connection fails fast while Redis is down).
   */
  async ping(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((r) => {
      timer = setTimeout(() => r(false), timeoutMs);
    });
    try {
      return await Promise.race([this.producer.ping().then((p) => p === 'PONG'), late]);
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  private queue(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.producer, prefix: this.prefix });
      q.on('error', () => undefined);
      this.queues.set(name, q);
    }
    return q;
  }

  async add(queue: string, name: string, data: object, opts: JobOptions): Promise<string> {
    const job = await this.queue(queue).add(name, data, opts);
    return job.id!;
  }

  async addFlow(flow: FlowJobSpec): Promise<void> {
    if (!this.flow) {
      this.flow = new FlowProducer({ connection: this.producer, prefix: this.prefix });
      this.flow.on('error', () => undefined);
    }
    await this.flow.add(flowJob(flow));
  }

  async job(queue: string, id: string): Promise<JobInfo | null> {
    const j = await this.queue(queue).getJob(id);
    if (!j) return null;
    const state = await j.getState();
    if (state === 'unknown') return null;
    return {
      id,
      name: j.name,
      state,
      attemptsMade: j.attemptsMade,
      stalledCount: j.stalledCounter ?? 0,
      addedAt: j.timestamp,
      ...(j.processedOn ? { processedAt: j.processedOn } : {}),
      ...(j.finishedOn ? { finishedAt: j.finishedOn } : {}),
      ...(j.failedReason ? { failedReason: j.failedReason } : {}),
    };
  }

  async removeJob(queue: string, id: string): Promise<void> {
    const j = await this.queue(queue).getJob(id);
    // a job locked by a worker cannot be removed (BullMQ throws): it finishes and the worker finds its job ended
    if (j) await j.remove({ removeChildren: true }).catch(() => undefined);
  }

  async pending(queue: string): Promise<PendingCounts> {
    const c = await this.queue(queue).getJobCounts('wait', 'active', 'delayed', 'prioritized', 'waiting-children');
    return {
      waiting: c.wait ?? 0,
      active: c.active ?? 0,
      delayed: c.delayed ?? 0,
      prioritized: c.prioritized ?? 0,
      'waiting-children': c['waiting-children'] ?? 0,
    };
  }

  worker(queue: string, processor: Processor, opts: WorkerOptions): void {
    const conn = workerConnection(this.redisUrl);
    conn.on('error', () => undefined);
    this.workerConns.push(conn);
    const run = async (job: Job): Promise<unknown> => {
      try {
        return await processor(taskOf(job));
      } catch (e) {
        // BullMQ skips the retries of its own UnrecoverableError (job.js moveToFailed)
        if (e instanceof FatalTaskError) throw new UnrecoverableError(e.message);
        throw e;
      }
    };
    const w = new Worker(queue, run, {
      connection: conn,
      prefix: this.prefix,
      concurrency: opts.concurrency ?? 1,
      lockDuration: opts.lockDuration ?? 60_000,
      autorun: true,
      // A crashed worker's job is taken over once its lock expires; allow a few crashes before giving up.
      stalledInterval: Math.min(30_000, opts.lockDuration ?? 60_000),
      maxStalledCount: 3,
      // How long an idle worker blocks waiting for a job (seconds): short, so a flow parent released by its
      // last child is picked up promptly.
      drainDelay: 1,
    });
    w.on('error', () => undefined);
    const abandoned = opts.onAbandoned;
    if (abandoned) {
      // BullMQ's deferred failure: the worker fails the job without running the processor
      w.on('failed', (job, err) => {
        if (job?.deferredFailure) abandoned({ id: job.id!, name: job.name, data: job.data as unknown }, err.message);
      });
    }
    this.workers.push(w);
  }

  /**
   * A job still running after `graceMs` is handed back: the worker closes without waiting, its lock lapses
   * (WORKER_LOCK_MS) and another worker takes the job over as after a crash (BullMQ stalled-job recovery), so
   * nothing accepted is lost.
   */
  async stopWorkers(graceMs: number): Promise<'finished' | 'handed-back'> {
    let timer: NodeJS.Timeout | undefined;
    const graceful = Promise.allSettled(this.workers.map((w) => w.close())).then(() => 'finished' as const);
    const late = new Promise<'handed-back'>((r) => {
      timer = setTimeout(() => r('handed-back'), graceMs);
    });
    const outcome = await Promise.race([graceful, late]);
    clearTimeout(timer);
    if (outcome === 'handed-back') await Promise.allSettled(this.workers.map((w) => w.close(true)));
    return outcome;
  }

  /** Graceful: workers finish their current job (up to their lock), then connections close. */
  async close(): Promise<void> {
    await Promise.allSettled(this.workers.map((w) => w.close()));
    await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
    if (this.flow) await this.flow.close().catch(() => undefined);
    this.producer.disconnect();
    for (const c of this.workerConns) c.disconnect();
  }
}
