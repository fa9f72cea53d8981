import type { JobError, JobParams, JobProgress, JobStatus, ResultMeta, UploadMeta } from '#contracts';
import type { Columns } from '#dataset';
import type { HeParams } from '#he-core';
import type { UsagePolicy } from '#policy';
import type { Plan, Scenario } from '#scenario';
import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { BINARY, REAL, TIMESTAMP } from './column-types.js';

const json = { type: 'simple-json' as const };
/** pg returns bigint as string; ledger sizes fit in a JS number (2^53). */
const bigintNumber = { to: (v: number) => v, from: (v: string | number | null) => (v === null ? null : Number(v)) };

@Entity('participants')
export class ParticipantEntity {
  @PrimaryColumn('varchar', { length: 64 }) id!: string;
  @Column('varchar', { length: 200 }) name!: string;
  @Column('varchar', { length: 16 }) role!: string;
  /** SHA-256 of the bearer token; the token itself is never stored. */
  @Index({ unique: true }) @Column('varchar', { name: 'token_hash', length: 64 }) tokenHash!: string;
  /** For a `connector` credential: the connector it acts for (its CONNECTOR_ID); null for every other role. */
  @Column({ type: 'varchar', name: 'connector_id', length: 64, nullable: true }) connectorId!: string | null;
  @CreateDateColumn({ name: 'created_at', type: TIMESTAMP }) createdAt!: Date;
}

/** Provider connector's store: a registered dataset (schema + policy) and its row count. */
@Entity('datasets')
export class DatasetEntity {
  @PrimaryColumn('varchar', { length: 64 }) id!: string;
  @Column('varchar', { name: 'owner_id', length: 64 }) ownerId!: string;
  @Column('varchar', { name: 'connector_id', length: 64 }) connectorId!: string;
  @Column('varchar', { length: 200 }) name!: string;
  @Column('text', { default: '' }) description!: string;
  @Column(json) columns!: Columns;
  @Column(json) policy!: UsagePolicy;
  @Column('integer', { name: 'row_count', default: 0 }) rowCount!: number;
  @CreateDateColumn({ name: 'created_at', type: TIMESTAMP }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: TIMESTAMP }) updatedAt!: Date;
}

/**
 * Provider connector's store: plaintext rows, ROWS_PER_BLOCK to a block (rows.ts), in import order. Never leaves
 * the connector.
 */
@Entity('dataset_row_blocks')
export class DatasetRowBlockEntity {
  @PrimaryColumn('varchar', { name: 'dataset_id', length: 64 }) datasetId!: string;
  /** sequence number of the block's first row */
  @PrimaryColumn('integer', { name: 'first_seq' }) firstSeq!: number;
  @Column('integer', { name: 'row_count' }) rowCount!: number;
  /** the rows, a JSON array of row objects */
  @Column('text') data!: string;
}

/** Broker catalog: the offer (metadata + policy, never rows) a provider published. */
@Entity('offers')
export class OfferEntity {
  @PrimaryColumn('varchar', { name: 'dataset_id', length: 64 }) datasetId!: string;
  @Column('varchar', { name: 'provider_id', length: 64 }) providerId!: string;
  @Column('varchar', { name: 'connector_id', length: 64 }) connectorId!: string;
  @Column('varchar', { length: 200 }) name!: string;
  @Column('text', { default: '' }) description!: string;
  @Column(json) columns!: Columns;
  @Column(json) policy!: UsagePolicy;
  @Column('integer', { name: 'row_count', default: 0 }) rowCount!: number;
  @UpdateDateColumn({ name: 'updated_at', type: TIMESTAMP }) updatedAt!: Date;
}

@Entity('scenarios')
export class ScenarioEntity {
  @PrimaryColumn('varchar', { length: 100 }) id!: string;
  @PrimaryColumn('integer') version!: number;
  @Column(json) document!: Scenario;
  @Column('varchar', { name: 'registered_by', length: 64 }) registeredBy!: string;
  @Column('boolean', { default: false }) builtin!: boolean;
  @CreateDateColumn({ name: 'created_at', type: TIMESTAMP }) createdAt!: Date;
}

/** The public part of a consumer's keyset (never a secret key). */
@Entity('keysets')
export class KeysetEntity {
  /** SHA-256 fingerprint of the public keyset. */
  @PrimaryColumn('varchar', { length: 64 }) id!: string;
  @Column('varchar', { name: 'consumer_id', length: 64 }) consumerId!: string;
  @Column('varchar', { name: 'params_id', length: 100 }) paramsId!: string;
  @Column(json) params!: HeParams;
  @Column(json) galoisSteps!: number[];
  @Column('integer') size!: number;
  @Column(BINARY) blob!: Buffer;
  @CreateDateColumn({ name: 'created_at', type: TIMESTAMP }) createdAt!: Date;
}

@Entity('jobs')
@Index(['consumerId', 'idempotencyKey'], { unique: true })
// the result-retention sweep: completed jobs that ended before a cutoff (migration 1796700000000)
@Index('IDX_jobs_status_updated_at', ['status', 'updatedAt'])
export class JobEntity {
  @PrimaryColumn('varchar', { length: 64 }) id!: string;
  @Column('varchar', { name: 'scenario_id', length: 100 }) scenarioId!: string;
  @Column('integer', { name: 'scenario_version' }) scenarioVersion!: number;
  @Column('varchar', { name: 'consumer_id', length: 64 }) consumerId!: string;
  @Column('varchar', { name: 'keyset_id', length: 64 }) keysetId!: string;
  @Column('varchar', { length: 100 }) purpose!: string;
  @Column(json) bindings!: Record<string, string>;
  @Column(json) params!: JobParams;
  @Column({ type: 'simple-json', nullable: true }) plan!: Plan | null;
  /** A state of the job state machine (`#contracts`); written only through `transition` (`#jobs`). */
  @Column('varchar', { length: 16 }) status!: JobStatus;
  /** Progress per stage and per provider role. */
  @Column(json) progress!: JobProgress;
  @Column({ type: 'simple-json', nullable: true }) error!: JobError | null;
  @Column({ type: 'simple-json', name: 'result_meta', nullable: true }) resultMeta!: ResultMeta | null;
  @Column(REAL, { default: 0 }) epsilon!: number;
  @Column('varchar', { name: 'idempotency_key', length: 200, nullable: true }) idempotencyKey!: string | null;
  @Column('varchar', { name: 'day', length: 10 }) day!: string;
  @CreateDateColumn({ name: 'created_at', type: TIMESTAMP }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: TIMESTAMP }) updatedAt!: Date;
}

/** Which datasets a job used (for daily limits and auditor filters). */
@Entity('job_datasets')
export class JobDatasetEntity {
  @PrimaryColumn('varchar', { name: 'job_id', length: 64 }) jobId!: string;
  @PrimaryColumn('varchar', { length: 100 }) role!: string;
  @Index() @Column('varchar', { name: 'dataset_id', length: 64 }) datasetId!: string;
  @Column('varchar', { length: 16, default: 'pending' }) status!: string;
  /** Metadata the provider reported: rows, per-group counts, missing keys (no values). */
  @Column({ type: 'simple-json', nullable: true }) meta!: UploadMeta | null;
}

/**
 * What a stored ciphertext of a job is:
 * - `input`: a provider's upload for its role, committed (the evaluation reads these);
 * - `staging`: a provider's upload in progress for its role, swapped to `input` whole at the commit;
 * - `params`: the consumer's encrypted private parameters (role '');
 * - `psi`: a private set intersection message, blinded ids or match positions, not a ciphertext of HE (role '');
 * - `result`: an output of the evaluation, kept for the consumer to fetch (role '').
 */
export type CiphertextKind = 'input' | 'staging' | 'params' | 'psi' | 'result';

/** Ciphertexts uploaded for a job: (kind, role, feature, chunk) is unique, so a retried upload replaces, never duplicates. */
@Entity('job_ciphertexts')
export class JobCiphertextEntity {
  @PrimaryColumn('varchar', { name: 'job_id', length: 64 }) jobId!: string;
  @PrimaryColumn('varchar', { length: 16 }) kind!: CiphertextKind;
  /** The provider role of an `input` or `staging` ciphertext; '' for the others. */
  @PrimaryColumn('varchar', { length: 100 }) role!: string;
  @PrimaryColumn('varchar', { length: 100 }) feature!: string;
  @PrimaryColumn('integer') chunk!: number;
  @Column(BINARY) blob!: Buffer;
}

/** Epsilon spent per (dataset, consumer); charged atomically with a guarded UPDATE. */
@Entity('budgets')
export class BudgetEntity {
  @PrimaryColumn('varchar', { name: 'dataset_id', length: 64 }) datasetId!: string;
  @PrimaryColumn('varchar', { name: 'consumer_id', length: 64 }) consumerId!: string;
  @Column(REAL, { default: 0 }) spent!: number;
}

@Entity('ledger_entries')
export class LedgerEntryEntity {
  @PrimaryColumn({ type: 'bigint', transformer: bigintNumber }) idx!: number;
  @Index({ unique: true }) @Column('varchar', { name: 'event_id', length: 64 }) eventId!: string;
  @Index() @Column('varchar', { length: 40 }) type!: string;
  @Index() @Column('varchar', { name: 'job_id', length: 64, nullable: true }) jobId!: string | null;
  @Index() @Column('varchar', { name: 'consumer_id', length: 64, nullable: true }) consumerId!: string | null;
  /** Space-separated dataset ids, wrapped in spaces, for `LIKE '% id %'` filters. */
  @Column('text', { default: '' }) datasets!: string;
  @Index() @Column('varchar', { length: 40 }) at!: string;
  /** RFC 8785 canonical JSON of the event: the leaf data. */
  @Column('text') body!: string;
  @Column('varchar', { name: 'leaf_hash', length: 64 }) leafHash!: string;
}

/** Hashes of complete subtrees of the ledger's Merkle tree (RFC 6962), so proofs cost O(log n). */
@Entity('ledger_nodes')
export class LedgerNodeEntity {
  @PrimaryColumn('integer') level!: number;
  @PrimaryColumn({ type: 'bigint', transformer: bigintNumber }) idx!: number;
  @Column('varchar', { length: 64 }) hash!: string;
}

@Entity('ledger_checkpoints')
export class LedgerCheckpointEntity {
  @PrimaryColumn({ type: 'bigint', transformer: bigintNumber }) size!: number;
  @Column('text') text!: string;
  @CreateDateColumn({ name: 'created_at', type: TIMESTAMP }) createdAt!: Date;
}

export const ALL_ENTITIES = [
  ParticipantEntity,
  DatasetEntity,
  DatasetRowBlockEntity,
  OfferEntity,
  ScenarioEntity,
  KeysetEntity,
  JobEntity,
  JobDatasetEntity,
  JobCiphertextEntity,
  BudgetEntity,
  LedgerEntryEntity,
  LedgerNodeEntity,
  LedgerCheckpointEntity,
];
