import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { HeTask, HeTaskResult } from './he-task.js';

export class HeTaskError extends Error {
  constructor(message: string, readonly code?: string) {
    super(message);
  }
}

interface Pending { resolve: (r: HeTaskResult) => void; reject: (e: Error) => void }

/**
 * A pool of worker threads for the broker's HE work, so evaluation uses every core and never blocks the
 * event loop (BullMQ lock renewals, HTTP). Tasks are queued and handed to the first idle thread.
 */
export class HeThreads {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: { task: HeTask; p: Pending }[] = [];
  private readonly pending = new Map<Worker, { id: number; p: Pending }>();
  private nextId = 1;

  constructor(readonly size: number = Math.max(1, availableParallelism())) {}

  private spawn(): Worker {
    const w = new Worker(new URL('./he-thread.js', import.meta.url));
    w.on('message', (msg: { id: number; result?: HeTaskResult; error?: { message: string; code?: string } }) => {
      const cur = this.pending.get(w);
      this.pending.delete(w);
      if (cur) {
        if (msg.error) cur.p.reject(new HeTaskError(msg.error.message, msg.error.code));
        else cur.p.resolve(msg.result!);
      }
      this.release(w);
    });
    w.on('error', (e) => {
      const cur = this.pending.get(w);
      this.pending.delete(w);
      cur?.p.reject(new HeTaskError(`HE thread failed: ${e.message}`));
      this.workers.splice(this.workers.indexOf(w), 1);
    });
    this.workers.push(w);
    return w;
  }

  private release(w: Worker): void {
    const next = this.queue.shift();
    if (next) this.dispatch(w, next.task, next.p);
    else this.idle.push(w);
  }

  private dispatch(w: Worker, task: HeTask, p: Pending): void {
    const id = this.nextId++;
    this.pending.set(w, { id, p });
    w.postMessage({ id, task });
  }

  run(task: HeTask): Promise<HeTaskResult> {
    return new Promise((resolve, reject) => {
      const p = { resolve, reject };
      const w = this.idle.pop() ?? (this.workers.length < this.size ? this.spawn() : undefined);
      if (w) this.dispatch(w, task, p);
      else this.queue.push({ task, p });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
    this.idle.length = 0;
  }
}
