import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An index on jobs (status, updated_at): the result-retention sweep (JobOrchestrator.expireResults, every
 * RECONCILE_MS in every worker) selects the completed jobs that ended before a cutoff, and without it scans every
 * job. The same statements on both databases (one class in both lists); the name is the entity's (`JobEntity`), so the schema builder sees
 * no difference.
 */
export class JobsStatusUpdated1796700000000 implements MigrationInterface {
  name = 'JobsStatusUpdated1796700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('CREATE INDEX "IDX_jobs_status_updated_at" ON "jobs" ("status", "updated_at")');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX "IDX_jobs_status_updated_at"');
  }
}
