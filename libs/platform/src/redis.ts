import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';

/** Connection options for BullMQ workers: they block on Redis and must never give up a request. */
export function workerConnection(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true });
}

/** Producers (HTTP handlers adding jobs) fail fast when Redis is down, so the caller gets an error, not a hang. */
export function producerConnection(url: string): Redis {
  const opts: RedisOptions = {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 2000,
    retryStrategy: (n) => Math.min(n * 200, 2000),
  };
  return new Redis(url, opts);
}

export async function ping(url: string, timeoutMs = 1500): Promise<boolean> {
  const r = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: timeoutMs,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

export class RedisUnavailableError extends Error {}

export const REDIS_HOWTO =
  'no Redis answers on REDIS_URL and no redis-server is on PATH: install one (apt install redis-server, brew install redis) ' +
  'or run `docker compose up -d redis`, or set REDIS_URL';

/**
 * Makes sure a Redis answers on `url`. When none does and `autostart`, starts a local `redis-server` from PATH
 * (data under `<dataDir>/redis`, noeviction, AOF on) and returns a handle that stops it.
 */
export async function ensureRedis(
  url: string,
  dataDir: string,
  autostart: boolean,
  say: (line: string) => void,
): Promise<{ started: boolean; stop: () => Promise<void> }> {
  if (await ping(url)) return { started: false, stop: async () => undefined };
  const u = new URL(url);
  const local = ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(u.hostname);
  if (!autostart || !local) throw new RedisUnavailableError(`no Redis answers on ${u.host}; start one or set REDIS_URL`);
  const bin = findOnPath('redis-server');
  if (!bin) throw new RedisUnavailableError(REDIS_HOWTO);
  const dir = join(dataDir, 'redis');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const port = u.port || '6379';
  const child: ChildProcess = spawn(
    bin,
    [
      '--port',
      port,
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--appendonly',
      'yes',
      '--maxmemory-policy',
      'noeviction',
      '--save',
      '',
      '--daemonize',
      'no',
    ],
    { stdio: 'ignore', detached: false },
  );
  for (let i = 0; i < 50; i++) {
    if (await ping(url, 300)) {
      say(`started a local redis-server on 127.0.0.1:${port} (data in ${dir}); it stops when this process exits`);
      const stop = async (): Promise<void> => {
        if (child.exitCode !== null) return;
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      };
      process.once('exit', () => {
        if (child.exitCode === null) child.kill('SIGTERM');
      });
      return { started: true, stop };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new RedisUnavailableError(`redis-server did not start on port ${port}`);
}

/** BullMQ loses jobs under eviction; warn (once, at start) when the server is not set to `noeviction`. */
export async function evictionPolicyWarning(url: string): Promise<string | null> {
  const r = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    const res = (await r.config('GET', 'maxmemory-policy')) as string[];
    const policy = res[1];
    return policy && policy !== 'noeviction'
      ? `Redis maxmemory-policy is ${policy}; BullMQ needs noeviction (redis-cli config set maxmemory-policy noeviction)`
      : null;
  } catch {
    return null;
  } finally {
    r.disconnect();
  }
}

function findOnPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}

/**
 * Deletes every key under `prefix:` (a run's queues: the demo's session, a test's), SCAN by SCAN so Redis is never
 * blocked by one KEYS over the whole keyspace. A Redis that does not answer (one the run started and stopped) has
 * nothing left to delete: that is not an error.
 */
export async function deleteKeysWithPrefix(url: string, prefix: string): Promise<void> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    await r.connect();
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length) await r.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } catch {
    // no Redis any more
  } finally {
    r.disconnect();
  }
}
