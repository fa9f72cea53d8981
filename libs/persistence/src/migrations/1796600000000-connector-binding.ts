import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A `connector` credential is bound to the one connector it acts for (participants.connector_id), so the broker
 * can check that a connector only touches its own offers and the jobs that bind its datasets.
 */
export class ConnectorBindingSqlite1796600000000 implements MigrationInterface {
  name = 'ConnectorBindingSqlite1796600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE "participants" ADD COLUMN "connector_id" varchar(64)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE "participants" DROP COLUMN "connector_id"');
  }
}

export class ConnectorBindingPostgres1796600000000 implements MigrationInterface {
  name = 'ConnectorBindingPostgres1796600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE "participants" ADD "connector_id" character varying(64)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE "participants" DROP COLUMN "connector_id"');
  }
}
