import type { DataSource, EntityManager } from 'typeorm';

/**
 * Runs `fn` in a transaction. SQLite has one writer and TypeORM shares one connection, so concurrent
 * transactions in one process are queued here instead of failing with "cannot start a transaction within
 * a transaction"; PostgreSQL runs them concurrently (row locks and guarded updates keep them correct).
 */
const queues = new WeakMap<DataSource, Promise<unknown>>();

export async function inTransaction<T>(ds: DataSource, fn: (m: EntityManager) => Promise<T>): Promise<T> {
  if (ds.options.type === 'postgres') return ds.transaction(fn);
  const prev = queues.get(ds) ?? Promise.resolve();
  const run = prev.catch(() => undefined).then(() => ds.transaction(fn));
  queues.set(ds, run.catch(() => undefined));
  return run;
}
