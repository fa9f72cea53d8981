import type { DataSource, EntityManager } from 'typeorm';
import { JobCiphertextEntity } from './entities.js';

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

/**
 * Find options that lock the rows a transaction reads before it writes them back (PostgreSQL: SELECT ... FOR
 * UPDATE), so two read-modify-writes of one row cannot both read the old value and lose one update. SQLite needs
 * none: `inTransaction` starts every transaction with BEGIN IMMEDIATE, one writer at a time. Outside a transaction
 * there is nothing to hold a lock, so none is asked for.
 */
export function forUpdate(m: EntityManager): { lock?: { mode: 'pessimistic_write' } } {
  return m.connection.options.type === 'postgres' && m.queryRunner?.isTransactionActive === true
    ? { lock: { mode: 'pessimistic_write' } }
    : {};
}

export async function inTransaction<T>(ds: DataSource, fn: (m: EntityManager) => Promise<T>): Promise<T> {
  if (ds.options.type === 'postgres') return ds.transaction(fn);
  const prev = queues.get(ds) ?? Promise.resolve();
  const run = prev.catch(() => undefined).then(() => immediate(ds, fn));
  queues.set(
    ds,
    run.catch(() => undefined),
  );
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

/**
 * Deletes a job's ciphertexts when it ends (issue: the release and nothing else): every provider input, the
 * consumer's private parameters, staging areas and PSI messages; with `keepResult`, the `result` outputs the consumer
 * still has to fetch stay. Run inside the transaction that ends the job.
 */
export async function purgeJobCiphertexts(m: EntityManager, jobId: string, opts: { keepResult: boolean }): Promise<void> {
  const q = m.createQueryBuilder().delete().from(JobCiphertextEntity).where('job_id = :jobId', { jobId });
  if (opts.keepResult) q.andWhere("kind <> 'result'");
  await q.execute();
}
