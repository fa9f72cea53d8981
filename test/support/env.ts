import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type AppConfig, type QueueService } from '#platform';
import { isPostgresUrl } from '#persistence';
import { startServer, type ServerHandle } from '../../apps/cli/src/server.js';
import type { AppName } from '../../apps/cli/src/apps.js';
import { dropRunState } from './cleanup.js';

/**
 * An isolated environment per test run: its own data dir, its own BullMQ key prefix and, on PostgreSQL,
 * its own schema, so concurrent runs against the shared Redis and PostgreSQL cannot collide.
 */
export function testConfig(overrides: Record<string, string> = {}): AppConfig {
  const dir = mkdtempSync(join(tmpdir(), 'dataspace-test-'));
  const run = randomBytes(4).toString('hex');
  const pg = isPostgresUrl(process.env.DATABASE_URL);
  return loadConfig(
    {
      ...process.env,
      DATA_DIR: dir,
      QUEUE_PREFIX: `dstest-${run}`,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      ...(pg ? { DATABASE_SCHEMA: `t_${run}` } : {}),
    },
    overrides,
  );
}

export async function startTestServer(
  opts: { apps?: AppName[]; config?: AppConfig } = {},
): Promise<ServerHandle & { adminToken: string; cleanup(): Promise<void> }> {
  const config = opts.config ?? testConfig();
  const server = await startServer({
    config,
    apps: opts.apps ?? ['provider', 'broker', 'ledger', 'worker'],
    port: 0,
    say: () => undefined,
  });
  const { readFileSync } = await import('node:fs');
  const adminToken = readFileSync(server.adminTokenPath, 'utf8').trim();
  return {
    ...server,
    adminToken,
    cleanup: async () => {
      await server.close();
      await dropRunState({
        databaseUrl: config.DATABASE_URL,
        schemas: [config.DATABASE_SCHEMA],
        redisUrl: config.REDIS_URL,
        queuePrefix: config.QUEUE_PREFIX,
      });
      rmSync(config.dataDir, { recursive: true, force: true });
    },
  };
}

/** A small fetch wrapper for tests: JSON in, JSON out, status kept. */
export async function call(
  base: string,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; raw?: string | Uint8Array; headers?: Record<string, string> } = {},
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON bodies
): Promise<{ status: number; body: any; text: string }> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | Uint8Array | undefined;
  if (opts.raw !== undefined) body = opts.raw;
  else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(base + path, { method, headers, body: body as RequestInit['body'] });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = null;
  }
  return { status: res.status, body: parsed, text };
}

/** Waits until `queue` has nothing waiting, delayed or in flight. */
export async function drainQueue(queues: QueueService, queue: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const c = await queues.pending(queue);
    if (Object.values(c).every((n) => n === 0)) return;
    if (Date.now() > end) throw new Error(`queue ${queue} did not drain: ${JSON.stringify(c)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
