/**
 * Issue 21, soak: a long run of small HE jobs from several consumers over several providers' datasets against
 * `dataspace serve` (API process + two evaluation workers), sampling once a minute each server process's RSS,
 * Redis `INFO memory` used_memory and the keys under the run's prefix, the database's size and the
 * ciphertexts it holds. At the end: every job completed once with a result equal to the plaintext
 * reference's, one of each usage event per job, no intermediate ciphertext left, the ledger verified.
 *
 * Environment: SOAK_MINUTES (30; --quick 3), SOAK_IN_FLIGHT (jobs in flight, 6), SOAK_ROWS (rows per dataset,
 * 200), SOAK_PROVIDERS (3), SOAK_CONSUMERS (3), SOAK_SAMPLE_SECONDS (60), DATABASE_URL (PostgreSQL: a fresh
 * schema; default a fresh SQLite file).
 */
import { loadavg } from 'node:os';
import type { BenchContext } from './lib/context.js';
import { startDeployment } from './lib/deployment.js';
import { JobDriver, prepareWorkload, reportLedgerVerified } from './lib/job-driver.js';
import { MiB } from './lib/rss.js';
import { StoreProbe, type StoreSample } from './lib/store-probe.js';
import { participantOf } from './load.js';

const S = '21 soak: memory and correctness over a long run (dataspace serve, two worker processes)';
const SCENARIO = 'water-district-consumption';
const ROLE = 'utility';
/** the usage events one completed single-role job leaves, each exactly once */
const JOB_EVENTS = ['job.submitted', 'inputs.encrypted', 'job.evaluated', 'job.released', 'result.fetched'];

function envNum(name: string, dflt: number, integer = true): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)))
    throw new Error(`${name} must be a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(v)}`);
  return n;
}

interface Row extends StoreSample {
  minute: number;
  rss: Record<string, number>;
  completed: number;
  perMin: number;
  load1: number;
}

function table(rows: Row[], names: string[]): string[] {
  const mib = (b: number): string => (b / MiB).toFixed(1);
  const head = [
    'min',
    'jobs done',
    'jobs/min',
    ...names.map((n) => `RSS ${n} MiB`),
    'Redis used MiB',
    'Redis keys',
    'DB MiB',
    'intermediate cts',
    'result cts',
    'load 1m',
  ];
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => ' ---').join(' |')} |`,
    ...rows.map(
      (r) =>
        `| ${[
          r.minute.toFixed(r.minute % 1 ? 1 : 0),
          r.completed,
          r.perMin.toFixed(1),
          ...names.map((n) => mib(r.rss[n] ?? 0)),
          mib(r.redisUsedMemory),
          r.redisKeys,
          mib(r.dbBytes),
          r.intermediateCiphertexts,
          r.resultCiphertexts,
          r.load1.toFixed(2),
        ].join(' | ')} |`,
    ),
  ];
}

export async function benchSoak(ctx: BenchContext): Promise<void> {
  const { report } = ctx;
  report.heading(S);
  const minutes = envNum('SOAK_MINUTES', ctx.quick ? 3 : 30, false);
  const inFlight = envNum('SOAK_IN_FLIGHT', 6);
  const rows = envNum('SOAK_ROWS', 200);
  const providers = envNum('SOAK_PROVIDERS', 3);
  const consumers = envNum('SOAK_CONSUMERS', 3);
  const sampleMs = envNum('SOAK_SAMPLE_SECONDS', 60) * 1000;
  // results are fetched as soon as jobs end; kept for a short retention here, so the database can be seen flat
  const retentionS = envNum('SOAK_RESULT_RETENTION_SECONDS', 120);
  const dep = await startDeployment({ workers: 2, env: { RESULT_RETENTION_MS: String(retentionS * 1000) } });
  let driver: JobDriver | null = null;
  let probe: StoreProbe | null = null;
  try {
    report.note(
      S,
      `processes: ${dep.processes.map((p) => `${p.name} (${p.apps})`).join(', ')}; ${dep.databaseLabel}; Redis prefix ${dep.queuePrefix}; ${consumers} consumers × ${providers} providers, ${SCENARIO} at ${rows} rows, ${inFlight} jobs in flight, ${minutes} min, results kept ${retentionS} s (RESULT_RETENTION_MS)`,
    );
    const participant = await participantOf(dep);
    const work = await prepareWorkload(participant, { scenarioId: SCENARIO, role: ROLE, rows, providers, consumers, keyDir: ctx.dir });
    const auditor = await participant('auditor', 'soak auditor');
    probe = await StoreProbe.open(dep);
    const names = dep.processes.map((p) => p.name);
    const samples: Row[] = [];
    driver = new JobDriver(work, { inFlight, pollMs: 500, verify: true });
    const t0 = Date.now();
    let lastDone = 0;
    let lastAt = t0;
    const sample = async (): Promise<Row> => {
      const now = Date.now();
      const done = driver!.jobs.filter((j) => j.status === 'completed').length;
      const row: Row = {
        minute: (now - t0) / 60_000,
        rss: Object.fromEntries(dep.processes.map((p) => [p.name, p.rss()])),
        completed: done,
        perMin: now > lastAt ? (done - lastDone) / ((now - lastAt) / 60_000) : 0,
        load1: loadavg()[0]!,
        ...(await probe!.sample()),
      };
      lastDone = done;
      lastAt = now;
      samples.push(row);
      process.stdout.write(table([row], names).at(-1)! + '\n');
      return row;
    };
    process.stdout.write(table([], names).join('\n') + '\n');
    await sample();
    driver.start();
    const end = t0 + minutes * 60_000;
    while (Date.now() < end) {
      await new Promise((r) => setTimeout(r, Math.min(sampleMs, Math.max(0, end - Date.now()))));
      await sample();
    }
    await driver.stop();
    await new Promise((r) => setTimeout(r, 3000)); // the ledger appends asynchronously
    const last = await sample();
    for (const line of table(samples, names)) report.note(S, line);

    const jobs = driver.jobs;
    const wall = (jobs.at(-1)?.endedAt ?? Date.now()) - t0;
    const completed = jobs.filter((j) => j.status === 'completed');
    const correct = completed.filter((j) => j.correct === true);
    const bad = jobs.filter((j) => j.status !== 'completed' || j.correct !== true);
    report.add({
      section: S,
      name: 'jobs submitted / completed with a correct result',
      value: `${jobs.length} / ${correct.length}`,
      target: 'all, ≥ 500 in a 30-minute run',
      met: bad.length === 0 && jobs.length >= Math.min(500, Math.floor((500 * minutes) / 30)),
      note: `${driver.rejected} submissions answered 429 (retried); ${driver.errors.length} driver errors${bad.length ? `; first problem: ${bad[0]!.problem}` : ''}${driver.errors.length ? `; first error: ${driver.errors[0]}` : ''}`,
    });
    report.add({ section: S, name: 'throughput', value: completed.length / (wall / 60_000), unit: 'jobs/min' });
    const perConsumer = new Map<string, number>();
    const perDataset = new Map<string, number>();
    for (const j of completed) {
      perConsumer.set(j.consumer, (perConsumer.get(j.consumer) ?? 0) + 1);
      perDataset.set(j.dataset, (perDataset.get(j.dataset) ?? 0) + 1);
    }
    report.note(
      S,
      `completed per consumer: ${[...perConsumer.values()].join(', ')}; per provider dataset: ${[...perDataset.values()].join(', ')}`,
    );

    // once: one of each usage event per job, and nothing else of the job's repeated
    const ids = new Set(jobs.map((j) => j.id));
    const counts = await probe.rows<{ job_id: string; type: string; n: number | string }>(
      `SELECT job_id, type, COUNT(*) AS n FROM ledger_entries WHERE job_id IS NOT NULL GROUP BY job_id, type`,
    );
    const per = new Map<string, Map<string, number>>();
    for (const c of counts)
      if (ids.has(c.job_id)) (per.get(c.job_id) ?? per.set(c.job_id, new Map()).get(c.job_id)!).set(c.type, Number(c.n));
    const wrong = completed.filter((j) => {
      const m = per.get(j.id);
      return !m || JOB_EVENTS.some((t) => m.get(t) !== 1) || [...m.values()].some((n) => n !== 1);
    });
    report.add({
      section: S,
      name: 'completed jobs with exactly one of each usage event',
      value: `${completed.length - wrong.length} / ${completed.length}`,
      target: 'all',
      met: wrong.length === 0 && ids.size === jobs.length,
      note: wrong.length
        ? `first: ${wrong[0]!.id} ${JSON.stringify(Object.fromEntries(per.get(wrong[0]!.id) ?? []))}`
        : JOB_EVENTS.join(', '),
    });
    report.add({
      section: S,
      name: 'intermediate ciphertexts left after every job ended',
      value: last.intermediateCiphertexts,
      target: '0',
      met: last.intermediateCiphertexts === 0,
      note: `${last.resultCiphertexts} released result ciphertexts kept (fetched results are not deleted)`,
    });
    const [kept] = await probe.rows<{ n: number | string; bytes: number | string | null }>(
      `SELECT COUNT(*) AS n, SUM(LENGTH(blob)) AS bytes FROM job_ciphertexts WHERE kind = 'result'`,
    );
    const keptBytes = Number(kept?.bytes ?? 0);
    report.add({
      section: S,
      name: 'released results still stored at the end (all fetched)',
      value: keptBytes / MiB,
      unit: 'MiB',
      note: `${Number(kept?.n ?? 0)} ciphertexts, ${completed.length ? (keptBytes / completed.length / 1024).toFixed(0) : 0} KiB per job: results are kept for RESULT_RETENTION_MS after their job ends`,
    });
    await reportLedgerVerified(report, S, auditor);

    // growth after warm-up: from the first sample with the pipeline running to the last one, per job
    const from = samples.find((s) => s.minute >= Math.min(1, minutes / 3) && s.completed > 0) ?? samples[1] ?? samples[0]!;
    const jobsBetween = last.completed - from.completed;
    const grow = (a: number, b: number): string =>
      `${((b - a) / MiB).toFixed(1)} MiB (${(a / MiB).toFixed(1)} → ${(b / MiB).toFixed(1)})${jobsBetween > 0 ? `, ${((b - a) / jobsBetween / 1024).toFixed(1)} KiB per job` : ''}`;
    for (const n of names)
      report.add({ section: S, name: `RSS ${n}, minute ${from.minute.toFixed(1)} → end`, value: grow(from.rss[n] ?? 0, last.rss[n] ?? 0) });
    report.add({
      section: S,
      name: `Redis used_memory, minute ${from.minute.toFixed(1)} → end`,
      value: grow(from.redisUsedMemory, last.redisUsedMemory),
      note: `keys under the prefix ${from.redisKeys} → ${last.redisKeys}`,
    });
    report.add({ section: S, name: `database size, minute ${from.minute.toFixed(1)} → end`, value: grow(from.dbBytes, last.dbBytes) });
    const queues = await probe.queueCounts();
    report.note(
      S,
      `BullMQ jobs still held in Redis at the end: ${Object.entries(queues)
        .map(
          ([q, c]) =>
            `${q}: ${
              Object.entries(c)
                .filter(([, n]) => n > 0)
                .map(([k, n]) => `${n} ${k}`)
                .join(', ') || 'none'
            }`,
        )
        .join('; ')}`,
    );
  } finally {
    if (driver) await driver.stop().catch(() => undefined);
    await probe?.close().catch(() => undefined);
    await dep.close();
  }
}
