import { after, before } from 'node:test';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { isPostgresUrl, openDatabase } from '#persistence';

/**
 * Reverts the newest migrations, newest first, down to and including the one named `name` (what running
 * `migration:revert` that many times does), so a test can put data in the shape that migration found.
 */
export async function revertThrough(ds: DataSource, name: string): Promise<void> {
  for (;;) {
    const [last] = (await ds.query('SELECT name FROM migrations ORDER BY timestamp DESC LIMIT 1')) as { name: string }[];
    if (!last) throw new Error(`migration ${name} has not run`);
    await ds.undoLastMigration({ transaction: 'each' });
    if (last.name === name) return;
  }
}

/**
 * A database of its own for a migration test (a temporary SQLite file, or a fresh schema on the PostgreSQL of
 * DATABASE_URL), opened with every migration applied before the suite and removed after it; `p(n)` is the n-th
 * query placeholder of its dialect.
 */
export function migrationTestDatabase(tag: string): { db: () => DataSource; dir: string; pg: boolean; p: (n: number) => string } {
  const dir = mkdtempSync(join(tmpdir(), `dataspace-${tag}-`));
  const pg = isPostgresUrl(process.env.DATABASE_URL);
  const schema = pg ? `t_${tag}_${randomBytes(4).toString('hex')}` : undefined;
  let ds: DataSource | undefined;
  before(async () => {
    ds = await openDatabase({ databaseUrl: process.env.DATABASE_URL, dataDir: dir, schema });
  });
  after(async () => {
    if (schema) await ds?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await ds?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  return { db: () => ds!, dir, pg, p: (n) => (pg ? `$${n}` : '?') };
}
