import type { MigrationInterface, QueryRunner } from 'typeorm';
import { expectColumns } from './guard.js';

/**
 * `job_ciphertexts` gets an explicit `kind` (entities.ts, `CiphertextKind`) in place of the `$` pseudo-roles the
 * role column carried: `$params` → params, `$result` → result, `$psi` → psi, `$staging:<role>` → staging with
 * that role, `$partial` (partial sums of a removed fan-out: dropped, as a job's end would have dropped them), any
 * other role → input. The key becomes (job_id, kind, role, feature, chunk); `down` folds the kinds back into roles.
 *
 * PostgreSQL changes the table in place: a column, an UPDATE of the pseudo-role rows only (a provider's inputs, the
 * bulk of the bytes, are not rewritten, and unchanged TOASTed blobs are not copied) and a new primary key. SQLite
 * cannot change a primary key, so there the table is rebuilt and every row copied once.
 */
const KIND = `CASE WHEN "role" = '$params' THEN 'params' WHEN "role" = '$result' THEN 'result' WHEN "role" = '$psi' THEN 'psi'
  WHEN "role" LIKE '$staging:%' THEN 'staging' ELSE 'input' END`;
const ROLE = `CASE WHEN "role" LIKE '$staging:%' THEN substr("role", 10) WHEN "role" LIKE '$%' THEN '' ELSE "role" END`;
const UNKIND = `CASE "kind" WHEN 'params' THEN '$params' WHEN 'result' THEN '$result' WHEN 'psi' THEN '$psi'
  WHEN 'staging' THEN '$staging:' || "role" ELSE "role" END`;
/** The primary key the initial PostgreSQL migration named (TypeORM's generated name). */
const PK_ROLES = 'PK_dfe5866982e7f57876d2ad02c86';

export class CiphertextKinds1797300000000 implements MigrationInterface {
  name = 'CiphertextKinds1797300000000';

  async up(q: QueryRunner): Promise<void> {
    await expectColumns(q, 'job_ciphertexts', { present: ['role'], absent: ['kind'] });
    if (q.connection.options.type === 'postgres') {
      await q.query(`ALTER TABLE "job_ciphertexts" ADD "kind" character varying(16) NOT NULL DEFAULT 'input'`);
      await q.query(`DELETE FROM "job_ciphertexts" WHERE "role" = '$partial'`);
      await q.query(`UPDATE "job_ciphertexts" SET "kind" = ${KIND}, "role" = ${ROLE} WHERE "role" LIKE '$%'`);
      await q.query('ALTER TABLE "job_ciphertexts" ALTER COLUMN "kind" DROP DEFAULT');
      await q.query(`ALTER TABLE "job_ciphertexts" DROP CONSTRAINT "${PK_ROLES}"`);
      await q.query(
        'ALTER TABLE "job_ciphertexts" ADD CONSTRAINT "PK_job_ciphertexts" PRIMARY KEY ("job_id", "kind", "role", "feature", "chunk")',
      );
      return;
    }
    await q.query('ALTER TABLE "job_ciphertexts" RENAME TO "job_ciphertexts_roles"');
    await q.query(
      'CREATE TABLE "job_ciphertexts" ("job_id" varchar(64) NOT NULL, "kind" varchar(16) NOT NULL, "role" varchar(100) NOT NULL, ' +
        '"feature" varchar(100) NOT NULL, "chunk" integer NOT NULL, "blob" blob NOT NULL, PRIMARY KEY ("job_id", "kind", "role", "feature", "chunk"))',
    );
    await q.query(
      `INSERT INTO "job_ciphertexts" ("job_id", "kind", "role", "feature", "chunk", "blob") ` +
        `SELECT "job_id", ${KIND}, ${ROLE}, "feature", "chunk", "blob" FROM "job_ciphertexts_roles" WHERE "role" <> '$partial'`,
    );
    await q.query('DROP TABLE "job_ciphertexts_roles"');
  }

  async down(q: QueryRunner): Promise<void> {
    await expectColumns(q, 'job_ciphertexts', { present: ['role', 'kind'] });
    if (q.connection.options.type === 'postgres') {
      await q.query('ALTER TABLE "job_ciphertexts" DROP CONSTRAINT "PK_job_ciphertexts"');
      await q.query(`UPDATE "job_ciphertexts" SET "role" = ${UNKIND} WHERE "kind" <> 'input'`);
      await q.query('ALTER TABLE "job_ciphertexts" DROP COLUMN "kind"');
      await q.query(`ALTER TABLE "job_ciphertexts" ADD CONSTRAINT "${PK_ROLES}" PRIMARY KEY ("job_id", "role", "feature", "chunk")`);
      return;
    }
    await q.query('ALTER TABLE "job_ciphertexts" RENAME TO "job_ciphertexts_kinds"');
    await q.query(
      'CREATE TABLE "job_ciphertexts" ("job_id" varchar(64) NOT NULL, "role" varchar(100) NOT NULL, "feature" varchar(100) NOT NULL, ' +
        '"chunk" integer NOT NULL, "blob" blob NOT NULL, PRIMARY KEY ("job_id", "role", "feature", "chunk"))',
    );
    await q.query(
      `INSERT INTO "job_ciphertexts" ("job_id", "role", "feature", "chunk", "blob") SELECT "job_id", ${UNKIND}, "feature", "chunk", "blob" FROM "job_ciphertexts_kinds"`,
    );
    await q.query('DROP TABLE "job_ciphertexts_kinds"');
  }
}
