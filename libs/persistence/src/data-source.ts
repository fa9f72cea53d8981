import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { DataSource, type DataSourceOptions, type MigrationInterface, type QueryRunner } from 'typeorm';
import { ALL_ENTITIES } from './entities.js';
import { isPostgresUrl } from './column-types.js';
import { InitialSqlite1764200000000 } from './migrations/1764200000000-initial-sqlite.js';
import { InitialPostgres1764200000000 } from './migrations/1764200000000-initial-postgres.js';
import {
  ConnectorBindingPostgres1796600000000,
  ConnectorBindingSqlite1796600000000,
} from './migrations/1796600000000-connector-binding.js';
import { JobsStatusUpdated1796700000000 } from './migrations/1796700000000-jobs-status-updated.js';
import { CiphertextKinds1797300000000 } from './migrations/1797300000000-ciphertext-kinds.js';
import { DatasetRowBlocks1797200000000 } from './migrations/1797200000000-dataset-row-blocks.js';

export interface DatabaseConfig {
  /** `postgres://...` for PostgreSQL; otherwise SQLite under `dataDir`. */
  databaseUrl?: string | undefined;
  dataDir: string;
  /** PostgreSQL schema (tests use one per run so runs cannot collide). */
  schema?: string | undefined;
  /** SQLite file name inside dataDir. */
  sqliteFile?: string;
}

export function dataSourceOptions(cfg: DatabaseConfig): DataSourceOptions {
  if (isPostgresUrl(cfg.databaseUrl)) {
    if (!isPostgresUrl(process.env.DATABASE_URL)) {
      // Column types are chosen from DATABASE_URL when entities load (see column-types.ts).
      throw new Error('DATABASE_URL must be set in the environment before start-up to use PostgreSQL');
    }
    return {
      type: 'postgres',
      url: cfg.databaseUrl,
      schema: cfg.schema,
      entities: ALL_ENTITIES,
      migrations: [
        InitialPostgres1764200000000,
        ConnectorBindingPostgres1796600000000,
        JobsStatusUpdated1796700000000,
        DatasetRowBlocks1797200000000,
        CiphertextKinds1797300000000,
      ] as (new () => MigrationInterface)[],
      migrationsRun: false,
      synchronize: false,
      logging: false,
      // Unqualified names (migrations included) resolve in the run's schema.
      extra: { max: 10, ...(cfg.schema ? { options: `-c search_path=${cfg.schema}` } : {}) },
    };
  }
  const file = join(cfg.dataDir, cfg.sqliteFile ?? 'dataspace.sqlite');
  privateSqliteFile(cfg.dataDir, file);
  return {
    type: 'better-sqlite3',
    database: file,
    entities: ALL_ENTITIES,
    migrations: [
      InitialSqlite1764200000000,
      ConnectorBindingSqlite1796600000000,
      JobsStatusUpdated1796700000000,
      DatasetRowBlocks1797200000000,
      CiphertextKinds1797300000000,
    ] as (new () => MigrationInterface)[],
    migrationsRun: false,
    synchronize: false,
    logging: false,
    // WAL lets readers proceed while a writer appends; busy timeout rides out short write locks.
    prepareDatabase: (db: { pragma(s: string): unknown }) => {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = 30000');
    },
  } as DataSourceOptions;
}

/** Creates `dir` (and parents) readable by this user only, and tightens it to 0700 if it already exists. */
export function privateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

/**
 * The SQLite file holds every provider's plaintext rows: its directory is 0700 and the file 0600, created so
 * before SQLite opens it (SQLite gives its -wal and -shm files the database file's mode); files left by an
 * older version are tightened.
 */
function privateSqliteFile(dir: string, file: string): void {
  privateDir(dir);
  if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
}

/** Opens the database and applies pending migrations (never `synchronize`). */
export async function openDatabase(cfg: DatabaseConfig): Promise<DataSource> {
  if (isPostgresUrl(cfg.databaseUrl) && cfg.schema) {
    // The schema must exist before migrations run inside it.
    const boot = new DataSource({ type: 'postgres', url: cfg.databaseUrl });
    await boot.initialize();
    try {
      // two processes creating one schema at once collide even with IF NOT EXISTS
      const schema = cfg.schema.replace(/"/g, '');
      await underMigrationLock(boot, (q) => q.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`));
    } finally {
      await boot.destroy();
    }
  }
  const ds = new DataSource(dataSourceOptions(cfg));
  await ds.initialize();
  await migrate(ds);
  return ds;
}

/** Key of the PostgreSQL advisory lock that serializes migrations across processes (a constant of this project). */
const MIGRATION_LOCK = 0x6473706d; // "dspm"

/**
 * Applies pending migrations, one process at a time. TypeORM reads which migrations ran before it opens a
 * transaction, so two processes starting together on one database would both run a pending one. On PostgreSQL the
 * processes queue on an advisory lock (held on a connection of its own for the whole run), so the second reads the
 * list after the first committed. SQLite has no such lock; there each migration that reshapes a table checks
 * inside its transaction that it starts from the shape it expects (`expectColumns`), so a second run fails start-up
 * with an error instead of reshaping twice, and the next start finds nothing pending.
 */
async function migrate(ds: DataSource): Promise<void> {
  if (ds.options.type !== 'postgres') {
    await ds.runMigrations({ transaction: 'each' });
    return;
  }
  await underMigrationLock(ds, () => ds.runMigrations({ transaction: 'each' }));
}

/** Runs `fn` holding the migrations' advisory lock on a PostgreSQL connection of its own (a session lock). */
async function underMigrationLock<T>(ds: DataSource, fn: (q: QueryRunner) => Promise<T>): Promise<T> {
  const q = ds.createQueryRunner();
  await q.connect();
  try {
    await q.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    return await fn(q);
  } finally {
    await q.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await q.release();
  }
}
