/**
 * Peak resident set size of this process, sampled every `intervalMs` (100 ms) from a worker
 * thread: the main thread's event loop is blocked while the provider encrypts (synchronous
 * WASM), and a timer there would miss exactly the peaks that matter. A worker thread reads the
 * same process-wide RSS (`process.memoryUsage.rss()`), and publishes the peak through shared memory.
 */
import { Worker } from 'node:worker_threads';

const SAMPLER = `
const { workerData } = require('node:worker_threads');
const peak = new Float64Array(workerData.buf);
const tick = () => { const r = process.memoryUsage.rss(); if (r > peak[0]) peak[0] = r; peak[1] = r; };
tick();
setInterval(tick, workerData.intervalMs);
`;

export class RssSampler {
  private readonly shared = new SharedArrayBuffer(16);
  private readonly view = new Float64Array(this.shared);
  private worker: Worker | null = null;

  constructor(private readonly intervalMs = 100) {
    if (!Number.isInteger(intervalMs) || intervalMs < 1) throw new RangeError(`intervalMs must be a positive integer, got ${intervalMs}`);
  }

  start(): void {
    if (this.worker) return;
    this.view[0] = process.memoryUsage.rss();
    this.worker = new Worker(SAMPLER, { eval: true, workerData: { buf: this.shared, intervalMs: this.intervalMs } });
    this.worker.unref();
  }

  /** Starts a new measuring window: the peak restarts from the current RSS. */
  reset(): number {
    const now = process.memoryUsage.rss();
    this.view[0] = now;
    return now;
  }

  /** Peak RSS (bytes) since start or the last reset, including this instant. */
  peak(): number {
    const now = process.memoryUsage.rss();
    if (now > this.view[0]!) this.view[0] = now;
    return this.view[0]!;
  }

  async stop(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }
}

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;
