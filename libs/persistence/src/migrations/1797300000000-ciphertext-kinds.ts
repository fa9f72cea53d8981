import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `job_ciphertexts` gets an explicit `kind` (entities.ts, `CiphertextKind`) in place of the `$` pseudo-roles the
 * role column carried: `$params` → params, `$result` → result, `$psi` → psi, `$staging:<role>` → staging with
 * that role, `$partial` (partial sums of a removed fan-out: dropped, as a job's end would have dropped them), any
 * other role → input. The key becomes (job_id, kind, role, feature, chunk). The table is rebuilt (SQLite cannot
 * change a primary key in place), rows carried over; `down` folds the kinds back into roles.
 */
const KIND = `CASE WHEN "role" = '$params' THEN 'params' WHEN "role" = '$result' THEN 'result' WHEN "role" = '$psi' THEN 'psi'
  WHEN "role" LIKE '$staging:%' THEN 'staging' ELSE 'input' END`;
const ROLE = `CASE WHEN "role" LIKE '$staging:%' THEN substr("role", 10) WHEN "role" LIKE '$%' THEN '' ELSE "role" END`;
const UNKIND = `CASE "kind" WHEN 'params' THEN '$params' WHEN 'result' THEN '$result' WHEN 'psi' THEN '$psi'
  WHEN 'staging' THEN '$staging:' || "role" ELSE "role" END`;

export class CiphertextKinds1797300000000 implements MigrationInterface {
  name = 'CiphertextKinds1797300000000';

  async up(q: QueryRunner): Promise<void> {
    const pg = q.connection.options.type === 'postgres';
    const [v64, v16, v100, bin] = pg
      ? ['character varying(64)', 'character varying(16)', 'character varying(100)', 'bytea']
      : ['varchar(64)', 'varchar(16)', 'varchar(100)', 'blob'];
    await q.query('ALTER TABLE "job_ciphertexts" RENAME TO "job_ciphertexts_roles"');
    if (pg)
      await q.query('ALTER TABLE "job_ciphertexts_roles" RENAME CONSTRAINT "PK_dfe5866982e7f57876d2ad02c86" TO "PK_job_ciphertexts_roles"');
    await q.query(
      `CREATE TABLE "job_ciphertexts" ("job_id" ${v64} NOT NULL, "kind" ${v16} NOT NULL, "role" ${v100} NOT NULL, "feature" ${v100} NOT NULL, "chunk" integer NOT NULL, "blob" ${bin} NOT NULL, ` +
        `${pg ? 'CONSTRAINT "PK_job_ciphertexts" ' : ''}PRIMARY KEY ("job_id", "kind", "role", "feature", "chunk"))`,
    );
    await q.query(
      `INSERT INTO "job_ciphertexts" ("job_id", "kind", "role", "feature", "chunk", "blob") ` +
        `SELECT "job_id", ${KIND}, ${ROLE}, "feature", "chunk", "blob" FROM "job_ciphertexts_roles" WHERE "role" <> '$partial'`,
    );
    await q.query('DROP TABLE "job_ciphertexts_roles"');
  }

  async down(q: QueryRunner): Promise<void> {
    const pg = q.connection.options.type === 'postgres';
    const [v64, v100, bin] = pg ? ['character varying(64)', 'character varying(100)', 'bytea'] : ['varchar(64)', 'varchar(100)', 'blob'];
    await q.query('ALTER TABLE "job_ciphertexts" RENAME TO "job_ciphertexts_kinds"');
    if (pg) await q.query('ALTER TABLE "job_ciphertexts_kinds" RENAME CONSTRAINT "PK_job_ciphertexts" TO "PK_job_ciphertexts_kinds"');
    await q.query(
      `CREATE TABLE "job_ciphertexts" ("job_id" ${v64} NOT NULL, "role" ${v100} NOT NULL, "feature" ${v100} NOT NULL, "chunk" integer NOT NULL, "blob" ${bin} NOT NULL, ` +
        `${pg ? 'CONSTRAINT "PK_dfe5866982e7f57876d2ad02c86" ' : ''}PRIMARY KEY ("job_id", "role", "feature", "chunk"))`,
    );
    await q.query(
      `INSERT INTO "job_ciphertexts" ("job_id", "role", "feature", "chunk", "blob") SELECT "job_id", ${UNKIND}, "feature", "chunk", "blob" FROM "job_ciphertexts_kinds"`,
    );
    await q.query('DROP TABLE "job_ciphertexts_kinds"');
  }
}
