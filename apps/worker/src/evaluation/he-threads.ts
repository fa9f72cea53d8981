import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { backgroundNice } from '#he-core';
import type { HeTask, HeTaskResult } from './he-task.js';

export class HeTaskError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

interface Pending {
  resolve: (r: HeTaskResult) => void;
  reject: (e: Error) => void;
}

/**
 * A pool of worker threads for the broker's HE work, so evaluation uses every core and never blocks the
 * event loop (BullMQ lock renewals, HTTP). Tasks are queued and handed to the first idle thread.
 *
 * Every task settles: a thread that exits (a SEAL abort, or `close` during shutdown) rejects the task it
 * was running, and after `close` queued and new tasks are rejected. Otherwise the BullMQ job awaiting the
 * task would never finish, and closing the queue worker (which waits for active jobs) would hang; a
 * rejected job is retried by BullMQ after the restart, so no accepted job is lost.
 */
export class HeThreads {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: { task: HeTask; p: Pending }[] = [];
  private readonly pending = new Map<Worker, { id: number; p: Pending }>();
  private nextId = 1;
  private closed = false;

  constructor(readonly size: number = Math.max(1, availableParallelism())) {}

  private spawn(): Worker {
    const w = new Worker(new URL('./he-thread.js', import.meta.url), { workerData: { nice: backgroundNice() } });
    w.on('message', (msg: { id: number; result?: HeTaskResult; error?: { message: string; code?: string } }) => {
      const cur = this.pending.get(w);
      this.pending.delete(w);
      if (cur) {
        if (msg.error) cur.p.reject(new HeTaskError(msg.error.message, msg.error.code));
        else cur.p.resolve(msg.result!);
      }
      this.release(w);
    });
    w.on('error', (e) => this.lose(w, `HE thread failed: ${e.message}`));
    w.on('exit', (code) => this.lose(w, this.closed ? 'HE threads closed (shutting down)' : `HE thread exited with code ${code}`));
    this.workers.push(w);
    return w;
  }

  /** Forgets a thread that failed or exited, rejecting the task it was running; queued work moves on. */
  private lose(w: Worker, message: string): void {
    const cur = this.pending.get(w);
    this.pending.delete(w);
    cur?.p.reject(new HeTaskError(message));
    const i = this.workers.indexOf(w);
    if (i >= 0) this.workers.splice(i, 1);
    const j = this.idle.indexOf(w);
    if (j >= 0) this.idle.splice(j, 1);
    // A queued task gets a fresh thread (a thread lost to an abort is replaced on demand).
    if (!this.closed && this.queue.length && this.workers.length < this.size) this.release(this.spawn());
  }

  private release(w: Worker): void {
    const next = this.queue.shift();
    if (next) this.dispatch(w, next.task, next.p);
    else this.idle.push(w);
  }

  private dispatch(w: Worker, task: HeTask, p: Pending): void {
    const id = this.nextId++;
    this.pending.set(w, { id, p });
    try {
      w.postMessage({ id, task });
    } catch (e) {
      this.pending.delete(w);
      p.reject(new HeTaskError(`HE task could not be sent: ${(e as Error).message}`));
      this.release(w);
    }
  }

  run(task: HeTask): Promise<HeTaskResult> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new HeTaskError('HE threads closed (shutting down)'));
        return;
      }
      const p = { resolve, reject };
      const w = this.idle.pop() ?? (this.workers.length < this.size ? this.spawn() : undefined);
      if (w) this.dispatch(w, task, p);
      else this.queue.push({ task, p });
    });
  }

  /** Terminates the threads; running tasks (via the threads' exit) and queued ones are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    for (const q of this.queue.splice(0)) q.p.reject(new HeTaskError('HE threads closed (shutting down)'));
    await Promise.all([...this.workers].map((w) => w.terminate()));
    this.workers.length = 0;
    this.idle.length = 0;
  }
}
