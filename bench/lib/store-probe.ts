/**
 * What a long run leaves behind, read from outside the server processes: the database's size and its
 * leftover ciphertexts and ledger events (SQLite read-only, or the PostgreSQL schema), and Redis memory
 * and keys under the deployment's prefix.
 */
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import { join } from 'node:path';
import type { Deployment } from './deployment.js';
import { sqliteBytes } from './deployment.js';

export interface StoreSample {
  /** database size (SQLite files, or the schema's relations with indexes and TOAST), bytes */
  dbBytes: number;
  /** job_ciphertexts rows that are not a released result (inputs, partial sums, staging, PSI) */
  intermediateCiphertexts: number;
  resultCiphertexts: number;
  /** Redis INFO memory used_memory, bytes (the whole server: other users of it move it too) */
  redisUsedMemory: number;
  /** keys under the deployment's prefix */
  redisKeys: number;
}

export class StoreProbe {
  private readonly redis: Redis;
  private sqlite: Database.Database | null = null;
  private pg: import('pg').Client | null = null;

  private constructor(private readonly dep: Deployment) {
    this.redis = new Redis(dep.redisUrl, { maxRetriesPerRequest: 2 });
    this.redis.on('error', () => undefined);
  }

  static async open(dep: Deployment): Promise<StoreProbe> {
    const p = new StoreProbe(dep);
    if (dep.databaseUrl) {
      const { default: pg } = await import('pg');
      p.pg = new pg.Client({ connectionString: dep.databaseUrl });
      await p.pg.connect();
    } else {
      p.sqlite = new Database(join(dep.dataDir, 'dataspace.sqlite'), { readonly: true, fileMustExist: true });
    }
    return p;
  }

  /** Rows of a read-only query, in either dialect (PostgreSQL: in the deployment's schema). */
  async rows<T>(sql: string): Promise<T[]> {
    if (this.sqlite) return this.sqlite.prepare(sql).all() as T[];
    const schema = this.dep.schema!.replace(/"/g, '');
    await this.pg!.query(`SET search_path TO "${schema}"`);
    return (await this.pg!.query(sql)).rows as T[];
  }

  async dbBytes(): Promise<number> {
    if (this.sqlite) return sqliteBytes(this.dep.dataDir);
    const r = await this.pg!.query(
      `SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::bigint AS b FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = $1 AND c.relkind IN ('r', 'm')`,
      [this.dep.schema],
    );
    return Number((r.rows[0] as { b: string }).b);
  }

  async sample(): Promise<StoreSample> {
    const cts = await this.rows<{ role: string; n: number | string }>(
      `SELECT CASE WHEN kind = 'result' THEN 'result' ELSE 'other' END AS role, COUNT(*) AS n FROM job_ciphertexts GROUP BY 1`,
    );
    const count = (k: string): number => Number(cts.find((r) => r.role === k)?.n ?? 0);
    const info = await this.redis.info('memory');
    const used = Number(/used_memory:(\d+)/.exec(info)?.[1] ?? NaN);
    let keys = 0;
    let cursor = '0';
    do {
      const [next, found] = await this.redis.scan(cursor, 'MATCH', `${this.dep.queuePrefix}:*`, 'COUNT', 1000);
      cursor = next;
      keys += found.length;
    } while (cursor !== '0');
    return {
      dbBytes: await this.dbBytes(),
      intermediateCiphertexts: count('other'),
      resultCiphertexts: count('result'),
      redisUsedMemory: used,
      redisKeys: keys,
    };
  }

  /** BullMQ job counts per queue under the prefix (completed jobs still held, failed, waiting...). */
  async queueCounts(): Promise<Record<string, Record<string, number>>> {
    const out: Record<string, Record<string, number>> = {};
    const metas = new Set<string>();
    let cursor = '0';
    do {
      const [next, found] = await this.redis.scan(cursor, 'MATCH', `${this.dep.queuePrefix}:*:meta`, 'COUNT', 1000);
      cursor = next;
      for (const k of found) metas.add(k.slice(this.dep.queuePrefix.length + 1, -':meta'.length));
    } while (cursor !== '0');
    for (const q of metas) {
      const key = (s: string): string => `${this.dep.queuePrefix}:${q}:${s}`;
      const [completed, failed, wait, active, delayed, waitingChildren] = await Promise.all([
        this.redis.zcard(key('completed')),
        this.redis.zcard(key('failed')),
        this.redis.llen(key('wait')),
        this.redis.llen(key('active')),
        this.redis.zcard(key('delayed')),
        this.redis.zcard(key('waiting-children')),
      ]);
      out[q] = { completed, failed, wait, active, delayed, waitingChildren };
    }
    return out;
  }

  async close(): Promise<void> {
    this.sqlite?.close();
    await this.pg?.end();
    this.redis.disconnect();
  }
}
