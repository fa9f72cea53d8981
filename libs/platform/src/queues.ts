import { FlowProducer, Queue, Worker, type FlowJob, type JobsOptions, type Job, type Processor } from 'bullmq';
import type { Redis } from 'ioredis';
import { producerConnection, workerConnection } from './redis.js';

/**
 * The only place that knows queues are BullMQ (feature code talks to this service).
 * Producers share one fail-fast connection; each worker gets its own blocking connection.
 */
export class QueueService {
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
  async ping(timeoutMs = 1500): Promise<boolean> {
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

  queue(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.producer, prefix: this.prefix });
      q.on('error', () => undefined);
      this.queues.set(name, q);
    }
    return q;
  }

  async add<T extends object>(queue: string, name: string, data: T, opts: JobsOptions = {}): Promise<Job<T>> {
    return this.queue(queue).add(name, data, opts) as Promise<Job<T>>;
  }

  flows(): FlowProducer {
    if (!this.flow) {
      this.flow = new FlowProducer({ connection: this.producer, prefix: this.prefix });
      this.flow.on('error', () => undefined);
    }
    return this.flow;
  }

  async addFlow(flow: FlowJob): Promise<void> {
    await this.flows().add(flow);
  }

  worker<T>(queue: string, processor: Processor<T>, opts: { concurrency?: number; lockDuration?: number } = {}): Worker<T> {
    const conn = workerConnection(this.redisUrl);
    conn.on('error', () => undefined);
    this.workerConns.push(conn);
    const w = new Worker<T>(queue, processor, {
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
    this.workers.push(w as Worker);
    return w;
  }

  /**
   * Stops taking work: every worker stops fetching jobs and finishes the ones it runs. A job still running after
   * `graceMs` is handed back: the worker closes without waiting, its lock lapses (WORKER_LOCK_MS) and another
   * worker takes the job over as after a crash (BullMQ stalled-job recovery), so nothing accepted is lost.
   * Called before the app's modules are destroyed, so a running job still has its HE pool and database.
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
