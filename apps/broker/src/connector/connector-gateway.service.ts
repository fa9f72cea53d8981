import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { JobCiphertextEntity, JobDatasetEntity, JobEntity, KeysetEntity, OfferEntity, ScenarioEntity, inTransaction } from '#persistence';
import type { JobForProvider, OfferDocument, UploadPart, UploadedInputs } from '../../../provider/src/ports.js';

const staging = (role: string): string => `$staging:${role}`;

/**
 * What the broker does for provider connectors: catalog offers, job and keyset look-ups, ciphertext uploads,
 * progress and refusals, and the PSI mailbox. Served over HTTP (ConnectorController) to connectors deployed
 * apart, and called directly by a connector running in the same process.
 */
@Injectable()
export class ConnectorGateway {
  constructor(private readonly ds: DataSource) {}

  async publishOffer(o: OfferDocument): Promise<void> {
    await this.ds.getRepository(OfferEntity).upsert({ ...o } as never, ['datasetId']);
  }

  async job(jobId: string): Promise<JobForProvider | null> {
    const j = await this.ds.getRepository(JobEntity).findOneBy({ id: jobId });
    if (!j || !j.plan) return null;
    const s = await this.ds.getRepository(ScenarioEntity).findOneBy({ id: j.scenarioId, version: j.scenarioVersion });
    if (!s) return null;
    return { id: j.id, consumerId: j.consumerId, purpose: j.purpose, status: j.status, scenarioId: j.scenarioId, bindings: j.bindings, plan: j.plan, scenario: s.document, keysetId: j.keysetId };
  }

  async publicKeyset(keysetId: string): Promise<Uint8Array> {
    const k = await this.ds.getRepository(KeysetEntity).findOneByOrFail({ id: keysetId });
    return new Uint8Array(k.blob);
  }

  /**
   * Uploads are staged: parts go to `$staging:<role>` as they are encrypted (the connector never holds a
   * role's whole set of ciphertexts), and `commitUpload` swaps them in for the role's inputs in one
   * transaction. `beginUpload` clears what an interrupted attempt left, so a retried task ends with exactly
   * one set of ciphertexts.
   */
  async beginUpload(jobId: string, role: string): Promise<void> {
    await inTransaction(this.ds, (m) => m.getRepository(JobCiphertextEntity).delete({ jobId, role: staging(role) }).then(() => undefined));
  }

  async uploadPart(jobId: string, role: string, part: UploadPart): Promise<void> {
    await inTransaction(this.ds, async (m) => {
      for (const f of part.features) {
        for (let i = 0; i < f.chunks.length; i++) {
          const c = f.chunks[i]!;
          await m.getRepository(JobCiphertextEntity).insert({ jobId, role: staging(role), feature: f.id, chunk: f.first + i, blob: Buffer.from(c.buffer, c.byteOffset, c.byteLength) });
        }
      }
    });
  }

  async commitUpload(jobId: string, role: string, meta: UploadedInputs['meta']): Promise<void> {
    await inTransaction(this.ds, async (m) => {
      const staged = await m.getRepository(JobCiphertextEntity).count({ where: { jobId, role: staging(role) } });
      if (staged !== meta.ciphertexts) throw new Error(`upload incomplete: ${staged} of ${meta.ciphertexts} ciphertexts staged`);
      await m.getRepository(JobCiphertextEntity).delete({ jobId, role });
      await m.createQueryBuilder().update(JobCiphertextEntity).set({ role }).where('job_id = :jobId AND role = :staged', { jobId, staged: staging(role) }).execute();
      await m.getRepository(JobDatasetEntity).update({ jobId, role }, { status: 'encrypted', meta: meta as never });
    });
    await this.reportProgress(jobId, role, { status: 'encrypted', ciphertexts: meta.ciphertexts, bytes: meta.bytes });
  }

  async reportProgress(jobId: string, role: string, progress: Record<string, unknown>): Promise<void> {
    await inTransaction(this.ds, async (m) => {
      const j = await m.getRepository(JobEntity).findOneBy({ id: jobId });
      if (!j) return;
      const p = { ...(j.progress as { providers?: Record<string, Record<string, unknown>> }) } as Record<string, unknown> & { providers?: Record<string, Record<string, unknown>> };
      p.providers = { ...(p.providers ?? {}), [role]: { ...(p.providers?.[role] ?? {}), ...progress } };
      const status = j.status === 'queued' ? 'encrypting' : j.status;
      if (status === 'encrypting') p.stage = 'encrypting';
      await m.getRepository(JobEntity).update({ id: jobId }, { progress: p as never, status });
    });
  }

  async reportFailure(jobId: string, role: string, message: string): Promise<void> {
    await inTransaction(this.ds, async (m) => {
      await m.getRepository(JobDatasetEntity).update({ jobId, role }, { status: 'failed' });
      await m.getRepository(JobEntity).update({ id: jobId }, { status: 'failed', error: { code: 'PROVIDER_FAILED', message: `the provider of role ${role} could not encrypt its inputs: ${message}` } as never });
    });
  }

  async psiPut(jobId: string, key: string, bytes: Uint8Array): Promise<void> {
    await inTransaction(this.ds, async (m) => {
      await m.getRepository(JobCiphertextEntity).delete({ jobId, role: '$psi', feature: key, chunk: 0 });
      await m.getRepository(JobCiphertextEntity).insert({ jobId, role: '$psi', feature: key, chunk: 0, blob: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) });
    });
  }

  async psiGet(jobId: string, key: string): Promise<Uint8Array | null> {
    const r = await this.ds.getRepository(JobCiphertextEntity).findOneBy({ jobId, role: '$psi', feature: key, chunk: 0 });
    return r ? new Uint8Array(r.blob) : null;
  }

  async reportRefusal(jobId: string, role: string, reasons: { code: string; message: string }[]): Promise<void> {
    await inTransaction(this.ds, async (m) => {
      await m.getRepository(JobDatasetEntity).update({ jobId, role }, { status: 'refused' });
      await m.getRepository(JobEntity).update({ id: jobId }, {
        status: 'failed', error: { code: 'PROVIDER_REFUSED', message: `the provider of role ${role} refused to encrypt its inputs`, details: reasons } as never,
      });
    });
  }
}
