import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Initial schema for PostgreSQL. Generated from the entities with TypeORM's schema builder (as `migration:generate` does). */
export class InitialPostgres1764200000000 implements MigrationInterface {
  name = 'InitialPostgres1764200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      'CREATE TABLE "participants" ("id" character varying(64) NOT NULL, "name" character varying(200) NOT NULL, "role" character varying(16) NOT NULL, "token_hash" character varying(64) NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_1cda06c31eec1c95b3365a0283f" PRIMARY KEY ("id"))',
    );
    await q.query('CREATE UNIQUE INDEX "IDX_31086e5783457d5176c171883d" ON "participants"  ("token_hash") ');
    await q.query(
      'CREATE TABLE "datasets" ("id" character varying(64) NOT NULL, "owner_id" character varying(64) NOT NULL, "connector_id" character varying(64) NOT NULL, "name" character varying(200) NOT NULL, "description" text NOT NULL DEFAULT \'\', "columns" text NOT NULL, "policy" text NOT NULL, "row_count" integer NOT NULL DEFAULT \'0\', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_1bf831e43c559a240303e23d038" PRIMARY KEY ("id"))',
    );
    await q.query(
      'CREATE TABLE "dataset_rows" ("dataset_id" character varying(64) NOT NULL, "seq" integer NOT NULL, "data" text NOT NULL, CONSTRAINT "PK_227523ca15385faa1ee781d5593" PRIMARY KEY ("dataset_id", "seq"))',
    );
    await q.query(
      'CREATE TABLE "offers" ("dataset_id" character varying(64) NOT NULL, "provider_id" character varying(64) NOT NULL, "connector_id" character varying(64) NOT NULL, "name" character varying(200) NOT NULL, "description" text NOT NULL DEFAULT \'\', "columns" text NOT NULL, "policy" text NOT NULL, "row_count" integer NOT NULL DEFAULT \'0\', "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_25ecad06175ea42d3c6f5728209" PRIMARY KEY ("dataset_id"))',
    );
    await q.query(
      'CREATE TABLE "scenarios" ("id" character varying(100) NOT NULL, "version" integer NOT NULL, "document" text NOT NULL, "registered_by" character varying(64) NOT NULL, "builtin" boolean NOT NULL DEFAULT false, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_929500b29ee0ff7a03b9f9d5136" PRIMARY KEY ("id", "version"))',
    );
    await q.query(
      'CREATE TABLE "keysets" ("id" character varying(64) NOT NULL, "consumer_id" character varying(64) NOT NULL, "params_id" character varying(100) NOT NULL, "params" text NOT NULL, "galoisSteps" text NOT NULL, "size" integer NOT NULL, "blob" bytea NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_7e5463394bd4ed73db8e733f768" PRIMARY KEY ("id"))',
    );
    await q.query(
      'CREATE TABLE "jobs" ("id" character varying(64) NOT NULL, "scenario_id" character varying(100) NOT NULL, "scenario_version" integer NOT NULL, "consumer_id" character varying(64) NOT NULL, "keyset_id" character varying(64) NOT NULL, "purpose" character varying(100) NOT NULL, "bindings" text NOT NULL, "params" text NOT NULL, "plan" text, "status" character varying(16) NOT NULL, "progress" text NOT NULL, "error" text, "result_meta" text, "epsilon" double precision NOT NULL DEFAULT \'0\', "idempotency_key" character varying(200), "day" character varying(10) NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_cf0a6c42b72fcc7f7c237def345" PRIMARY KEY ("id"))',
    );
    await q.query('CREATE UNIQUE INDEX "IDX_dbdce2a334ba8a16d113987a3e" ON "jobs"  ("consumer_id", "idempotency_key") ');
    await q.query(
      'CREATE TABLE "job_datasets" ("job_id" character varying(64) NOT NULL, "role" character varying(100) NOT NULL, "dataset_id" character varying(64) NOT NULL, "status" character varying(16) NOT NULL DEFAULT \'pending\', "meta" text, CONSTRAINT "PK_319f9e342f1b67b3e5089453bb4" PRIMARY KEY ("job_id", "role"))',
    );
    await q.query('CREATE INDEX "IDX_3ccafc4160fe99f5e83942924e" ON "job_datasets"  ("dataset_id") ');
    await q.query(
      'CREATE TABLE "job_ciphertexts" ("job_id" character varying(64) NOT NULL, "role" character varying(100) NOT NULL, "feature" character varying(100) NOT NULL, "chunk" integer NOT NULL, "blob" bytea NOT NULL, CONSTRAINT "PK_dfe5866982e7f57876d2ad02c86" PRIMARY KEY ("job_id", "role", "feature", "chunk"))',
    );
    await q.query(
      'CREATE TABLE "budgets" ("dataset_id" character varying(64) NOT NULL, "consumer_id" character varying(64) NOT NULL, "spent" double precision NOT NULL DEFAULT \'0\', CONSTRAINT "PK_e44e368bdf61026aeb52afaf7c9" PRIMARY KEY ("dataset_id", "consumer_id"))',
    );
    await q.query(
      'CREATE TABLE "ledger_entries" ("idx" bigint NOT NULL, "event_id" character varying(64) NOT NULL, "type" character varying(40) NOT NULL, "job_id" character varying(64), "consumer_id" character varying(64), "datasets" text NOT NULL DEFAULT \'\', "at" character varying(40) NOT NULL, "body" text NOT NULL, "leaf_hash" character varying(64) NOT NULL, CONSTRAINT "PK_76a4c1deb6a27137b1db0631d8f" PRIMARY KEY ("idx"))',
    );
    await q.query('CREATE UNIQUE INDEX "IDX_62af78103412d2c24dd5742cec" ON "ledger_entries"  ("event_id") ');
    await q.query('CREATE INDEX "IDX_a8781f3c6e59c59666272e896b" ON "ledger_entries"  ("type") ');
    await q.query('CREATE INDEX "IDX_8b8c7f074994472d7408c18972" ON "ledger_entries"  ("job_id") ');
    await q.query('CREATE INDEX "IDX_fa43c8caf4a81a91297f601b88" ON "ledger_entries"  ("consumer_id") ');
    await q.query('CREATE INDEX "IDX_0bd6d618cd78f0c3fd6e341f6a" ON "ledger_entries"  ("at") ');
    await q.query(
      'CREATE TABLE "ledger_nodes" ("level" integer NOT NULL, "idx" bigint NOT NULL, "hash" character varying(64) NOT NULL, CONSTRAINT "PK_38e14d8322951eddee400ea4c3e" PRIMARY KEY ("level", "idx"))',
    );
    await q.query(
      'CREATE TABLE "ledger_checkpoints" ("size" bigint NOT NULL, "text" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_3edc3b5816537588f3665605968" PRIMARY KEY ("size"))',
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE "participants"');
    await q.query('DROP INDEX "IDX_31086e5783457d5176c171883d"');
    await q.query('DROP TABLE "datasets"');
    await q.query('DROP TABLE "dataset_rows"');
    await q.query('DROP TABLE "offers"');
    await q.query('DROP TABLE "scenarios"');
    await q.query('DROP TABLE "keysets"');
    await q.query('DROP TABLE "jobs"');
    await q.query('DROP INDEX "IDX_dbdce2a334ba8a16d113987a3e"');
    await q.query('DROP TABLE "job_datasets"');
    await q.query('DROP INDEX "IDX_3ccafc4160fe99f5e83942924e"');
    await q.query('DROP TABLE "job_ciphertexts"');
    await q.query('DROP TABLE "budgets"');
    await q.query('DROP TABLE "ledger_entries"');
    await q.query('DROP INDEX "IDX_62af78103412d2c24dd5742cec"');
    await q.query('DROP INDEX "IDX_a8781f3c6e59c59666272e896b"');
    await q.query('DROP INDEX "IDX_8b8c7f074994472d7408c18972"');
    await q.query('DROP INDEX "IDX_fa43c8caf4a81a91297f601b88"');
    await q.query('DROP INDEX "IDX_0bd6d618cd78f0c3fd6e341f6a"');
    await q.query('DROP TABLE "ledger_nodes"');
    await q.query('DROP TABLE "ledger_checkpoints"');
  }
}
