import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An index on jobs (status, updated_at): the result-retention sweep (JobOrchestrator.expireResults, every
 * RECONCILE_MS in every worker) selects the completed jobs that ended before a cutoff, and without it scans every
 * job. The same statement on both databases; the name is the entity's (`JobEntity`), so the schema builder sees
 * no difference.
 */
const UP = 'CREATE INDEX "IDX_jobs_status_updated_at" ON "jobs" ("status", "updated_at")';
const DOWN = 'DROP INDEX "IDX_jobs_status_updated_at"';

export class JobsStatusUpdatedSqlite1796700000000 implements MigrationInterface {
  name = 'JobsStatusUpdatedSqlite1796700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(UP);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(DOWN);
  }
}

export class JobsStatusUpdatedPostgres1796700000000 implements MigrationInterface {
  name = 'JobsStatusUpdatedPostgres1796700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(UP);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(DOWN);
  }
}
