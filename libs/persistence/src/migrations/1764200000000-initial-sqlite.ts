import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Initial schema for the embedded SQLite store. Generated from the entities with TypeORM's schema builder (as `migration:generate` does). */
export class InitialSqlite1764200000000 implements MigrationInterface {
  name = 'InitialSqlite1764200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      'CREATE TABLE "participants" ("id" varchar(64) PRIMARY KEY NOT NULL, "name" varchar(200) NOT NULL, "role" varchar(16) NOT NULL, "token_hash" varchar(64) NOT NULL, "created_at" datetime NOT NULL DEFAULT (datetime(\'now\')))',
    );
    await q.query('CREATE UNIQUE INDEX "IDX_31086e5783457d5176c171883d" ON "participants" ("token_hash") ');
    await q.query(
      'CREATE TABLE "datasets" ("id" varchar(64) PRIMARY KEY NOT NULL, "owner_id" varchar(64) NOT NULL, "connector_id" varchar(64) NOT NULL, "name" varchar(200) NOT NULL, "description" text NOT NULL DEFAULT (\'\'), "columns" text NOT NULL, "policy" text NOT NULL, "row_count" integer NOT NULL DEFAULT (0), "created_at" datetime NOT NULL DEFAULT (datetime(\'now\')), "updated_at" datetime NOT NULL DEFAULT (datetime(\'now\')))',
    );
    await q.query(
      'CREATE TABLE "dataset_rows" ("dataset_id" varchar(64) NOT NULL, "seq" integer NOT NULL, "data" text NOT NULL, PRIMARY KEY ("dataset_id", "seq"))',
    );
    await q.query(
      'CREATE TABLE "offers" ("dataset_id" varchar(64) PRIMARY KEY NOT NULL, "provider_id" varchar(64) NOT NULL, "connector_id" varchar(64) NOT NULL, "name" varchar(200) NOT NULL, "description" text NOT NULL DEFAULT (\'\'), "columns" text NOT NULL, "policy" text NOT NULL, "row_count" integer NOT NULL DEFAULT (0), "updated_at" datetime NOT NULL DEFAULT (datetime(\'now\')))',
    );
    await q.query(
      'CREATE TABLE "scenarios" ("id" varchar(100) NOT NULL, "version" integer NOT NULL, "document" text NOT NULL, "registered_by" varchar(64) NOT NULL, "builtin" boolean NOT NULL DEFAULT (0), "created_at" datetime NOT NULL DEFAULT (datetime(\'now\')), PRIMARY KEY ("id", "version"))',
    );
    await q.query(
      'CREATE TABLE "keysets" ("id" varchar(64) PRIMARY KEY NOT NULL, "consumer_id" varchar(64) NOT NULL, "params_id" varchar(100) NOT NULL, "params" text NOT NULL, "galoisSteps" text NOT NULL, "size" integer NOT NULL, "blob" blob NOT NULL, "created_at" datetime NOT NULL DEFAULT (datetime(\'now\')))',
    );
    await q.query(
      'CREATE TABLE "jobs" ("id" varchar(64) PRIMARY KEY NOT NULL, "scenario_id" varchar(100) NOT NULL, "scenario_version" integer NOT NULL, "consumer_id" varchar(64) NOT NULL, "keyset_id" varchar(64) NOT NULL, "purpose" varchar(100) NOT NULL, "bindings" text NOT NULL, "params" text NOT NULL, "plan" text, "status" varchar(16) NOT NULL, "progress" text NOT NULL, "error" text, "result_meta" text, "epsilon" real NOT NULL DEFAULT (0), "idempotency_key" varchar(200), "day" varchar(10) NOT NULL, "created_at" datetime NOT NULL DEFAULT (datetime(\'now\')), "updated_at" datetime NOT NULL DEFAULT (datetime(\'now\')))',
    );
    await q.query('CREATE UNIQUE INDEX "IDX_dbdce2a334ba8a16d113987a3e" ON "jobs" ("consumer_id", "idempotency_key") ');
    await q.query(
      'CREATE TABLE "job_datasets" ("job_id" varchar(64) NOT NULL, "role" varchar(100) NOT NULL, "dataset_id" varchar(64) NOT NULL, "status" varchar(16) NOT NULL DEFAULT (\'pending\'), "meta" text, PRIMARY KEY ("job_id", "role"))',
    );
    await q.query('CREATE INDEX "IDX_3ccafc4160fe99f5e83942924e" ON "job_datasets" ("dataset_id") ');
    await q.query(
      'CREATE TABLE "job_ciphertexts" ("job_id" varchar(64) NOT NULL, "role" varchar(100) NOT NULL, "feature" varchar(100) NOT NULL, "chunk" integer NOT NULL, "blob" blob NOT NULL, PRIMARY KEY ("job_id", "role", "feature", "chunk"))',
    );
    await q.query(
      'CREATE TABLE "budgets" ("dataset_id" varchar(64) NOT NULL, "consumer_id" varchar(64) NOT NULL, "spent" real NOT NULL DEFAULT (0), PRIMARY KEY ("dataset_id", "consumer_id"))',
    );
    await q.query(
      'CREATE TABLE "ledger_entries" ("idx" bigint PRIMARY KEY NOT NULL, "event_id" varchar(64) NOT NULL, "type" varchar(40) NOT NULL, "job_id" varchar(64), "consumer_id" varchar(64), "datasets" text NOT NULL DEFAULT (\'\'), "at" varchar(40) NOT NULL, "body" text NOT NULL, "leaf_hash" varchar(64) NOT NULL)',
    );
    await q.query('CREATE UNIQUE INDEX "IDX_62af78103412d2c24dd5742cec" ON "ledger_entries" ("event_id") ');
    await q.query('CREATE INDEX "IDX_a8781f3c6e59c59666272e896b" ON "ledger_entries" ("type") ');
    await q.query('CREATE INDEX "IDX_8b8c7f074994472d7408c18972" ON "ledger_entries" ("job_id") ');
    await q.query('CREATE INDEX "IDX_fa43c8caf4a81a91297f601b88" ON "ledger_entries" ("consumer_id") ');
    await q.query('CREATE INDEX "IDX_0bd6d618cd78f0c3fd6e341f6a" ON "ledger_entries" ("at") ');
    await q.query(
      'CREATE TABLE "ledger_nodes" ("level" integer NOT NULL, "idx" bigint NOT NULL, "hash" varchar(64) NOT NULL, PRIMARY KEY ("level", "idx"))',
    );
    await q.query(
      'CREATE TABLE "ledger_checkpoints" ("size" bigint PRIMARY KEY NOT NULL, "text" text NOT NULL, "created_at" datetime NOT NULL DEFAULT (datetime(\'now\')))',
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
