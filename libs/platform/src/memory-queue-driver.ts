import type {
  FlowJobSpec,
  JobInfo,
  JobOptions,
  KeepJobs,
  PendingCounts,
  Processor,
  QueueDriver,
  Task,
  WorkerOptions,
} from './queue-driver.js';
import { FatalTaskError } from './queue-driver.js';

interface MemJob {
  /** What `job()` answers. */
  info: JobInfo;
  queue: string;
  /** As a Redis driver stores it: a JSON copy, so a payload that is not JSON fails here as it would there. */
  data: unknown;
  opts: JobOptions & { failParentOnFailure?: boolean };
  progress?: object;
  parent?: { queue: string; id: string };
  children: { queue: string; id: string }[];
  /** Children not completed yet (the job waits for them in `waiting-children`). */
  pendingChildren: number;
  /** Order of finishing (`removeOnComplete` counts keep the last ones; equal clock times do not order them). */
  finished: number;
  /** Bumped at every start and hand-back: a run whose job was handed back meanwhile is ignored when it ends. */
  run: number;
}

interface MemWorker {
  queue: string;
  processor: Processor;
  concurrency: number;
  running: number;
  stopped: boolean;
}

/**
 * Queues in this process's memory, for unit specs (no Redis). The semantics the apps rely on from BullMQ:
 * deduplication by `jobId` (a job that still exists, in any state, is not added again), flows (the parent waits in
 * `waiting-children` until every child completed; `failParentOnFailure` fails it with a child), retries up to
 * `attempts` with the `backoff` delay (none for a `FatalTaskError`), worker concurrency, FIFO order, `removeOnComplete`
 * / `removeOnFail`, and `stopWorkers` handing a job still running after the grace back to `waiting`.
 * Not modelled: locks and stalled jobs (a job is never abandoned: `onAbandoned` is never called), priorities,
 * delayed jobs other than retries, and other processes (everything is lost with the process).
 */
export class MemoryQueueDriver implements QueueDriver {
  private readonly jobs = new Map<string, Map<string, MemJob>>();
  private readonly waiting = new Map<string, string[]>();
  private readonly workers: MemWorker[] = [];
  private readonly running = new Map<Promise<void>, MemJob>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private seq = 0;
  private closed = false;

  private store(queue: string): Map<string, MemJob> {
    let s = this.jobs.get(queue);
    if (!s) this.jobs.set(queue, (s = new Map()));
    return s;
  }

  private create(queue: string, name: string, data: object, opts: MemJob['opts'], parent?: MemJob['parent']): MemJob {
    if (this.closed) throw new Error('the queues are closed');
    const id = opts.jobId ?? `${++this.seq}`;
    const job: MemJob = {
      info: { id, name, state: 'waiting', attemptsMade: 0, stalledCount: 0, addedAt: Date.now() },
      queue,
      data: JSON.parse(JSON.stringify(data)) as unknown,
      opts,
      children: [],
      pendingChildren: 0,
      finished: 0,
      run: 0,
      ...(parent ? { parent } : {}),
    };
    this.store(queue).set(id, job);
    return job;
  }

  private enqueue(job: MemJob): void {
    job.info.state = 'waiting';
    let w = this.waiting.get(job.queue);
    if (!w) this.waiting.set(job.queue, (w = []));
    w.push(job.info.id);
    // later, as a job added to Redis is taken by a worker's next fetch, never inside `add`
    setImmediate(() => this.pump(job.queue));
  }

  add(queue: string, name: string, data: object, opts: JobOptions): Promise<string> {
    const existing = opts.jobId === undefined ? undefined : this.store(queue).get(opts.jobId);
    if (existing) return Promise.resolve(existing.info.id);
    try {
      const job = this.create(queue, name, data, opts);
      this.enqueue(job);
      return Promise.resolve(job.info.id);
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  addFlow(flow: FlowJobSpec): Promise<void> {
    if (flow.opts?.jobId !== undefined && this.store(flow.queue).has(flow.opts.jobId)) return Promise.resolve();
    const add = (f: FlowJobSpec, parent?: MemJob): void => {
      const job = this.create(f.queue, f.name, f.data, f.opts ?? {}, parent && { queue: parent.queue, id: parent.info.id });
      if (parent) parent.children.push({ queue: job.queue, id: job.info.id });
      const children = f.children ?? [];
      job.pendingChildren = children.length;
      if (children.length) job.info.state = 'waiting-children';
      for (const c of children) add(c, job);
      if (!children.length) this.enqueue(job);
    };
    try {
      add(flow);
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  job(queue: string, id: string): Promise<JobInfo | null> {
    const j = this.store(queue).get(id);
    if (!j) return Promise.resolve(null);
    return Promise.resolve({ ...j.info });
  }

  /** The job's progress as its processor last reported it (specs). */
  progress(queue: string, id: string): object | undefined {
    return this.store(queue).get(id)?.progress;
  }

  removeJob(queue: string, id: string): Promise<void> {
    const j = this.store(queue).get(id);
    // as BullMQ: a job a worker runs is not removed (it holds the lock)
    if (!j || j.info.state === 'active') return Promise.resolve();
    for (const c of j.children) void this.removeJob(c.queue, c.id);
    this.store(queue).delete(id);
    return Promise.resolve();
  }

  pending(queue: string): Promise<PendingCounts> {
    const c: PendingCounts = { waiting: 0, 'waiting-children': 0, delayed: 0, prioritized: 0, active: 0 };
    for (const j of this.store(queue).values()) if (j.info.state !== 'completed' && j.info.state !== 'failed') c[j.info.state]++;
    return Promise.resolve(c);
  }

  worker(queue: string, processor: Processor, opts: WorkerOptions): void {
    this.workers.push({ queue, processor, concurrency: Math.max(1, opts.concurrency ?? 1), running: 0, stopped: false });
    setImmediate(() => this.pump(queue));
  }

  ping(): Promise<boolean> {
    return Promise.resolve(!this.closed);
  }

  private pump(queue: string): void {
    const list = this.waiting.get(queue);
    if (!list) return;
    for (const w of this.workers) {
      if (w.queue !== queue || w.stopped) continue;
      while (w.running < w.concurrency && list.length) {
        const job = this.store(queue).get(list.shift()!);
        if (job?.info.state === 'waiting') this.start(w, job);
      }
    }
  }

  private start(w: MemWorker, job: MemJob): void {
    job.info.state = 'active';
    job.info.processedAt = Date.now();
    const run = ++job.run;
    w.running++;
    const task: Task<unknown> = {
      id: job.info.id,
      name: job.info.name,
      data: job.data,
      attemptsMade: job.info.attemptsMade,
      attempts: job.opts.attempts ?? 1,
      updateProgress: (p) => {
        job.progress = p;
        return Promise.resolve();
      },
    };
    const done = (async () => {
      let outcome: { ok: true } | { ok: false; error: unknown };
      try {
        await w.processor(task);
        outcome = { ok: true };
      } catch (error) {
        outcome = { ok: false, error };
      }
      w.running--;
      // handed back (stopWorkers) or removed meanwhile: this run's end is not the job's
      if (job.run === run && job.info.state === 'active' && this.store(job.queue).get(job.info.id) === job) {
        if (outcome.ok) this.complete(job);
        else this.failed(job, outcome.error);
      }
      if (!w.stopped) this.pump(w.queue);
    })();
    this.running.set(done, job);
    void done.finally(() => this.running.delete(done));
  }

  private complete(job: MemJob): void {
    job.info.state = 'completed';
    job.info.finishedAt = Date.now();
    job.finished = ++this.seq;
    this.prune(job, job.opts.removeOnComplete);
    const parent = job.parent && this.store(job.parent.queue).get(job.parent.id);
    if (parent?.info.state === 'waiting-children' && --parent.pendingChildren === 0) this.enqueue(parent);
  }

  private failed(job: MemJob, e: unknown): void {
    job.info.attemptsMade++;
    job.info.failedReason = e instanceof Error ? e.message : String(e);
    if (!(e instanceof FatalTaskError) && job.info.attemptsMade < (job.opts.attempts ?? 1)) {
      job.info.state = 'delayed';
      const b = job.opts.backoff;
      const delay = !b ? 0 : b.type === 'fixed' ? b.delay : b.delay * 2 ** (job.info.attemptsMade - 1);
      const t = setTimeout(() => {
        this.timers.delete(t);
        if (job.info.state === 'delayed' && this.store(job.queue).get(job.info.id) === job) this.enqueue(job);
      }, delay);
      this.timers.add(t);
      return;
    }
    job.info.state = 'failed';
    job.info.finishedAt = Date.now();
    job.finished = ++this.seq;
    this.prune(job, job.opts.removeOnFail);
    const parent = job.parent && this.store(job.parent.queue).get(job.parent.id);
    if (job.opts.failParentOnFailure && parent?.info.state === 'waiting-children') {
      parent.info.state = 'failed';
      parent.info.finishedAt = Date.now();
      parent.info.failedReason = `child ${job.queue}:${job.info.id} failed`;
    }
  }

  /** Applies `removeOnComplete` / `removeOnFail` to the finished jobs of `job`'s queue in `job`'s state. */
  private prune(job: MemJob, keep: KeepJobs | undefined): void {
    if (keep === undefined || keep === false) return;
    const s = this.store(job.queue);
    if (keep === true) {
      s.delete(job.info.id);
      return;
    }
    const { age, count } = typeof keep === 'number' ? { age: undefined, count: keep } : keep;
    const done = [...s.values()].filter((j) => j.info.state === job.info.state).sort((a, b) => b.finished - a.finished);
    const cutoff = age === undefined ? -Infinity : job.info.finishedAt! - age * 1000;
    done.forEach((j, i) => {
      if ((count !== undefined && i >= count) || j.info.finishedAt! < cutoff) s.delete(j.info.id);
    });
  }

  async stopWorkers(graceMs: number): Promise<'finished' | 'handed-back'> {
    for (const w of this.workers) w.stopped = true;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'handed-back'>((r) => {
      timer = setTimeout(() => r('handed-back'), graceMs);
    });
    const graceful = Promise.allSettled([...this.running.keys()]).then(() => 'finished' as const);
    const outcome = await Promise.race([graceful, late]);
    clearTimeout(timer);
    if (outcome === 'handed-back') {
      for (const job of new Set(this.running.values())) {
        if (job.info.state !== 'active') continue;
        job.run++;
        job.info.stalledCount++;
        this.enqueue(job);
      }
    }
    return outcome;
  }

  /** Graceful: workers finish the jobs they run; retries not yet due are dropped. */
  async close(): Promise<void> {
    for (const w of this.workers) w.stopped = true;
    await Promise.allSettled([...this.running.keys()]);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.closed = true;
  }
}
