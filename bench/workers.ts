/**
 * Item 4: 30 concurrent small jobs evaluated by one broker worker process, then by two. The main
 * process serves provider, broker and ledger (the provider's encryption runs there for both
 * configurations); evaluation runs only in separate `dataspace serve --apps worker` processes with
 * HE_THREADS=1 each, sharing the database and Redis, so "one process vs two" means one core vs two.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { builtinScenario, catalogPurpose, datasetDocumentFor } from '#scenario';
import { type DataspaceClient, TERMINAL, publishKeyset } from '#sdk';
import type { BenchContext } from './lib/context.js';

import {
  catalogRows,
  consumerKeys,
  importRows,
  localPlan,
  participant,
  registerCatalogDataset,
  startSystem,
  type System,
} from './lib/system.js';
import { getRetrying, submit } from './lib/jobs.js';

const S4 = '4 worker scaling: concurrent jobs, one vs two broker worker processes';
const ID = 'water-district-consumption';
const ROLE = 'utility';
const CLI = fileURLToPath(new URL('../../bin/dataspace.js', import.meta.url));

interface WorkerProc {
  child: ChildProcess;
  stop(): Promise<void>;
}

function startWorker(sys: System): Promise<WorkerProc> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, ...sys.env, HE_THREADS: '1', REDIS_AUTOSTART: 'false', LOG_LEVEL: 'warn' };
    const child = spawn(process.execPath, [CLI, 'serve', '--apps', 'worker', '--port', '0'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`worker process not ready in 60 s: ${err.slice(-500)}`));
    }, 60_000);
    const onExit = (code: number | null): void => {
      clearTimeout(timer);
      reject(new Error(`worker process exited ${code}: ${err.slice(-500)}`));
    };
    child.once('exit', onExit);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (/dataspace serving/.test(err)) {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve({
          child,
          stop: () =>
            new Promise<void>((r) => {
              if (child.exitCode !== null) return r();
              const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
              child.once('exit', () => {
                clearTimeout(kill);
                r();
              });
              child.kill('SIGTERM');
            }),
        });
      }
    });
  });
}

interface Batch {
  wallMs: number;
  completed: number;
  failed: number;
  meanEvalMs: number;
}

async function runBatch(consumer: DataspaceClient, keyset: string, bindings: Record<string, string>, count: number): Promise<Batch> {
  const t0 = performance.now();
  const ids = await Promise.all(
    Array.from({ length: count }, () => submit(consumer, keyset, { scenario: ID, bindings, purpose: catalogPurpose(ID) })),
  );
  const want = new Set(ids);
  for (;;) {
    const list = await getRetrying<{ id: string; status: string; meta: { evaluationMs?: number } | null }[]>(consumer, 'jobs');
    const mine = list.filter((j) => want.has(j.id));
    const done = mine.filter((j) => TERMINAL.has(j.status));
    if (done.length === count) {
      const ok = done.filter((j) => j.status === 'completed');
      const evals = ok.map((j) => j.meta?.evaluationMs ?? NaN);
      return {
        wallMs: performance.now() - t0,
        completed: ok.length,
        failed: count - ok.length,
        meanEvalMs: evals.reduce((a, b) => a + b, 0) / Math.max(1, evals.length),
      };
    }
    if (performance.now() - t0 > 900_000) throw new Error(`only ${done.length} of ${count} jobs finished in 15 min`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function benchWorkers(ctx: BenchContext, jobs: number, rows: number): Promise<void> {
  const { report } = ctx;
  report.heading(S4);
  // The embedded SQLite (WAL) in DATA_DIR, shared by the processes. (PostgreSQL cannot be chosen per
  // deployment inside this process: the persistence layer fixes its column types from DATABASE_URL at load.)
  const sys = await startSystem({ apps: ['provider', 'broker', 'ledger'], env: { HE_THREADS: '1' } });
  report.note(
    S4,
    `database: SQLite (WAL) in DATA_DIR shared by the processes; ${jobs} jobs of ${ID} at ${rows.toLocaleString('en-US')} rows; provider encryption in the main (bench) process; evaluation only in the worker processes, HE_THREADS=1 each`,
  );
  const workers: WorkerProc[] = [];
  try {
    const provider = await participant(sys, 'provider', 'utility');
    const consumer = await participant(sys, 'consumer', 'planning');
    const dsId = await registerCatalogDataset(provider, ID, ROLE);
    await importRows(provider, dsId, Object.keys(datasetDocumentFor(ID, ROLE).columns), catalogRows(ID, ROLE, rows, 1));
    const plan = localPlan(builtinScenario(ID), {}, { [ROLE]: rows });
    const { keys } = await consumerKeys(ctx.dir, plan, 'workers');
    const keyset = await publishKeyset(consumer, keys);
    const bindings = { [ROLE]: dsId };
    const results: Batch[] = [];
    for (const procs of [1, 2]) {
      while (workers.length < procs) workers.push(await startWorker(sys));
      // Warm-up: every worker process creates its SEAL context and loads the keyset once.
      await runBatch(consumer, keyset, bindings, 2 * procs);
      const b = await runBatch(consumer, keyset, bindings, jobs);
      results.push(b);
      const perS = b.completed / (b.wallMs / 1000);
      report.add({
        section: S4,
        name: `${procs} worker process(es): ${jobs} concurrent jobs`,
        value: b.wallMs / 1000,
        unit: 's',
        note: `${perS.toFixed(2)} jobs/s; ${b.failed} failed; mean evaluation ${b.meanEvalMs.toFixed(0)} ms`,
      });
    }
    const [one, two] = results as [Batch, Batch];
    const ratio = two.completed / two.wallMs / (one.completed / one.wallMs);
    report.add({ section: S4, name: 'throughput, two processes / one', value: ratio, unit: '×', target: '≥ 1.7×', met: ratio >= 1.7 });
  } finally {
    for (const w of workers) await w.stop();
    await sys.close();
  }
}
