/**
 * Ledger on its real SQL store (SQLite file in a temp dir): appends per second through
 * `LedgerService.append` in batches (what the queue consumer does), checkpoint and proof times, and the
 * full audit `dataspace ledger verify` performs, at growing log sizes.
 *
 * Verification is timed two ways:
 *  - direct: `verifyLedger` reading the database in-process (hashing + SQL, no HTTP);
 *  - http: the CLI's code path (`verifyLedger` over `httpLedgerSource`) in a child process against a
 *    server started on the same data dir (apps: ledger), i.e. paging /ledger/raw and /ledger/nodes.
 *
 * Run: node dist/bench/ledger-sql.js [sizes...] [--http] [--batch N]   (e.g. 100000 1000000 --http)
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import type { DataSource } from 'typeorm';
import type { UsageEvent } from '#contracts';
import { openDatabase } from '#persistence';
import { type AppConfig, ParticipantsStore, loadConfig } from '#platform';
import { LEDGER_KEY_NAME, LEDGER_ORIGIN, LedgerService, MAX_NODE_KEYS } from '../apps/ledger/src/ledger.service.js';
import { type CheckpointDoc, type LedgerSource, verifyLedger } from '../apps/cli/src/commands/ledger.js';
import { startServer } from '../apps/cli/src/server.js';

export interface LedgerSqlBenchOptions {
  /** Log sizes to measure at, ascending (the log grows from one to the next). */
  readonly sizes: readonly number[];
  /** Events per `LedgerService.append` call (default 500). */
  readonly batch?: number;
  /** Also time the CLI's HTTP path in a child process (needs Redis, like any server). */
  readonly http?: boolean;
  /** Progress lines (default: none). */
  readonly log?: (line: string) => void;
}

export interface LedgerSqlBenchPoint {
  readonly entries: number;
  /** Appends since the previous size, and their rate. */
  readonly appended: number;
  readonly appendSeconds: number;
  readonly appendsPerSecond: number;
  /** CPU seconds (user + system) of the appends: comparable across runs on a shared machine. */
  readonly appendCpuSeconds: number;
  /** SQLite file size (with WAL) after the appends. */
  readonly databaseMB: number;
  readonly checkpointMs: number;
  /** Mean over 50 random leaves of GET-equivalent `LedgerService.inclusion` (SQL reads + proof). */
  readonly inclusionProofMs: number;
  readonly verifyDirectSeconds: number;
  readonly verifyDirectCpuSeconds: number;
  readonly verifyHttpSeconds?: number;
  /** CPU of the verifying child process plus the server's (this process) during the HTTP verification. */
  readonly verifyHttpCpuSeconds?: number;
}

export interface LedgerSqlBenchResult {
  readonly batch: number;
  readonly points: readonly LedgerSqlBenchPoint[];
}

/** A realistic usage event: references and decisions only (what the broker records on submission). */
function event(i: number): UsageEvent {
  const job = `job-${(i >> 2).toString(36).padStart(8, '0')}`;
  return {
    id: `evt-${i.toString(16).padStart(12, '0')}`,
    type: i % 7 === 0 ? 'job.refused' : 'job.submitted',
    at: new Date(Date.UTC(2025, 5, 1) + i * 1000).toISOString(),
    actor: { id: `consumer-${i % 97}`, role: 'consumer' },
    job,
    scenario: 'water-district-consumption',
    consumer: `consumer-${i % 97}`,
    datasets: [`ds-${i % 13}`, `ds-${(i + 5) % 13}`],
    purpose: 'public-service',
    data: i % 7 === 0 ? { reasons: ['PURPOSE_NOT_ALLOWED'] } : { version: 1, keyset: 'c0ffee'.repeat(5), epsilon: 1 },
  };
}

/** The database read directly, the way the HTTP endpoints read it. */
function directSource(svc: LedgerService, cp: CheckpointDoc): LedgerSource {
  return {
    maxNodeKeys: MAX_NODE_KEYS,
    pageSize: 10_000,
    checkpoint: async () => cp,
    raw: async (from, limit) => ({ size: await svc.size(), entries: await svc.raw(from, limit) }),
    nodes: (keys) => svc.nodes(keys),
    inclusion: (index, size) => svc.inclusion(index, size),
    consistency: (a, b) => svc.consistency(a, b),
  };
}

function fileMB(path: string): number {
  let bytes = 0;
  for (const p of [path, `${path}-wal`]) {
    try {
      bytes += statSync(p).size;
    } catch {
      // no WAL file: nothing to add
    }
  }
  return Math.round((bytes / 2 ** 20) * 10) / 10;
}

const CHILD = `
const [ledgerUrl, sdkUrl, url, token, pem] = process.argv.slice(1);
const { verifyLedger, httpLedgerSource } = await import(ledgerUrl);
const { DataspaceClient } = await import(sdkUrl);
const t = performance.now();
const r = await verifyLedger(httpLedgerSource(new DataspaceClient({ url, token })), { publicKeyPem: pem });
const c = process.cpuUsage();
process.stdout.write(JSON.stringify({ ok: r.ok, code: r.code, size: r.size, ms: performance.now() - t, cpu: (c.user + c.system) / 1e6 }));
`;

/** `verifyLedger` over HTTP in a child process (the CLI's path); wall seconds including process start, and CPU seconds. */
async function verifyOverHttp(config: AppConfig, pem: string, expected: number): Promise<{ seconds: number; cpu: number }> {
  const server = await startServer({ config, apps: ['ledger'], port: 0, say: () => undefined });
  try {
    const token = (await new ParticipantsStore(server.dataSource).add('auditor', `bench ${randomBytes(3).toString('hex')}`)).token;
    const ledgerUrl = new URL('../apps/cli/src/commands/ledger.js', import.meta.url).href;
    const sdkUrl = new URL('../libs/sdk/src/index.js', import.meta.url).href;
    const t = performance.now();
    const c0 = process.cpuUsage();
    const out = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--input-type=module', '-e', CHILD, ledgerUrl, sdkUrl, server.url, token, pem],
        { maxBuffer: 1 << 20 },
        (err, stdout, stderr) => (err ? reject(new Error(`verify child failed: ${stderr || err.message}`)) : resolve(stdout)),
      );
    });
    const seconds = (performance.now() - t) / 1000;
    const serverCpu = cpuSeconds(process.cpuUsage(c0));
    const r = JSON.parse(out) as { ok: boolean; code?: string; size?: number; cpu: number };
    if (!r.ok || r.size !== expected) throw new Error(`http verify: ${out}`);
    return { seconds, cpu: serverCpu + r.cpu };
  } finally {
    await server.close();
  }
}

export async function runLedgerSqlBench(opts: LedgerSqlBenchOptions): Promise<LedgerSqlBenchResult> {
  const batch = opts.batch ?? 500;
  const say = opts.log ?? (() => undefined);
  if (!Number.isSafeInteger(batch) || batch < 1) throw new RangeError(`runLedgerSqlBench: batch must be a positive integer, got ${batch}`);
  if (opts.sizes.length === 0 || opts.sizes.some((n, i) => !Number.isSafeInteger(n) || n < 2 || (i > 0 && n <= opts.sizes[i - 1]!))) {
    throw new RangeError('runLedgerSqlBench: sizes must be ascending integers >= 2');
  }
  const dir = mkdtempSync(join(tmpdir(), 'ledger-sql-bench-'));
  // SQLite in the temp dir whatever DATABASE_URL says: this measures the embedded store.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATA_DIR: dir,
    QUEUE_PREFIX: `dsbench-${randomBytes(4).toString('hex')}`,
    LOG_LEVEL: 'silent',
  };
  delete env.DATABASE_URL;
  const config = loadConfig(env);
  let ds: DataSource | undefined;
  let svc: LedgerService | undefined;
  const points: LedgerSqlBenchPoint[] = [];
  try {
    ds = await openDatabase({ dataDir: dir });
    svc = new LedgerService(ds, config);
    await svc.onApplicationBootstrap();
    const pem = svc.publicKeyPem();
    let size = 0;
    for (const target of opts.sizes) {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      for (let start = size; start < target; start += batch) {
        const events: UsageEvent[] = [];
        for (let i = start; i < Math.min(target, start + batch); i++) events.push(event(i));
        await svc.append(events);
      }
      const appendSeconds = (performance.now() - t0) / 1000;
      const appendCpuSeconds = cpuSeconds(process.cpuUsage(c0));
      const appended = target - size;
      size = target;
      say(`${target} entries: ${appended} appended in ${appendSeconds.toFixed(1)} s`);

      const t1 = performance.now();
      const cp = await svc.checkpoint();
      const checkpointMs = performance.now() - t1;
      let seed = 0x2545f491;
      const t2 = performance.now();
      for (let k = 0; k < 50; k++) {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        await svc.inclusion(seed % size, size);
      }
      const inclusionProofMs = (performance.now() - t2) / 50;

      const doc: CheckpointDoc = { origin: LEDGER_ORIGIN, keyName: LEDGER_KEY_NAME, size: cp.size, checkpoint: cp.text, publicKey: pem };
      const t3 = performance.now();
      const c3 = process.cpuUsage();
      const r = await verifyLedger(directSource(svc, doc), { publicKeyPem: pem });
      const verifyDirectSeconds = (performance.now() - t3) / 1000;
      const verifyDirectCpuSeconds = cpuSeconds(process.cpuUsage(c3));
      if (!r.ok || r.size !== size) throw new Error(`verify failed at ${size}: ${JSON.stringify(r)}`);
      say(`${target} entries: direct verify ${verifyDirectSeconds.toFixed(1)} s`);

      let http: { seconds: number; cpu: number } | undefined;
      if (opts.http) {
        // The server opens the same SQLite file; this process's connection stays idle meanwhile.
        http = await verifyOverHttp(config, pem, size);
        say(`${target} entries: http verify ${http.seconds.toFixed(1)} s (cpu ${http.cpu.toFixed(1)} s)`);
      }
      points.push({
        entries: target,
        appended,
        appendSeconds: round(appendSeconds),
        appendsPerSecond: Math.round(appended / appendSeconds),
        appendCpuSeconds: round(appendCpuSeconds),
        databaseMB: fileMB(join(dir, 'dataspace.sqlite')),
        checkpointMs: round(checkpointMs),
        inclusionProofMs: round(inclusionProofMs),
        verifyDirectSeconds: round(verifyDirectSeconds),
        verifyDirectCpuSeconds: round(verifyDirectCpuSeconds),
        ...(http ? { verifyHttpSeconds: round(http.seconds), verifyHttpCpuSeconds: round(http.cpu) } : {}),
      });
    }
  } finally {
    svc?.onModuleDestroy();
    await ds?.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  return { batch, points };
}

function cpuSeconds(u: NodeJS.CpuUsage): number {
  return (u.user + u.system) / 1e6;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const bi = args.indexOf('--batch');
  const batch = bi >= 0 ? Number(args[bi + 1]) : 500;
  const sizes = args.filter((a, i) => /^\d+$/.test(a) && args[i - 1] !== '--batch').map(Number);
  const res = await runLedgerSqlBench({
    sizes: sizes.length ? sizes : [100_000],
    batch,
    http: args.includes('--http'),
    log: (l) => process.stderr.write(`${l}\n`),
  });
  process.stdout.write(JSON.stringify(res, null, 2) + '\n');
}
