/**
 * CPU priority of background work. HE and PSI threads are batch work: a job may take a second longer, but an API
 * read that waits behind them for a CPU is what a user feels. On a machine with fewer cores than runnable threads
 * (the load benchmark: two cores, an API process, two evaluation workers) the kernel's fair scheduler shares a
 * core by weight, and a nice value of 10 weighs about a tenth of nice 0 (CFS weights, kernel/sched/core.c
 * `sched_prio_to_weight`), so the API's event loop gets the core when it is runnable.
 *
 * On Linux a nice value belongs to one thread (setpriority(2), "NOTES": PRIO_PROCESS with a thread id), so a
 * worker thread lowers only itself, and a whole process is lowered thread by thread (/proc/self/task). Elsewhere
 * setpriority applies to the whole process, so a thread must not call it: there it is left alone.
 * @module
 */
import { readdirSync } from 'node:fs';
import { setPriority } from 'node:os';

let background = 0;

/** The nice value (0..19) background threads started from now on take (BACKGROUND_NICE). */
export function setBackgroundNice(nice: number): void {
  if (!Number.isInteger(nice) || nice < 0 || nice > 19) throw new RangeError(`nice must be an integer in 0..19, got ${nice}`);
  background = nice;
}

export function backgroundNice(): number {
  return background;
}

/** Lowers the calling thread to `nice` (Linux only; 0 leaves it as it is). Called first thing in a worker thread. */
export function lowerThisThread(nice: number): void {
  if (nice <= 0 || process.platform !== 'linux') return;
  try {
    setPriority(0, nice);
  } catch {
    // a sandbox may refuse it: the thread runs at its parent's priority
  }
}

/**
 * Lowers every thread of this process to `nice` (Linux: each thread of /proc/self/task; elsewhere the process):
 * for a process that serves only background work (`dataspace serve --apps worker`). Threads started later inherit
 * it from the thread that starts them.
 */
export function lowerThisProcess(nice: number): void {
  if (nice <= 0) return;
  try {
    if (process.platform !== 'linux') return setPriority(0, nice);
    for (const tid of readdirSync('/proc/self/task')) setPriority(Number(tid), nice);
  } catch {
    // as above
  }
}
