import pg from 'pg';
import { isPostgresUrl } from '#persistence';
import { deleteKeysWithPrefix } from '#platform';

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
  if (isPostgresUrl(opts.databaseUrl) && schemas.length) {
    const c = new pg.Client({ connectionString: opts.databaseUrl });
    try {
      await c.connect();
      for (const s of schemas) await c.query(`DROP SCHEMA IF EXISTS "${s.replace(/"/g, '""')}" CASCADE`);
    } finally {
      await c.end().catch(() => undefined);
    }
  }
  if (opts.queuePrefix) await deleteKeysWithPrefix(opts.redisUrl ?? 'redis://127.0.0.1:6379', opts.queuePrefix);
}
