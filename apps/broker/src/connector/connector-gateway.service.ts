import { Injectable } from '@nestjs/common';
import { z } from 'zod';
import { DataSource, type EntityManager, In, Like } from 'typeorm';
import {
  ACTIVE_JOB_STATUSES,
  AppError,
  type ConnectorJob,
  ConnectorPort,
  type JobProgress,
  type OfferDocument,
  type ProviderReport,
  type RefusalReason,
  type UploadMeta,
  type UploadPart,
  UPLOAD_BATCH_CHUNKS,
  connectorJobSchema,
  readBrokerDocument,
} from '#contracts';
import {
  forUpdate,
  JobCiphertextEntity,
  JobDatasetEntity,
  JobEntity,
  KeysetEntity,
  OfferEntity,
  ScenarioEntity,
  inTransaction,
  purgeJobCiphertexts,
} from '#persistence';
import { type JobRecord, countsWithheld, jobFailedEvent, readJobRecord, transition } from '#jobs';
import { LedgerRecorder } from '#platform';
import { POINT_BYTES, batchLength, intersect } from '#psi';
import { ciphertextBytes } from '#scenario';

const psiSet = (set: number, keys: number): string => `set:${set}:${keys}`;
const psiMatches = (role: string): string => `matches:${role}`;
/** A report as a job whose counts are withheld keeps it: the step and the number of ciphertexts, no rows or bytes. */
function withoutCounts(r: ProviderReport): ProviderReport {
  return { status: r.status, ...(r.ciphertexts === undefined ? {} : { ciphertexts: r.ciphertexts }) };
}

/** A role name as a job binds it: never one of the broker's own `$` entries (`$result`, `$params`, `$psi`, ...). */
function checkRole(role: string): void {
  if (typeof role !== 'string' || role.length === 0 || role.length > 80 || role.startsWith('$') || role.includes('\u0000')) {
    throw new AppError('BAD_REQUEST', 'inputs are uploaded only for a role the job binds; `$` entries are written by the broker alone');
  }
}

/** Deletes every PSI message of a job (blinded sets and match positions). Called whenever a job ends. */
export async function clearPsi(m: EntityManager, jobId: string): Promise<void> {
  await m.getRepository(JobCiphertextEntity).delete({ jobId, kind: 'psi' });
}

/** A job that fails at a provider loses every ciphertext uploaded for it (inputs, private parameters, PSI). */
async function endFailed(m: EntityManager, jobId: string): Promise<void> {
  await purgeJobCiphertexts(m, jobId, { keepResult: false });
}

/**
 * What the broker does for provider connectors (the broker's side of `ConnectorPort`, `#contracts`): catalog
 * offers, job and keyset look-ups, ciphertext uploads, progress and refusals, and its part of the private set
 * intersection. Served over HTTP (ConnectorController, which first checks that the calling connector credential
 * owns what it touches: ConnectorAccess) to connectors deployed apart, and handed by the composition root
 * (apps/cli) to a connector running in the same process or on the same database. Refusals are AppErrors, so over
 * HTTP each answers its 4xx (a job that does not exist: 404).
 */
/** The stored plan's features of one role, read narrowly: an upload part does not re-parse the whole plan (its keys). */
const roleFeaturesSchema = z.object({
  roles: z.record(z.string(), z.object({ features: z.array(z.object({ id: z.string(), layout: z.enum(['totals', 'aligned']) })) })),
});

/**
 * The layouts of a role's features in a job's plan. A plan this broker cannot read (compiled by an earlier
 * version, whose blocked features were per-row blocks) is a conflict the consumer resolves by resubmitting.
 */
function roleFeatures(job: JobEntity, role: string): Map<string, 'totals' | 'aligned'> {
  const p = roleFeaturesSchema.safeParse(job.plan);
  if (!p.success)
    throw new AppError(
      'CONFLICT',
      `job ${job.id} has a plan this broker cannot take inputs for (compiled by an earlier version): resubmit it`,
    );
  return new Map((p.data.roles[role]?.features ?? []).map((f) => [f.id, f.layout]));
}

@Injectable()
export class ConnectorGateway extends ConnectorPort {
  constructor(
    private readonly ds: DataSource,
    private readonly ledger: LedgerRecorder,
  ) {
    super();
  }

  /** In process no credential is used. */
  boundConnectorId(): Promise<string | null> {
    return Promise.resolve(null);
  }

  async publishOffer(o: OfferDocument): Promise<void> {
    await this.ds.getRepository(OfferEntity).upsert({ ...o }, ['datasetId']);
  }

  /**
   * The job as a connector sees it, checked against the protocol's schema as a connector deployed apart checks
   * it (a stored plan or scenario that is not one is refused by the connector: BrokerDocumentError).
   */
  async job(jobId: string): Promise<ConnectorJob | null> {
    const j = await this.ds.getRepository(JobEntity).findOneBy({ id: jobId });
    if (!j || !j.plan) return null;
    const s = await this.ds.getRepository(ScenarioEntity).findOneBy({ id: j.scenarioId, version: j.scenarioVersion });
    if (!s) return null;
    return readBrokerDocument(
      connectorJobSchema,
      {
        id: j.id,
        consumerId: j.consumerId,
        purpose: j.purpose,
        status: j.status,
        scenarioId: j.scenarioId,
        scenarioVersion: j.scenarioVersion,
        bindings: j.bindings,
        plan: j.plan,
        scenario: s.document,
        keysetId: j.keysetId,
        countsWithheld: countsWithheld(j),
      },
      'job',
    );
  }

  async publicKeyset(keysetId: string): Promise<Uint8Array> {
    const k = await this.ds.getRepository(KeysetEntity).findOneBy({ id: keysetId });
    if (!k) throw new AppError('NOT_FOUND', `no keyset ${keysetId}`);
    return new Uint8Array(k.blob);
  }

  /**
   * The job, refused unless a provider may still act on it. In a transaction on PostgreSQL its row is locked
   * (SELECT ... FOR UPDATE), so writes about one job are serialized there as SQLite serializes every write.
   */
  private async openJob(m: EntityManager, jobId: string, lock = true): Promise<JobEntity> {
    const j = await m.getRepository(JobEntity).findOne({ where: { id: jobId }, ...(lock ? forUpdate(m) : {}) });
    if (!j) throw new AppError('NOT_FOUND', `no job ${jobId}`);
    if (!ACTIVE_JOB_STATUSES.includes(j.status))
      throw new AppError('CONFLICT', `job ${jobId} is ${j.status}: its inputs can no longer change`);
    return j;
  }

  /**
   * The job, refused unless its inputs are still being uploaded (queued or encrypting): once the evaluation has
   * started it reads the committed inputs feature by feature, and a commit then would mix two uploads.
   */
  private async openJobForUpload(m: EntityManager, jobId: string): Promise<JobEntity> {
    const j = await this.openJob(m, jobId);
    if (j.status !== 'queued' && j.status !== 'encrypting')
      throw new AppError('CONFLICT', `job ${jobId} is ${j.status}: its inputs can no longer change`);
    return j;
  }

  /**
   * Uploads are staged: parts are stored as kind `staging` for the role as they are encrypted (the connector never holds a
   * role's whole set of ciphertexts), and `commitUpload` turns them into the role's `input` in one
   * transaction. `beginUpload` clears what an interrupted attempt left, so a retried task ends with exactly
   * one set of ciphertexts. Only a role the job binds, and only while the job waits for its inputs.
   */
  async beginUpload(jobId: string, role: string): Promise<void> {
    checkRole(role);
    await inTransaction(this.ds, async (m) => {
      await this.openJobForUpload(m, jobId);
      await m.getRepository(JobCiphertextEntity).delete({ jobId, kind: 'staging', role });
    });
  }

  async uploadPart(jobId: string, role: string, part: UploadPart): Promise<void> {
    checkRole(role);
    for (const f of part.features) {
      if (typeof f.id !== 'string' || f.id.length === 0 || f.id.length > 100 || f.id.includes('\u0000'))
        throw new AppError('BAD_REQUEST', 'a feature id is 1..100 characters, no NUL');
      if (!Number.isSafeInteger(f.first) || f.first < 0 || f.first + f.chunks.length > 2 ** 31 - 1)
        throw new AppError('BAD_REQUEST', 'chunk index out of range');
    }
    const seen = new Set<string>();
    for (const [k, f] of part.features.entries()) {
      if (seen.has(f.id))
        throw new AppError('BAD_REQUEST', `feature ${f.id} appears twice in one part`, [
          { path: `/features/${k}/id`, message: 'duplicate' },
        ]);
      seen.add(f.id);
    }
    await inTransaction(this.ds, async (m) => {
      const job = await this.openJobForUpload(m, jobId);
      // only the plan's features of this role; a TOTALS feature (group totals summed by the provider) is one ciphertext
      const features = roleFeatures(job, role);
      for (const [k, f] of part.features.entries()) {
        const layout = features.get(f.id);
        if (!layout)
          throw new AppError('BAD_REQUEST', `the plan has no feature ${f.id} for role ${role}`, [
            { path: `/features/${k}/id`, message: 'unknown feature' },
          ]);
        if (layout === 'totals' && f.first + f.chunks.length > 1)
          throw new AppError('BAD_REQUEST', `feature ${f.id} holds group totals: one ciphertext`, [
            { path: `/features/${k}/chunks`, message: 'more than one chunk' },
          ]);
      }
      for (const f of part.features) {
        for (let i = 0; i < f.chunks.length; i++) {
          const c = f.chunks[i]!;
          await m.getRepository(JobCiphertextEntity).insert({
            jobId,
            kind: 'staging',
            role,
            feature: f.id,
            chunk: f.first + i,
            blob: Buffer.from(c.buffer, c.byteOffset, c.byteLength),
          });
        }
      }
    });
  }

  async commitUpload(jobId: string, role: string, meta: UploadMeta): Promise<void> {
    checkRole(role);
    await inTransaction(this.ds, async (m) => {
      const job = await this.openJobForUpload(m, jobId);
      if (!(await m.getRepository(JobDatasetEntity).findOneBy({ jobId, role })))
        throw new AppError('NOT_FOUND', `job ${jobId} binds no role ${role}`);
      // what is staged, per feature: in all as many as the connector says it sent, and every feature of the role's
      // plan there, a TOTALS feature as exactly one ciphertext
      const perFeature = new Map(
        (
          await m
            .getRepository(JobCiphertextEntity)
            .createQueryBuilder('c')
            .select('c.feature', 'feature')
            .addSelect('COUNT(*)', 'n')
            .where("c.job_id = :jobId AND c.kind = 'staging' AND c.role = :role", { jobId, role })
            .groupBy('c.feature')
            .getRawMany<{ feature: string; n: number | string }>()
        ).map((r) => [r.feature, Number(r.n)]),
      );
      const staged = [...perFeature.values()].reduce((a, n) => a + n, 0);
      if (staged !== meta.ciphertexts)
        throw new AppError('CONFLICT', `upload incomplete: ${staged} of ${meta.ciphertexts} ciphertexts staged`);
      for (const [id, layout] of roleFeatures(job, role)) {
        const n = perFeature.get(id) ?? 0;
        if (n === 0 || (layout === 'totals' && n !== 1))
          throw new AppError(
            'CONFLICT',
            `upload incomplete: feature ${id} has ${n} ciphertexts staged${layout === 'totals' ? ', expected 1' : ''}`,
          );
      }
      await m.getRepository(JobCiphertextEntity).delete({ jobId, kind: 'input', role });
      await m
        .createQueryBuilder()
        .update(JobCiphertextEntity)
        .set({ kind: 'input' })
        .where("job_id = :jobId AND kind = 'staging' AND role = :role", { jobId, role })
        .execute();
      await m.getRepository(JobDatasetEntity).update({ jobId, role }, { status: 'encrypted', meta });
    });
    await this.reportProgress(jobId, role, { status: 'encrypted', ciphertexts: meta.ciphertexts, bytes: meta.bytes });
  }

  /**
   * Progress of a running job; a job that ended keeps the progress it ended with. A job whose counts are withheld
   * keeps no row count, missing-key count or upload size in its progress (the consumer reads it).
   */
  async reportProgress(jobId: string, role: string, reported: ProviderReport): Promise<void> {
    await inTransaction(this.ds, async (m) => {
      // locked: two providers report at once, and each merges its role into the progress the other wrote
      const j = await m.getRepository(JobEntity).findOne({ where: { id: jobId }, ...forUpdate(m) });
      if (!j || !ACTIVE_JOB_STATUSES.includes(j.status)) return;
      const report = countsWithheld(j) ? withoutCounts(reported) : reported;
      // as stored, not as typed: a row written by an earlier version (or by hand) may have no `providers`
      const stored: Partial<JobProgress> = j.progress;
      const providers = stored.providers ?? {};
      const p: JobProgress = {
        ...j.progress,
        providers: { ...providers, [role]: { ...providers[role], ...report } },
      };
      // a provider's first report starts the encryption stage
      const started = j.status === 'queued' ? transition(j, 'encrypting') : {};
      if (j.status === 'queued' || j.status === 'encrypting') p.stage = 'encrypting';
      await m.getRepository(JobEntity).update({ id: jobId }, { progress: p, ...started });
    });
  }

  /** A provider could not encrypt: the job fails, unless it already ended (a completed job stays completed). */
  async reportFailure(jobId: string, role: string, message: string): Promise<void> {
    await inTransaction(this.ds, async (m) => {
      const j = await this.openJob(m, jobId);
      await m.getRepository(JobDatasetEntity).update({ jobId, role }, { status: 'failed' });
      await m.getRepository(JobEntity).update(
        { id: jobId, status: In([...ACTIVE_JOB_STATUSES]) },
        {
          ...transition(j, 'failed'),
          error: { code: 'PROVIDER_FAILED', message: `the provider of role ${role} could not encrypt its inputs: ${message}` },
        },
      );
      await endFailed(m, jobId);
    });
  }

  async reportRefusal(jobId: string, role: string, reasons: RefusalReason[]): Promise<void> {
    await inTransaction(this.ds, async (m) => {
      const j = await this.openJob(m, jobId);
      await m.getRepository(JobDatasetEntity).update({ jobId, role }, { status: 'refused' });
      await m.getRepository(JobEntity).update(
        { id: jobId, status: In([...ACTIVE_JOB_STATUSES]) },
        {
          ...transition(j, 'failed'),
          error: {
            code: 'PROVIDER_REFUSED',
            message: `the provider of role ${role} refused to encrypt its inputs`,
            details: reasons,
          },
        },
      );
      await endFailed(m, jobId);
    });
  }

  /*
   * Private set intersection (ECDH-PSI, libs/psi: H(x)^{a_1...a_k} with commutative exponentiation, Meadows 1986;
   * Huberman, Franklin, Hogg 1999; DDH in the group, H a random oracle, RFC 9380 hash-to-curve). The parties are the
   * job's aligned roles in sorted order; party i sends its own set blinded once (set i, 1 key). Set s then visits
   * parties s+1, ..., s+k-1 (mod k), one re-blinding each. The broker routes: a party is given a set only when it
   * must apply the next key to it, so it never holds a set it could compare with its own, and never a fully
   * blinded one. The broker intersects the k fully blinded sets itself, keeps for each party only the positions of
   * its own matched points (in one order shared by all parties, that of the blinded bytes) and deletes every
   * blinded set at once; the positions go when the job ends.
   */

  /** The aligned roles of a running job (PSI parties in order) and the index of `role`, or a refusal. */
  private async psiParty(
    m: EntityManager,
    jobId: string,
    role: string,
    lock = true,
  ): Promise<{ job: JobRecord<JobEntity>; roles: string[]; me: number }> {
    const job = readJobRecord(await this.openJob(m, jobId, lock));
    const align = job.plan.align;
    if (!align || align.keys) throw new AppError('CONFLICT', `job ${jobId} does not align by private set intersection`);
    const roles = Object.keys(align.on).sort();
    const me = roles.indexOf(role);
    if (me < 0) throw new AppError('FORBIDDEN', `role ${role} is not a party of job ${jobId}'s intersection`);
    return { job, roles, me };
  }

  /**
   * Party `role` posts set `set` carrying `keys` keys: its own set blinded once (`set` = its index, `keys` = 1), or
   * another party's set it was given with `keys - 1` keys, now re-blinded with its own. Its own set holds at most
   * as many points as its dataset has rows (a larger set could probe for ids it does not hold), each point once.
   * Every step is taken once.
   */
  async psiSubmit(jobId: string, role: string, set: number, keys: number, points: Uint8Array): Promise<void> {
    let n: number;
    try {
      n = batchLength(points, 'set');
    } catch {
      throw new AppError('BAD_REQUEST', `a blinded set is a multiple of ${POINT_BYTES} bytes`);
    }
    await inTransaction(this.ds, async (m) => {
      const { job, roles, me } = await this.psiParty(m, jobId, role);
      const k = roles.length;
      if (!Number.isSafeInteger(set) || set < 0 || set >= k || !Number.isSafeInteger(keys) || keys < 1 || keys > k)
        throw new AppError('BAD_REQUEST', 'no such set or step');
      const repo = m.getRepository(JobCiphertextEntity);
      if (keys === 1) {
        if (set !== me) throw new AppError('FORBIDDEN', 'a party posts only its own set blinded once');
        const jd = await m.getRepository(JobDatasetEntity).findOneBy({ jobId, role });
        const offer = jd ? await m.getRepository(OfferEntity).findOneBy({ datasetId: jd.datasetId }) : null;
        if (!offer || n > offer.rowCount)
          throw new AppError(
            'UNPROCESSABLE',
            `a party's set holds at most its dataset's row count (${offer?.rowCount ?? 0}) of points; got ${n}`,
          );
        const seen = new Set<string>();
        for (let i = 0; i < n; i++)
          seen.add(Buffer.from(points.buffer, points.byteOffset + i * POINT_BYTES, POINT_BYTES).toString('latin1'));
        if (seen.size !== n) throw new AppError('UNPROCESSABLE', 'a blinded set holds each point once');
      } else {
        if (set === me || (set + keys - 1) % k !== me)
          throw new AppError('FORBIDDEN', `set ${set} with ${keys} keys is not this party's to blind`);
        const prev = await repo.findOneBy({ jobId, kind: 'psi', feature: psiSet(set, keys - 1), chunk: 0 });
        if (!prev) throw new AppError('CONFLICT', `set ${set} with ${keys - 1} keys was not posted`);
        if (prev.blob.length !== points.length)
          throw new AppError('UNPROCESSABLE', `set ${set} had ${prev.blob.length / POINT_BYTES} points, got ${n}`);
      }
      // Each step once: a party that re-posted with a fresh key (a retried task) would pair positions with the wrong
      // order and misalign rows without any error; refusing it fails the job instead.
      const again = await repo.countBy({ jobId, kind: 'psi', feature: In([psiSet(set, keys), ...roles.map(psiMatches)]) });
      if (again)
        throw new AppError(
          'CONFLICT',
          "this step of the intersection was already taken: a party joins a job's intersection once, and a retried task cannot rejoin it",
        );
      await repo.insert({
        jobId,
        kind: 'psi',
        role: '',
        feature: psiSet(set, keys),
        chunk: 0,
        blob: Buffer.from(points.buffer, points.byteOffset, points.byteLength),
      });
      if (keys === k) await this.psiIntersect(m, job, roles);
    });
  }

  /** Once every set carries every key: the positions of each party's matches, then no blinded set is kept. */
  private async psiIntersect(m: EntityManager, job: JobRecord<JobEntity>, roles: string[]): Promise<void> {
    const repo = m.getRepository(JobCiphertextEntity);
    const k = roles.length;
    const full = await repo.findBy({ jobId: job.id, kind: 'psi', feature: In(roles.map((_, s) => psiSet(s, k))), chunk: 0 });
    if (full.length < k) return;
    const bySet = new Map(full.map((r) => [r.feature, new Uint8Array(r.blob)]));
    let result;
    try {
      result = intersect(roles.map((_, s) => bySet.get(psiSet(s, k))!));
    } catch (e) {
      throw new AppError('UNPROCESSABLE', `the blinded sets cannot be intersected: ${(e as Error).message}`);
    }
    await repo.delete({ jobId: job.id, kind: 'psi', feature: Like('set:%') });
    // The intersection's size is known now: under an aligned dataset's minAlignedKeys the job fails here, before any
    // party learns its matches or encrypts anything. The failure names the minimum, never the size.
    const min = await this.minAlignedKeys(m, job.id, roles);
    const size = result.positions[0]?.length ?? 0;
    if (min > 0 && size < min) {
      const message = `the private set intersection has fewer keys than a bound dataset's policy requires (minAlignedKeys ${min})`;
      await m.getRepository(JobEntity).update({ id: job.id }, { ...transition(job, 'failed'), error: { code: 'TOO_FEW_KEYS', message } });
      await endFailed(m, job.id);
      // last in the transaction: a failure that cannot be recorded does not happen
      await this.ledger.record(jobFailedEvent(job, { code: 'TOO_FEW_KEYS', minAlignedKeys: min }));
      return;
    }
    for (const [i, role] of roles.entries()) {
      await repo.insert({
        jobId: job.id,
        kind: 'psi',
        role: '',
        feature: psiMatches(role),
        chunk: 0,
        blob: Buffer.from(JSON.stringify(result.positions[i]), 'utf8'),
      });
    }
  }

  /** The largest `minAlignedKeys` of the datasets bound to the job's aligned roles (0: none). */
  private async minAlignedKeys(m: EntityManager, jobId: string, roles: string[]): Promise<number> {
    const bound = await m.getRepository(JobDatasetEntity).findBy({ jobId, role: In(roles) });
    const offers = bound.length ? await m.getRepository(OfferEntity).findBy({ datasetId: In(bound.map((b) => b.datasetId)) }) : [];
    return Math.max(0, ...offers.map((o) => o.policy.minAlignedKeys ?? 0));
  }

  /** The largest blinded set a party of the job may post: its largest bound dataset's row count, in bytes. */
  /**
   * The largest body one upload part of the job may have: UPLOAD_BATCH_CHUNKS fresh ciphertexts of the plan
   * (a quarter more for SEAL's and the engine's framing) and the part's header; 0 for an unknown job.
   */
  async partMaxBytes(jobId: string): Promise<number> {
    const j = await this.ds.getRepository(JobEntity).findOneBy({ id: jobId });
    if (!j) return 0;
    return UPLOAD_BATCH_CHUNKS * Math.ceil(ciphertextBytes(readJobRecord(j).plan) * 1.25 + 4096) + 65_536;
  }

  async psiMaxBytes(jobId: string): Promise<number> {
    const bound = await this.ds.getRepository(JobDatasetEntity).findBy({ jobId });
    const offers = bound.length ? await this.ds.getRepository(OfferEntity).findBy({ datasetId: In(bound.map((b) => b.datasetId)) }) : [];
    return Math.max(0, ...offers.map((o) => o.rowCount)) * POINT_BYTES;
  }

  /** The set `set` with `keys` keys, for the one party that must apply the next key to it; null until posted. */
  async psiTask(jobId: string, role: string, set: number, keys: number): Promise<Uint8Array | null> {
    const { roles, me } = await this.psiParty(this.ds.manager, jobId, role, false);
    const k = roles.length;
    if (!Number.isSafeInteger(set) || set < 0 || set >= k || !Number.isSafeInteger(keys) || keys < 1 || keys >= k)
      throw new AppError('BAD_REQUEST', 'no such set or step');
    if (set === me || (set + keys) % k !== me) throw new AppError('FORBIDDEN', `set ${set} with ${keys} keys is not this party's to blind`);
    const r = await this.ds.getRepository(JobCiphertextEntity).findOneBy({ jobId, kind: 'psi', feature: psiSet(set, keys), chunk: 0 });
    return r ? new Uint8Array(r.blob) : null;
  }

  /** Positions, in the batch party `role` sent, of its points in the intersection (shared order); null until known. */
  async psiMatches(jobId: string, role: string): Promise<number[] | null> {
    await this.psiParty(this.ds.manager, jobId, role, false);
    const r = await this.ds.getRepository(JobCiphertextEntity).findOneBy({ jobId, kind: 'psi', feature: psiMatches(role), chunk: 0 });
    return r ? (JSON.parse(Buffer.from(r.blob).toString('utf8')) as number[]) : null;
  }
}
