/**
 * The whole data space in this process (provider, broker, ledger, worker apps on one port), as the
 * embedded runner starts it, plus the consumer-side steps a benchmark needs: participants, datasets,
 * streamed CSV import over HTTP, keys, job submission with a per-stage timeline, result decryption.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type AppConfig, loadConfig } from '#platform';
import { isPostgresUrl } from '#persistence';
import { DataspaceClient, generateKeyFile, keyRequirements, readKeyFile } from '#sdk';
import type { SecretKeyset } from '#he-core';
import { type ParamValues, type Plan, type Row, type Scenario, compilePlan, datasetDocumentFor, generateRoleRowsIter } from '#scenario';
import { startServer, type ServerHandle } from '../../apps/cli/src/server.js';
import type { AppName } from '../../apps/cli/src/apps.js';
import { RssSampler } from './rss.js';

export interface SystemOptions {
  apps?: AppName[];
  /** environment overrides (HE_THREADS, DATABASE_URL, DATABASE_SCHEMA, ...) */
  env?: Record<string, string>;
}

export interface System {
  url: string;
  config: AppConfig;
  server: ServerHandle;
  admin: DataspaceClient;
  /** the environment a second process needs to join this deployment */
  env: Record<string, string>;
  close(): Promise<void>;
}

export function benchConfig(env: Record<string, string> = {}): { config: AppConfig; env: Record<string, string> } {
  const dir = mkdtempSync(join(tmpdir(), 'dataspace-bench-'));
  const run = randomBytes(4).toString('hex');
  const merged: Record<string, string> = {
    DATA_DIR: dir,
    QUEUE_PREFIX: `bench-${run}`,
    LOG_LEVEL: 'silent',
    ...env,
  };
  if (isPostgresUrl(merged.DATABASE_URL) && !merged.DATABASE_SCHEMA) merged.DATABASE_SCHEMA = `bench_${run}`;
  const base = Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== undefined)) as Record<string, string>;
  return { config: loadConfig({ ...base, ...merged }), env: merged };
}

export async function startSystem(opts: SystemOptions = {}): Promise<System> {
  const { config, env } = benchConfig(opts.env);
  const server = await startServer({
    config,
    apps: opts.apps ?? ['provider', 'broker', 'ledger', 'worker'],
    port: 0,
    say: () => undefined,
  });
  const adminToken = readFileSync(server.adminTokenPath, 'utf8').trim();
  return {
    url: server.url,
    config,
    server,
    env,
    admin: new DataspaceClient({ url: server.url, token: adminToken }),
    close: async () => {
      const schema = config.DATABASE_SCHEMA;
      if (schema && server.dataSource.isInitialized)
        await server.dataSource.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
      await server.close();
      const { Redis } = await import('ioredis');
      const r = new Redis(config.REDIS_URL);
      try {
        const keys = await r.keys(`${config.QUEUE_PREFIX}:*`);
        for (let i = 0; i < keys.length; i += 500) await r.del(...keys.slice(i, i + 500));
      } finally {
        r.disconnect();
      }
      rmSync(config.dataDir, { recursive: true, force: true });
    },
  };
}

/** Adds a participant; returns a client holding its token. */
export async function participant(sys: System, role: 'provider' | 'consumer' | 'auditor', name: string): Promise<DataspaceClient> {
  const r = await sys.admin.post<{ token: string }>('participants', { role, name });
  return sys.admin.withToken(r.token);
}

/** Registers the catalog dataset document of one scenario role; returns its id. */
export async function registerCatalogDataset(provider: DataspaceClient, scenarioId: string, role: string): Promise<string> {
  const r = await provider.post<{ id: string }>('datasets', datasetDocumentFor(scenarioId, role));
  return r.id;
}

function csvCell(v: unknown): string {
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The rows as CSV text, produced lazily in chunks of `rowsPerChunk` rows (never the whole file at once). */
export async function* csvChunks(columns: string[], rows: Iterable<Row>, rowsPerChunk = 2000): AsyncGenerator<Buffer> {
  yield Buffer.from(columns.join(',') + '\n');
  let buf: string[] = [];
  for (const r of rows) {
    buf.push(columns.map((c) => csvCell(r[c])).join(','));
    if (buf.length >= rowsPerChunk) {
      yield Buffer.from(buf.join('\n') + '\n');
      buf = [];
    }
  }
  if (buf.length) yield Buffer.from(buf.join('\n') + '\n');
}

export interface ImportResult {
  rows: number;
  ms: number;
  bytes: number;
  /** process RSS before the import, and the peak during it (bytes) */
  rssBefore: number;
  rssPeak: number;
}

/**
 * Streams generated rows to `POST /datasets/:id/rows` as text/csv (chunked transfer, back-pressured:
 * the generator only runs as fast as the server reads), and measures the process RSS meanwhile.
 */
export async function importRows(
  provider: DataspaceClient,
  datasetId: string,
  columns: string[],
  rows: Iterable<Row>,
  rss?: RssSampler,
): Promise<ImportResult> {
  const url = new URL(
    `datasets/${encodeURIComponent(datasetId)}/rows`,
    provider.opts.url.endsWith('/') ? provider.opts.url : provider.opts.url + '/',
  );
  const rssBefore = rss ? rss.reset() : process.memoryUsage.rss();
  let bytes = 0;
  const started = performance.now();
  const body = await new Promise<string>((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'text/csv', authorization: `Bearer ${provider.opts.token ?? ''}`, 'transfer-encoding': 'chunked' },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () =>
          (res.statusCode ?? 0) >= 400 ? reject(new Error(`import refused: HTTP ${res.statusCode} ${text.slice(0, 300)}`)) : resolve(text),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    const counted = async function* (): AsyncGenerator<Buffer> {
      for await (const c of csvChunks(columns, rows)) {
        bytes += c.length;
        yield c;
      }
    };
    pipeline(Readable.from(counted()), req).catch(reject);
  });
  const ms = performance.now() - started;
  const r = JSON.parse(body) as { imported: number };
  return { rows: r.imported, ms, bytes, rssBefore, rssPeak: rss ? rss.peak() : process.memoryUsage.rss() };
}

/** Generated rows of one role, streamed: `generateRoleRowsIter` with the catalog's seeded generator. */
export function catalogRows(scenarioId: string, role: string, rows: number, seed = 1): Iterable<Row> {
  return { [Symbol.iterator]: () => generateRoleRowsIter(scenarioId, role, { rows, seed }) };
}

/** The plan the broker will compile for these parameters and row counts (same call, same inputs). */
export function localPlan(scenario: Scenario, params: ParamValues, rowCounts: Record<string, number>): Plan {
  const r = compilePlan(scenario, params, { rowCounts });
  if (!r.ok) throw new Error(`scenario ${scenario.id} cannot be planned: ${r.errors.map((e) => `${e.path} ${e.message}`).join('; ')}`);
  return r.plan;
}

/** Generates the consumer's keyset for a plan (secret key in a 0600 file in `dir`); returns it and the time taken. */
export async function consumerKeys(dir: string, plan: Plan, name: string): Promise<{ keys: SecretKeyset; ms: number }> {
  const started = performance.now();
  const file = join(dir, `${name}.keys`);
  await generateKeyFile(file, keyRequirements(plan));
  return { keys: readKeyFile(file), ms: performance.now() - started };
}
