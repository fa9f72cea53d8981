/**
 * The migrations build exactly the schema the entities describe, on the database this pass runs against (SQLite,
 * or PostgreSQL with DATABASE_URL): after every migration ran, TypeORM's schema builder (what `synchronize` and
 * `migration:generate` use) has nothing to change. A column, index or constraint added to an entity without its
 * migration, or a migration that differs from its entity, fails here.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DataSource } from 'typeorm';
import { startTestServer } from './support/env.js';

describe('schema: migrations match the entities', () => {
  let s: Awaited<ReturnType<typeof startTestServer>>;
  let ds: DataSource;
  before(async () => {
    s = await startTestServer({ apps: ['ledger'] });
    ds = s.dataSource;
  });
  after(async () => s.cleanup());

  it('no migration is pending and the schema builder finds nothing to change', async () => {
    assert.equal(await ds.showMigrations(), false, 'a migration is pending');
    const log = await ds.driver.createSchemaBuilder().log();
    assert.deepEqual(
      log.upQueries.map((q) => q.query),
      [],
    );
  });

  it('the retention sweep has its index on jobs (status, updated_at)', async () => {
    const table = await ds.createQueryRunner().getTable('jobs');
    const idx = table?.indices.find((i) => i.name === 'IDX_jobs_status_updated_at');
    assert.deepEqual(idx?.columnNames, ['status', 'updated_at']);
  });
});
