import type { DataSource, EntityManager } from 'typeorm';

/**
 * Runs `fn` in a transaction.
 *
 * SQLite: one writer at a time. Within a process, transactions are queued here (TypeORM shares one
 * connection, and a second BEGIN on it fails). Across processes sharing the file, each transaction starts with
 * BEGIN IMMEDIATE, taking the write lock up front: a DEFERRED transaction that reads and then writes after
 * another process committed fails at once with SQLITE_BUSY (WAL snapshot), which the busy timeout cannot
 * wait out. PostgreSQL runs transactions concurrently (row locks and guarded updates keep them correct).
 */
const queues = new WeakMap<DataSource, Promise<unknown>>();

export async function inTransaction<T>(ds: DataSource, fn: (m: EntityManager) => Promise<T>): Promise<T> {
  if (ds.options.type === 'postgres') return ds.transaction(fn);
  const prev = queues.get(ds) ?? Promise.resolve();
  const run = prev.catch(() => undefined).then(() => immediate(ds, fn));
  queues.set(ds, run.catch(() => undefined));
  return run;
}

async function immediate<T>(ds: DataSource, fn: (m: EntityManager) => Promise<T>): Promise<T> {
  const qr = ds.createQueryRunner();
  await qr.connect();
  await qr.query('BEGIN IMMEDIATE');
  try {
    const result = await fn(qr.manager);
    await qr.query('COMMIT');
    return result;
  } catch (e) {
    await qr.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    await qr.release();
  }
}
