/**
 * Item 6, second look: the broker's evaluation task replayed in this process on the job's stored
 * ciphertexts (apps/worker evaluation/he-task.ts `runHeTask`, one thread, no pre-reduction), with its
 * parts timed apart: reading the ciphertexts from the database, decoding and loading the public
 * keyset, and the circuit. Separates HE work from the worker's orchestration overhead.
 */
import { type DataSource, In } from 'typeorm';
import { JobCiphertextEntity, JobDatasetEntity, JobEntity, KeysetEntity } from '#persistence';
import { HeEngine, decodePublicKeyset } from '#he-core';
import { readJobRecord } from '#jobs';
import { runHeTask } from '../../apps/worker/src/evaluation/he-task.js';

export interface EvalProbe {
  dbReadMs: number;
  bytes: number;
  keysetDecodeMs: number;
  keysetLoadMs: number;
  taskMs: number;
  taskAgainMs: number;
}

export async function probeEvaluation(ds: DataSource, jobId: string): Promise<EvalProbe> {
  let t = performance.now();
  const job = await ds.getRepository(JobEntity).findOneByOrFail({ id: jobId });
  const keyset = await ds.getRepository(KeysetEntity).findOneByOrFail({ id: job.keysetId });
  const all = await ds
    .getRepository(JobCiphertextEntity)
    .find({ where: { jobId, kind: In(['input', 'params']) }, order: { kind: 'ASC', role: 'ASC', feature: 'ASC', chunk: 'ASC' } });
  const roles = await ds.getRepository(JobDatasetEntity).findBy({ jobId });
  const dbReadMs = performance.now() - t;
  const inputs: Record<string, Record<string, Uint8Array[]>> = {};
  const privateParams: Record<string, Uint8Array> = {};
  let bytes = 0;
  for (const c of all) {
    const b = new Uint8Array(c.blob);
    bytes += b.length;
    if (c.kind === 'params') privateParams[c.feature] = b;
    else ((inputs[c.role] ??= {})[c.feature] ??= []).push(b);
  }
  const groupCounts: Record<string, Record<string, number[]>> = {};
  for (const r of roles) groupCounts[r.role] = r.meta?.groupCounts ?? {};
  const { plan } = readJobRecord(job);
  const pkBytes = new Uint8Array(keyset.blob);
  t = performance.now();
  const pub = decodePublicKeyset(pkBytes);
  const keysetDecodeMs = performance.now() - t;
  const engine = await HeEngine.create(plan.params);
  try {
    t = performance.now();
    engine.releaseKeys(engine.usePublicKeyset(pub));
    const keysetLoadMs = performance.now() - t;
    const task = { kind: 'evaluate' as const, plan, publicKeyset: pkBytes, inputs, privateParams, groupCounts };
    t = performance.now();
    await runHeTask(task);
    const taskMs = performance.now() - t;
    t = performance.now();
    await runHeTask(task);
    const taskAgainMs = performance.now() - t;
    return { dbReadMs, bytes, keysetDecodeMs, keysetLoadMs, taskMs, taskAgainMs };
  } finally {
    engine.dispose();
  }
}
