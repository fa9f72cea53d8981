import { type DataSource, type EntityManager, In } from 'typeorm';
import { ACTIVE_JOB_STATUSES } from '#contracts';
import { BudgetEntity, JobCiphertextEntity, JobDatasetEntity, JobEntity, inTransaction } from '#persistence';
import type { ActiveJobs, AdmissionTx, NewJob, SubmissionStore } from './submit-job.js';

/** PostgreSQL advisory lock key serializing job admissions (any fixed 64-bit value; "dsadmit" in ASCII). */
const ADMISSION_LOCK = '28274359804979572';

async function activeJobs(m: EntityManager, consumerId: string): Promise<ActiveJobs> {
  const jobs = m.getRepository(JobEntity);
  const active = { status: In([...ACTIVE_JOB_STATUSES]) };
  return { mine: await jobs.count({ where: { ...active, consumerId } }), all: await jobs.count({ where: active }) };
}

/** The consumer's jobs stored for `day` that bind the dataset (one per bound role): what `jobsPerDay` limits. */
export function jobsToday(m: EntityManager, datasetId: string, consumerId: string, day: string): Promise<number> {
  return m
    .getRepository(JobDatasetEntity)
    .createQueryBuilder('jd')
    .innerJoin(JobEntity, 'j', 'j.id = jd.job_id')
    .where('jd.dataset_id = :d AND j.consumer_id = :c AND j.day = :day', { d: datasetId, c: consumerId, day })
    .getCount();
}

/** The broker's database as submission uses it (TypeORM; SQLite or PostgreSQL). */
export class TypeOrmSubmissionStore implements SubmissionStore {
  constructor(private readonly ds: DataSource) {}

  async byIdempotencyKey(consumerId: string, idempotencyKey: string): Promise<{ id: string; status: NewJob['status'] } | null> {
    const prior = await this.ds.getRepository(JobEntity).findOneBy({ consumerId, idempotencyKey });
    return prior ? { id: prior.id, status: prior.status } : null;
  }

  activeJobs(consumerId: string): Promise<ActiveJobs> {
    return activeJobs(this.ds.manager, consumerId);
  }

  admit<T>(work: (tx: AdmissionTx) => Promise<T>): Promise<T> {
    return inTransaction(this.ds, async (m) => {
      if (m.connection.options.type === 'postgres') await m.query('SELECT pg_advisory_xact_lock($1)', [ADMISSION_LOCK]);
      return work({
        activeJobs: (consumerId) => activeJobs(m, consumerId),
        chargeBudget: (datasetId, consumerId, epsilon, budget) => chargeBudget(m, datasetId, consumerId, epsilon, budget),
        jobsToday: (datasetId, consumerId, day) => jobsToday(m, datasetId, consumerId, day),
        insert: (job) => insertJob(m, job),
      });
    });
  }
}

async function chargeBudget(m: EntityManager, datasetId: string, consumerId: string, epsilon: number, budget: number): Promise<boolean> {
  await m.createQueryBuilder().insert().into(BudgetEntity).values({ datasetId, consumerId, spent: 0 }).orIgnore().execute();
  // Guarded update: concurrent jobs can never overspend (the row is locked by the UPDATE in PostgreSQL, and SQLite has
  // a single writer).
  const r = await m
    .createQueryBuilder()
    .update(BudgetEntity)
    .set({ spent: () => `spent + ${Number(epsilon)}` })
    .where('dataset_id = :d AND consumer_id = :c AND spent + :e <= :b', { d: datasetId, c: consumerId, e: epsilon, b: budget })
    .execute();
  return Boolean(r.affected);
}

async function insertJob(m: EntityManager, job: NewJob): Promise<void> {
  const { datasets, privateParams, ...row } = job;
  await m.getRepository(JobEntity).insert({ ...row, error: null, resultMeta: null });
  await m
    .getRepository(JobDatasetEntity)
    .insert(datasets.map(({ role, datasetId }) => ({ jobId: job.id, role, datasetId, status: 'pending', meta: null })));
  for (const [name, blob] of Object.entries(privateParams)) {
    await m.getRepository(JobCiphertextEntity).insert({
      jobId: job.id,
      kind: 'params',
      role: '',
      feature: name,
      chunk: 0,
      blob: Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength),
    });
  }
}
