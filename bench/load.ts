/**
 * Issue 21, load: API read latency while HE jobs run continuously. `dataspace serve` as separate processes
 * (API: broker, ledger, provider connector; two evaluation workers, HE_THREADS=1 each), small jobs kept in
 * flight by several consumers over several providers' datasets, and autocannon reading `/health`, a job's
 * status, the catalog (`/offers`) and ledger entries at a fixed rate each (latency corrected for
 * coordinated omission). First the same reads on the idle deployment, then under jobs.
 *
 * Environment: LOAD_SECONDS (60; --quick 20), LOAD_RATE (req/s per endpoint, 25), LOAD_CONNECTIONS (per
 * endpoint, 4), LOAD_IN_FLIGHT (jobs, 4), LOAD_ROWS (rows per dataset, 300), LOAD_PROVIDER_APART=1 (the
 * connector in its own process), LOAD_CPU_PROF=1 or a directory (profile the API process and name what runs in its stalls),
 * DATABASE_URL (PostgreSQL: a fresh schema per run; default a fresh SQLite file).
 */
import { loadavg } from 'node:os';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DataspaceClient } from '#sdk';
import type { BenchContext } from './lib/context.js';
import { hotCallers, hotFunctions } from './lib/cpu-profile.js';
import { type Deployment, type LoopStats, startDeployment } from './lib/deployment.js';
import { JobDriver, type Workload, prepareWorkload, reportLedgerVerified } from './lib/job-driver.js';
import type { EndpointLoad, EndpointResult, LoadClientInput } from './lib/load-client.js';

const S = '21 load: API reads while HE jobs run (dataspace serve, two worker processes)';
const SCENARIO = 'water-district-consumption';
const ROLE = 'utility';

function envInt(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
}

export async function participantOf(
  dep: Deployment,
): Promise<(role: 'provider' | 'consumer' | 'auditor', name: string) => Promise<DataspaceClient>> {
  return async (role, name) => {
    const r = await dep.admin.post<{ token: string }>('participants', { role, name });
    // a provider talks to its connector (the API process, or its own process when deployed apart)
    return role === 'provider' ? new DataspaceClient({ url: dep.providerUrl, token: r.token }) : dep.admin.withToken(r.token);
  };
}

/** Runs the read load in a child process (bench/lib/load-client.ts); `ids` keeps the job-status reads on recent jobs. */
function readLoad(input: LoadClientInput, ids?: () => string[]): Promise<EndpointResult[]> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(new URL('./lib/load-client.js', import.meta.url)), [], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    child.send(input);
    const feed = ids ? setInterval(() => child.connected && child.send({ ids: ids() }), 1000) : undefined;
    let settled = false;
    child.once('message', (m: { results?: EndpointResult[]; error?: string }) => {
      settled = true;
      if (feed) clearInterval(feed);
      if (m.results) resolve(m.results);
      else reject(new Error(`load client: ${m.error ?? 'no result'}`));
    });
    child.once('exit', (code) => {
      if (feed) clearInterval(feed);
      if (!settled) reject(new Error(`load client exited ${code} without a result`));
    });
  });
}

/** Drives jobs until `n` more have completed (warm-up: SEAL contexts, keysets loaded in every process). */
async function warmUp(work: Workload, n: number): Promise<void> {
  const d = new JobDriver(work, { inFlight: 2, pollMs: 250, verify: true });
  d.start();
  const t0 = Date.now();
  while (d.jobs.filter((j) => j.status === 'completed').length < n) {
    if (Date.now() - t0 > 300_000) throw new Error('warm-up: jobs did not complete in 5 min');
    if (d.jobs.some((j) => j.status === 'failed'))
      throw new Error(`warm-up job failed: ${d.jobs.find((j) => j.status === 'failed')!.problem}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  await d.stop();
  const bad = d.jobs.filter((j) => j.correct === false);
  if (bad.length) throw new Error(`warm-up: wrong result: ${bad[0]!.problem}`);
}

export async function benchLoad(ctx: BenchContext): Promise<void> {
  const { report } = ctx;
  report.heading(S);
  const seconds = envInt('LOAD_SECONDS', ctx.quick ? 20 : 60);
  const rate = envInt('LOAD_RATE', 25);
  const connections = envInt('LOAD_CONNECTIONS', 4);
  const inFlight = envInt('LOAD_IN_FLIGHT', 4);
  const rows = envInt('LOAD_ROWS', 300);
  const apart = process.env.LOAD_PROVIDER_APART === '1';
  // LOAD_CPU_PROF=1: profile into the run's temporary directory; =DIR: into DIR, kept after the run
  const cpuProf = !!process.env.LOAD_CPU_PROF && process.env.LOAD_CPU_PROF !== '0';
  const profDir = cpuProf && process.env.LOAD_CPU_PROF !== '1' ? process.env.LOAD_CPU_PROF! : join(ctx.dir, 'cpuprof');
  const dep = await startDeployment({
    workers: 2,
    providerApart: apart,
    ...(cpuProf ? { apiNodeFlags: ['--cpu-prof', '--cpu-prof-dir=' + profDir] } : {}),
  });
  let driver: JobDriver | null = null;
  try {
    report.note(
      S,
      `processes: ${dep.processes.map((p) => `${p.name} (${p.apps})`).join(', ')}; database ${dep.databaseUrl ? 'PostgreSQL (fresh schema)' : 'SQLite (WAL, fresh file)'}; Redis prefix ${dep.queuePrefix}`,
    );
    const participant = await participantOf(dep);
    const work = await prepareWorkload(participant, {
      scenarioId: SCENARIO,
      role: ROLE,
      rows,
      providers: 2,
      consumers: 2,
      keyDir: ctx.dir,
    });
    const auditor = await participant('auditor', 'load auditor');
    await warmUp(work, 4);
    const consumer = work.consumers[0]!.client;
    const endpoints: EndpointLoad[] = [
      { name: 'GET /health', path: '/health' },
      { name: 'GET /jobs/:id (consumer)', path: '/jobs/:job', token: consumer.opts.token! },
      { name: 'GET /offers (catalog)', path: '/offers', token: consumer.opts.token! },
      { name: 'GET /ledger/entries?limit=100 (auditor)', path: '/ledger/entries?limit=100', token: auditor.opts.token! },
    ];
    // the status reads are of the consumer's own jobs (another consumer's would answer 404)
    const mine = (d: JobDriver | null, fallback: string[]): string[] => {
      const ids = d ? d.jobs.filter((j) => j.consumer === work.consumers[0]!.name).map((j) => j.id) : [];
      return ids.length ? ids.slice(-20) : fallback;
    };
    const warmIds = (await consumer.get<{ id: string }[]>('jobs')).map((j) => j.id);
    const input = (secs: number, ids: string[]): LoadClientInput => ({ url: dep.url, endpoints, seconds: secs, rate, connections, ids });

    // 1. the idle deployment
    const idleSecs = Math.min(20, seconds);
    for (const n of await dep.resetLoops()) report.note(S, `${n}: event-loop window not reset before the idle reads`);
    const idle = await readLoad(input(idleSecs, warmIds));
    const idleLoop = dep.processes[0]!.loop();
    for (const r of idle) addEndpoint(report, 'idle', r);
    if (idleLoop) addLoop(report, 'idle', 'api', idleLoop);
    report.add({ section: S, name: 'idle: machine load average (1 min) after the idle reads', value: loadavg()[0]! });

    // 2. under jobs: the pipeline filled first (every slot has a job past submission)
    driver = new JobDriver(work, { inFlight, pollMs: 500, verify: true });
    driver.start();
    await new Promise((r) => setTimeout(r, 10_000));
    const load: number[][] = [];
    const loadTimer = setInterval(() => load.push(loadavg()), 5000);
    const unconfirmed = await dep.resetLoops();
    const sched0 = dep.processes.map((p) => p.sched());
    const t0 = Date.now();
    const d = driver;
    const busy = await readLoad(input(seconds, mine(d, warmIds)), () => mine(d, warmIds));
    const t1 = Date.now();
    const sched1 = dep.processes.map((p) => p.sched());
    clearInterval(loadTimer);
    // a window whose reset (SIGUSR2) the process did not confirm would carry the earlier phases: say so
    const loops = dep.processes.map((p) => {
      const stats = p.loop();
      // a stall that began before the window (reported by the first tick after the reset) is not the window's
      return { name: p.name, stats: stats && { ...stats, stalls: stats.stalls.filter((x) => x.at >= t0) } };
    });
    for (const { name, stats } of loops)
      if (stats && (stats.resetAt < t0 - 10_000 || unconfirmed.includes(name)))
        report.note(S, `${name}: event-loop window not reset at the start of the run (figures include the phases before it)`);
    const completed = driver.completedBetween(t0, t1);
    for (const r of busy) addEndpoint(report, 'under jobs', r, true);
    const all = busy.reduce((a, r) => a + r.requests, 0);
    const errs = busy.reduce((a, r) => a + r.errors + r.non2xx, 0);
    report.add({
      section: S,
      name: 'under jobs: all reads',
      value: all / ((t1 - t0) / 1000),
      unit: 'req/s',
      note: `${all} requests, ${errs} errors or non-2xx`,
    });
    report.add({
      section: S,
      name: `under jobs: HE job throughput (${inFlight} in flight, ${rows} rows each)`,
      value: completed / ((t1 - t0) / 60_000),
      unit: 'jobs/min',
      note: `${completed} jobs completed in the ${((t1 - t0) / 1000).toFixed(0)} s window`,
    });
    for (const { name, stats } of loops) if (stats) addLoop(report, 'under jobs', name, stats);
    // a process waiting for a CPU (the machine is shared) shows as event-loop delay too: the kernel's own count
    dep.processes.forEach((p, i) => {
      const a = sched0[i];
      const b = sched1[i];
      if (!a || !b) return;
      const secs = (t1 - t0) / 1000;
      report.add({
        section: S,
        name: `under jobs: ${p.name} main thread on a CPU / waiting for a CPU (run queue)`,
        value: `${((b.cpuNs - a.cpuNs) / 1e9).toFixed(1)} / ${((b.waitNs - a.waitNs) / 1e9).toFixed(1)}`,
        unit: 's',
        note: `of the ${secs.toFixed(0)} s window (/proc/<pid>/schedstat)`,
      });
    });
    const mean = load.length ? load.reduce((a, l) => a + l[0]!, 0) / load.length : loadavg()[0]!;
    report.add({
      section: S,
      name: 'machine load average (1 min) during the window, mean',
      value: mean,
      note: `samples every 5 s: ${load.map((l) => l[0]!.toFixed(2)).join(' ')}`,
    });

    await driver.stop();
    const jobs = driver.jobs;
    const ok = jobs.filter((j) => j.status === 'completed' && j.correct === true).length;
    const bad = jobs.filter((j) => j.status !== 'completed' || j.correct !== true);
    report.add({
      section: S,
      name: 'jobs submitted during the run / completed with a correct result',
      value: `${jobs.length} / ${ok}`,
      target: 'all',
      met: bad.length === 0 && jobs.length > 0,
      note: `${driver.rejected} submissions answered 429 (retried); ${driver.errors.length} driver errors${bad.length ? `; first problem: ${bad[0]!.problem}` : ''}${driver.errors.length ? `; first error: ${driver.errors[0]}` : ''}`,
    });
    await reportLedgerVerified(report, S, auditor);
    const api = loops[0]?.stats;
    if (cpuProf && api) {
      // the profile is written when the API process exits; stop the deployment's processes first
      for (const p of [...dep.processes].reverse()) await p.stop();
      const dir = profDir;
      // one profile per thread (CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile): the main thread's, thread 0
      const file = readdirSync(dir).find((f) => f.includes(`.${dep.processes[0]!.child.pid}.0.`) && f.endsWith('.cpuprofile'));
      if (file) {
        const windows = api.stalls.map((s) => ({ from: s.at, to: s.at + s.ms }));
        const list = (hot: ReturnType<typeof hotFunctions>): string =>
          hot.map((h) => `${h.name} ${h.ms.toFixed(0)} ms (${(h.share * 100).toFixed(0)} %)`).join('; ');
        const window = [{ from: t0, to: t1 }];
        report.note(
          S,
          `API process, self time during the window: ${list(hotFunctions(join(dir, file), 10, { windows: window, hrOffsetUs: api.hrOffsetUs }))}`,
        );
        report.note(
          S,
          `API process, self time inside its ${windows.length} event-loop stalls over 100 ms: ${list(hotFunctions(join(dir, file), 10, { windows, hrOffsetUs: api.hrOffsetUs }))}`,
        );
        report.note(
          S,
          `API process, time inside the stalls by nearest project caller: ${list(hotCallers(join(dir, file), 10, { windows, hrOffsetUs: api.hrOffsetUs }))}`,
        );
      }
    }
  } finally {
    if (driver) await driver.stop().catch(() => undefined);
    await dep.close();
  }
}

function addEndpoint(report: BenchContext['report'], phase: string, r: EndpointResult, target = false): void {
  const failures = r.errors + r.non2xx;
  report.add({
    section: S,
    name: `${phase}: ${r.name} p50 / p99 / max`,
    value: `${r.p50.toFixed(1)} / ${r.p99.toFixed(1)} / ${r.max.toFixed(0)}`,
    unit: 'ms',
    ...(target ? { target: 'p99 ≤ 100 ms, no error', met: r.p99 <= 100 && failures === 0 } : {}),
    note: `${r.reqPerSec.toFixed(1)} req/s, ${r.requests} requests, ${r.errors} errors (${r.timeouts} timeouts), ${r.non2xx} non-2xx${r.non2xx ? ` ${JSON.stringify(r.statusCodes)}` : ''}`,
  });
}

function addLoop(report: BenchContext['report'], phase: string, name: string, s: LoopStats): void {
  const top = [...s.stalls].sort((a, b) => b.ms - a.ms).slice(0, 5);
  report.add({
    section: S,
    name: `${phase}: ${name} event loop delay p50 / p99 / max`,
    value: `${s.p50.toFixed(1)} / ${s.p99.toFixed(1)} / ${s.max.toFixed(0)}`,
    unit: 'ms',
    note: `${s.stalls.length} stalls over 100 ms${top.length ? `, longest ${top.map((t) => t.ms).join(', ')} ms` : ''}`,
  });
}
