import pg from 'pg';
import { Redis } from 'ioredis';

/**
 * Drops what a test run left in the shared PostgreSQL and Redis: its schemas and every key under its queue prefix.
 * Tests that spawn their own server processes call it from `after` (their processes are gone by then, so nothing
 * writes again); a schema or prefix that is not there is no error, and a Redis that no longer answers (one the test
 * started and stopped) has nothing left to delete.
 */
export async function dropRunState(opts: {
  databaseUrl?: string;
  schemas?: (string | undefined)[];
  redisUrl?: string;
  queuePrefix?: string;
}): Promise<void> {
  const schemas = (opts.schemas ?? []).filter((s): s is string => !!s);
  if (opts.databaseUrl && /^postgres(ql)?:/.test(opts.databaseUrl) && schemas.length) {
    const c = new pg.Client({ connectionString: opts.databaseUrl });
    try {
      await c.connect();
      for (const s of schemas) await c.query(`DROP SCHEMA IF EXISTS "${s.replace(/"/g, '""')}" CASCADE`);
    } finally {
      await c.end().catch(() => undefined);
    }
  }
  if (opts.queuePrefix) {
    const r = new Redis(opts.redisUrl ?? 'redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
    r.on('error', () => undefined);
    try {
      await r.connect();
      let cursor = '0';
      do {
        const [next, keys] = await r.scan(cursor, 'MATCH', `${opts.queuePrefix}:*`, 'COUNT', 1000);
        if (keys.length) await r.del(...keys);
        cursor = next;
      } while (cursor !== '0');
    } catch {
      // a Redis the test started has stopped with it, and its keys with it
    } finally {
      r.disconnect();
    }
  }
}
