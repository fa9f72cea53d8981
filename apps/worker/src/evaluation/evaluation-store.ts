import { DataSource, In } from 'typeorm';
import { type ResultMeta, isTerminalJobStatus } from '#contracts';
import { transition } from '#jobs';
import {
  forUpdate,
  JobCiphertextEntity,
  JobDatasetEntity,
  JobEntity,
  KeysetEntity,
  OfferEntity,
  inTransaction,
  purgeJobCiphertexts,
} from '#persistence';
import type { EvaluationJobRow, EvaluationStore, JobChange } from './evaluate-job.js';

/** The broker's database as evaluation uses it (TypeORM; SQLite or PostgreSQL). */
export class TypeOrmEvaluationStore implements EvaluationStore {
  constructor(private readonly ds: DataSource) {}

  job(id: string): Promise<EvaluationJobRow | null> {
    return this.ds.getRepository(JobEntity).findOneBy({ id });
  }

  roles(jobId: string): Promise<JobDatasetEntity[]> {
    return this.ds.getRepository(JobDatasetEntity).findBy({ jobId });
  }

  async keyset(id: string): Promise<Uint8Array> {
    const keyset = await this.ds.getRepository(KeysetEntity).findOneByOrFail({ id });
    return new Uint8Array(keyset.blob);
  }

  async ciphertexts(jobId: string): Promise<Awaited<ReturnType<EvaluationStore['ciphertexts']>>> {
    const inputs: Record<string, Record<string, Uint8Array[]>> = {};
    const privateParams: Record<string, Uint8Array> = {};
    // Which committed inputs and private parameters exist, without their bytes; then the bytes of each. Uploads in
    // progress (`staging`), the intersection's messages (`psi`) and earlier outputs (`result`) are not read.
    const sets: { kind: 'input' | 'params'; role: string; feature: string }[] = await this.ds
      .getRepository(JobCiphertextEntity)
      .createQueryBuilder('c')
      .select('c.kind', 'kind')
      .addSelect('c.role', 'role')
      .addSelect('c.feature', 'feature')
      .where("c.job_id = :id AND c.kind IN ('input', 'params')", { id: jobId })
      .groupBy('c.kind')
      .addGroupBy('c.role')
      .addGroupBy('c.feature')
      .getRawMany();
    for (const { kind, role, feature } of sets) {
      const rows = await this.ds
        .getRepository(JobCiphertextEntity)
        .find({ where: { jobId, kind, role, feature }, order: { chunk: 'ASC' } });
      for (const c of rows) {
        const bytes = new Uint8Array(c.blob);
        if (kind === 'params') privateParams[feature] = bytes;
        else ((inputs[role] ??= {})[feature] ??= []).push(bytes);
      }
    }
    return { inputs, privateParams };
  }

  async minAlignedKeys(datasetIds: string[]): Promise<number> {
    const offers = await this.ds.getRepository(OfferEntity).findBy({ datasetId: In(datasetIds) });
    return Math.max(0, ...offers.map((o) => o.policy.minAlignedKeys ?? 0));
  }

  /**
   * Merges `progress` into the job's and, with `to`, moves it to that status (`transition`, checked against the state
   * the same transaction reads). With `unlessEnded`, a job that already ended is left as it is.
   */
  async update(id: string, change: JobChange): Promise<void> {
    await inTransaction(this.ds, async (m) => {
      const j = await m.getRepository(JobEntity).findOne({ where: { id }, ...forUpdate(m) });
      if (!j || (change.unlessEnded && isTerminalJobStatus(j.status))) return;
      await m.getRepository(JobEntity).update(
        { id },
        {
          ...(change.to ? transition(j, change.to) : {}),
          ...(change.error !== undefined ? { error: change.error } : {}),
          ...(change.progress ? { progress: { ...j.progress, ...change.progress } } : {}),
        },
      );
    });
  }

  async complete(jobId: string, outputs: Record<string, Uint8Array>, resultMeta: ResultMeta, evaluationMs: number): Promise<void> {
    await inTransaction(this.ds, async (m) => {
      // the job row first, as every other writer of a job takes it (the connector's upload commit): no lock-order deadlock
      const j = await m.getRepository(JobEntity).findOneOrFail({ where: { id: jobId }, ...forUpdate(m) });
      await m.getRepository(JobCiphertextEntity).delete({ jobId, kind: 'result' });
      // Inputs, private parameters and the intersection's messages go with the job: only
      // the released outputs stay (README, threat model).
      await purgeJobCiphertexts(m, jobId, { keepResult: false });
      for (const [id, ct] of Object.entries(outputs)) {
        await m
          .getRepository(JobCiphertextEntity)
          .insert({ jobId, kind: 'result', role: '', feature: id, chunk: 0, blob: Buffer.from(ct.buffer, ct.byteOffset, ct.byteLength) });
      }
      await m.getRepository(JobEntity).update(
        { id: jobId },
        {
          ...transition(j, 'completed'),
          resultMeta,
          progress: { ...j.progress, stage: 'completed', evaluation: { status: 'done', ms: evaluationMs } },
        },
      );
    });
  }

  async purge(jobId: string): Promise<void> {
    await inTransaction(this.ds, (m) => purgeJobCiphertexts(m, jobId, { keepResult: false }));
  }
}
