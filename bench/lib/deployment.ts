/**
 * The data space as separate `dataspace serve` processes (bin/dataspace.js), as an operator runs it: one API
 * process (broker, ledger and, unless `providerApart`, the provider connector), optionally the connector in its
 * own process, and N evaluation worker processes. They share one database (a fresh SQLite file in a temporary
 * DATA_DIR, or a fresh PostgreSQL schema when DATABASE_URL is a PostgreSQL URL) and one Redis under a fresh key
 * prefix; `close()` stops the processes and removes all three.
 *
 * Every process is started with a preload (`--require`) that watches its own event loop with
 * perf_hooks.monitorEventLoopDelay and writes the histogram and every stall over 100 ms to a file once a
 * second: the benchmark reads another process's event loop without any change to the server's code.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isPostgresUrl } from '#persistence';
import { loadConfig } from '#platform';
import { DataspaceClient } from '#sdk';

const CLI = fileURLToPath(new URL('../../../bin/dataspace.js', import.meta.url));

/** CommonJS preload for every server process (see the module comment). Signal SIGUSR2 starts a new window. */
const LOOP_PROBE = `
const { monitorEventLoopDelay } = require('node:perf_hooks');
const { writeFileSync } = require('node:fs');
const file = process.env.BENCH_LOOP_FILE;
if (file) {
  // the histogram records each timer period (resolution) plus the delay: the period is subtracted below
  const RES = 2;
  const h = monitorEventLoopDelay({ resolution: RES });
  h.enable();
  let stalls = [];
  let resetAt = Date.now();
  let last = performance.now();
  const tick = setInterval(() => {
    const now = performance.now();
    const lag = now - last - 50;
    if (lag > 100) stalls.push({ at: Date.now() - Math.round(lag), ms: Math.round(lag) });
    if (stalls.length > 2000) stalls = stalls.slice(-1000);
    last = now;
  }, 50);
  tick.unref();
  const dump = () => {
    try {
      writeFileSync(file + '.tmp', JSON.stringify({
        pid: process.pid, hrOffsetUs: Date.now() * 1000 - Number(process.hrtime.bigint() / 1000n), p50: Math.max(0, h.percentile(50) / 1e6 - RES), p99: Math.max(0, h.percentile(99) / 1e6 - RES),
        max: Math.max(0, h.max / 1e6 - RES), mean: Math.max(0, h.mean / 1e6 - RES), stalls, resetAt,
      }));
      require('node:fs').renameSync(file + '.tmp', file);
    } catch {}
  };
  const d = setInterval(dump, 1000);
  d.unref();
  process.on('SIGUSR2', () => { h.reset(); stalls = []; resetAt = Date.now(); dump(); });
}
`;

export interface LoopStats {
  pid: number;
  /** epoch µs − monotonic µs in that process (maps a CPU profile's timestamps to the epoch clock) */
  hrOffsetUs: number;
  /** event loop delay percentiles since start or the last window (ms) */
  p50: number;
  p99: number;
  max: number;
  mean: number;
  /** blocks of more than 100 ms: when they started (epoch ms) and how long */
  stalls: { at: number; ms: number }[];
  /** when the window began (epoch ms): process start or the last SIGUSR2 */
  resetAt: number;
}

export interface ServeProcess {
  name: string;
  apps: string;
  child: ChildProcess;
  url: string;
  loopFile: string;
  /** RSS (bytes) from /proc, 0 when the process is gone */
  rss(): number;
  loop(): LoopStats | null;
  /** the main thread's (the event loop's) time on a CPU and waiting for one, from /proc/<pid>/schedstat (ns) */
  sched(): Sched | null;
  stop(): Promise<void>;
}

export interface Sched {
  cpuNs: number;
  waitNs: number;
}

export interface DeploymentOptions {
  workers: number;
  /** run the provider connector in its own process (same database, the broker reached directly through it) */
  providerApart?: boolean;
  /** extra environment for every process */
  env?: Record<string, string>;
  /** node flags for the API process only (e.g. --cpu-prof) */
  apiNodeFlags?: string[];
}

export interface Deployment {
  /** the API process's URL (broker, ledger and, unless apart, provider) */
  url: string;
  /** the provider connector's URL (the API's unless apart) */
  providerUrl: string;
  admin: DataspaceClient;
  processes: ServeProcess[];
  env: Record<string, string>;
  dataDir: string;
  redisUrl: string;
  queuePrefix: string;
  /** SQLite file (and WAL) or PostgreSQL schema */
  databaseLabel: string;
  databaseUrl: string | undefined;
  schema: string | undefined;
  /**
   * Starts a new event-loop window in every process and waits (up to 5 s, re-signalling) until each has
   * written a window that began after the request; returns the names of processes that did not confirm.
   */
  resetLoops(): Promise<string[]>;
  close(): Promise<void>;
}

function rssOf(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

function schedOf(pid: number | undefined): Sched | null {
  if (!pid) return null;
  try {
    const [cpu, wait] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
    return cpu !== undefined && wait !== undefined ? { cpuNs: cpu, waitNs: wait } : null;
  } catch {
    return null;
  }
}

function spawnServe(
  name: string,
  apps: string,
  env: Record<string, string>,
  probe: string,
  nodeFlags: string[] = [],
): Promise<ServeProcess> {
  const loopFile = join(env.DATA_DIR!, `loop-${name}.json`);
  const childEnv = { ...process.env, ...env, BENCH_LOOP_FILE: loopFile };
  const args = [...nodeFlags, '--require', probe, CLI, 'serve', '--apps', apps, '--port', '0'];
  const child = spawn(process.execPath, args, { env: childEnv, stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let err = '';
    let ready = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} (${apps}) not ready in 90 s: ${err.slice(-500)}`));
    }, 90_000);
    const onExit = (code: number | null): void => {
      clearTimeout(timer);
      reject(new Error(`${name} (${apps}) exited ${code}: ${err.slice(-500)}`));
    };
    child.once('exit', onExit);
    child.stderr!.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-20_000);
      const m = /dataspace serving .* on (http:\/\/\S+)/.exec(err);
      if (!m || ready) return;
      ready = true;
      clearTimeout(timer);
      child.off('exit', onExit);
      resolve({
        name,
        apps,
        child,
        url: m[1]!,
        loopFile,
        rss: () => (child.exitCode === null ? rssOf(child.pid) : 0),
        sched: () => (child.exitCode === null ? schedOf(child.pid) : null),
        loop: () => {
          try {
            return JSON.parse(readFileSync(loopFile, 'utf8')) as LoopStats;
          } catch {
            return null;
          }
        },
        stop: () =>
          new Promise<void>((r) => {
            if (child.exitCode !== null || child.signalCode !== null) return r();
            // the server's own SIGTERM path: stop taking work, finish or hand back, close (SHUTDOWN_GRACE_MS)
            const kill = setTimeout(() => child.kill('SIGKILL'), 45_000);
            child.once('exit', () => {
              clearTimeout(kill);
              r();
            });
            child.kill('SIGTERM');
          }),
      });
    });
  });
}

export async function startDeployment(opts: DeploymentOptions): Promise<Deployment> {
  const dataDir = mkdtempSync(join(tmpdir(), 'dataspace-bench-serve-'));
  const run = randomBytes(4).toString('hex');
  const env: Record<string, string> = {
    DATA_DIR: dataDir,
    QUEUE_PREFIX: `bench-${run}`,
    LOG_LEVEL: 'warn',
    ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
    ...opts.env,
  };
  if (isPostgresUrl(env.DATABASE_URL) && !env.DATABASE_SCHEMA) env.DATABASE_SCHEMA = `bench_${run}`;
  const base = Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== undefined)) as Record<string, string>;
  const config = loadConfig({ ...base, ...env }); // the same validation the servers run: fail here, with its message
  const probe = join(dataDir, 'loop-probe.cjs');
  writeFileSync(probe, LOOP_PROBE);
  const processes: ServeProcess[] = [];
  const cleanup = async (): Promise<void> => {
    // workers and the connector first, the API (which may own an autostarted Redis) last
    for (const p of [...processes].reverse()) await p.stop();
    const { Redis } = await import('ioredis');
    const r = new Redis(config.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await r.connect();
      let cursor = '0';
      do {
        const [next, keys] = await r.scan(cursor, 'MATCH', `${config.QUEUE_PREFIX}:*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await r.del(...keys);
      } while (cursor !== '0');
    } catch {
      /* Redis already gone (autostarted by the API process) */
    } finally {
      r.disconnect();
    }
    if (env.DATABASE_SCHEMA && isPostgresUrl(env.DATABASE_URL)) {
      const { default: pg } = await import('pg');
      const c = new pg.Client({ connectionString: env.DATABASE_URL });
      await c.connect();
      try {
        await c.query(`DROP SCHEMA IF EXISTS "${env.DATABASE_SCHEMA.replace(/"/g, '')}" CASCADE`);
      } finally {
        await c.end();
      }
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const apiApps = opts.providerApart ? 'broker,ledger' : 'broker,ledger,provider';
    processes.push(await spawnServe('api', apiApps, env, probe, opts.apiNodeFlags));
    // the others join the API's Redis (never start their own) and share its DATA_DIR / schema
    const joined = { ...env, REDIS_AUTOSTART: 'false' };
    if (opts.providerApart) processes.push(await spawnServe('provider', 'provider', joined, probe));
    for (let i = 1; i <= opts.workers; i++)
      processes.push(await spawnServe(`worker-${i}`, 'worker', { HE_THREADS: '1', ...joined }, probe));
  } catch (e) {
    await cleanup().catch(() => undefined);
    throw e;
  }
  const api = processes[0]!;
  const adminToken = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
  return {
    url: api.url,
    providerUrl: (processes.find((p) => p.name === 'provider') ?? api).url,
    admin: new DataspaceClient({ url: api.url, token: adminToken }),
    processes,
    env,
    dataDir,
    redisUrl: config.REDIS_URL,
    queuePrefix: config.QUEUE_PREFIX,
    databaseLabel: env.DATABASE_SCHEMA ? `PostgreSQL schema ${env.DATABASE_SCHEMA}` : `SQLite (WAL) ${join(dataDir, 'dataspace.sqlite')}`,
    databaseUrl: isPostgresUrl(env.DATABASE_URL) ? env.DATABASE_URL : undefined,
    schema: env.DATABASE_SCHEMA,
    resetLoops: async () => {
      const asked = Date.now();
      let pending = processes.filter((p) => p.child.exitCode === null);
      for (let attempt = 0; attempt < 5 && pending.length; attempt++) {
        for (const p of pending) p.child.kill('SIGUSR2');
        await new Promise((r) => setTimeout(r, 1000));
        pending = pending.filter((p) => (p.loop()?.resetAt ?? 0) < asked);
      }
      return pending.map((p) => p.name);
    },
    close: cleanup,
  };
}

/** Size of the SQLite database files (main, WAL, shared memory) in `dir`, bytes. */
export function sqliteBytes(dir: string): number {
  if (!existsSync(dir)) return 0;
  return readdirSync(dir)
    .filter((f) => /\.sqlite(-wal|-shm)?$/.test(f))
    .reduce((a, f) => a + statSync(join(dir, f)).size, 0);
}
