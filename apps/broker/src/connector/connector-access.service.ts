import { Injectable } from '@nestjs/common';
import canonicalize from 'canonicalize';
import { DataSource, In } from 'typeorm';
import { AppError, type OfferDocument, type Principal } from '#contracts';
import { validateDatasetDocument } from '#dataset';
import { JobDatasetEntity, JobEntity, OfferEntity, inTransaction } from '#persistence';
import { LedgerRecorder, ParticipantsStore } from '#platform';

const same = (a: unknown, b: unknown): boolean => canonicalize(a) === canonicalize(b);
/** A job or keyset id as the broker makes them (no id it stores is longer, none holds a control character). */
const ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * What a `connector` credential may touch over HTTP: only for the connector it is bound to (participants.connector_id),
 * only the offers of that connector, and only the jobs that bind one of its datasets (its roles' inputs, its
 * progress and refusals, its side of the intersection). A job that binds none of its datasets answers 404, as if
 * it did not exist; a role of such a job that is not its own answers 403.
 */
@Injectable()
export class ConnectorAccess {
  constructor(
    private readonly ds: DataSource,
    private readonly ledger: LedgerRecorder,
    private readonly participants: ParticipantsStore,
  ) {}

  /** The connector a credential acts for; an admin or a connector credential without one acts for none. */
  connectorOf(who: Principal): string {
    if (who.role !== 'connector' || !who.connectorId)
      throw new AppError('FORBIDDEN', 'only a connector credential bound to a connector id acts on connector routes');
    return who.connectorId;
  }

  /** The roles of job `jobId` bound to datasets of `who`'s connector; 404 when there are none (or no such job). */
  async ownRoles(who: Principal, jobId: string): Promise<string[]> {
    const connectorId = this.connectorOf(who);
    if (!ID.test(jobId)) throw new AppError('NOT_FOUND', 'no such job');
    const bound = await this.ds.getRepository(JobDatasetEntity).findBy({ jobId });
    const offers = bound.length ? await this.ds.getRepository(OfferEntity).findBy({ datasetId: In(bound.map((b) => b.datasetId)) }) : [];
    const mine = new Set(offers.filter((o) => o.connectorId === connectorId).map((o) => o.datasetId));
    const roles = bound.filter((b) => mine.has(b.datasetId)).map((b) => b.role);
    if (roles.length === 0) throw new AppError('NOT_FOUND', `no job ${jobId}`);
    return roles;
  }

  /** Refuses unless `role` of job `jobId` is bound to a dataset of `who`'s connector. */
  async ownRole(who: Principal, jobId: string, role: string): Promise<void> {
    const roles = await this.ownRoles(who, jobId);
    if (!roles.includes(role)) throw new AppError('FORBIDDEN', `role ${role} of job ${jobId} is not bound to a dataset of this connector`);
  }

  /** A keyset, for a connector with a job that names it and binds one of its datasets. */
  async ownKeyset(who: Principal, keysetId: string): Promise<void> {
    const connectorId = this.connectorOf(who);
    if (!ID.test(keysetId)) throw new AppError('NOT_FOUND', 'no such keyset');
    const n = await this.ds
      .getRepository(JobEntity)
      .createQueryBuilder('j')
      .innerJoin(JobDatasetEntity, 'jd', 'jd.job_id = j.id')
      .innerJoin(OfferEntity, 'o', 'o.dataset_id = jd.dataset_id')
      .where('j.keyset_id = :keysetId AND o.connector_id = :connectorId', { keysetId, connectorId })
      .getCount();
    if (n === 0) throw new AppError('NOT_FOUND', `no keyset ${keysetId}`);
  }

  /**
   * Publishes an offer for `who`'s connector. A new offer names that connector and a provider participant; an
   * existing one changes only through the connector that holds it, and never its provider, its connector, its
   * columns or its policy (set when the provider registered the dataset): what changes is its name, description
   * and row count. Each publication is a ledger event, recorded first: if the ledger cannot take it, nothing changes.
   */
  async publishOffer(who: Principal, o: OfferDocument): Promise<void> {
    const connectorId = this.connectorOf(who);
    if (o.connectorId !== connectorId) throw new AppError('FORBIDDEN', `this credential publishes offers of connector ${connectorId} only`);
    // What the catalog shows and jobs are checked against is a valid dataset document, as the provider registered it.
    const v = validateDatasetDocument({
      name: o.name,
      ...(o.description ? { description: o.description } : {}),
      columns: o.columns,
      policy: o.policy,
    });
    if (!v.ok)
      throw new AppError(
        'VALIDATION_FAILED',
        'the offer is not a valid dataset document',
        v.errors.map((e) => ({ path: e.path ? `$.${e.path}` : '$', code: e.code, message: e.message })),
      );
    await inTransaction(this.ds, async (m) => {
      const existing = await m.getRepository(OfferEntity).findOneBy({ datasetId: o.datasetId });
      if (existing) {
        if (existing.connectorId !== connectorId) throw new AppError('FORBIDDEN', `offer ${o.datasetId} belongs to another connector`);
        if (existing.providerId !== o.providerId) throw new AppError('FORBIDDEN', 'the provider of an offer cannot be changed');
        if (!same(existing.policy, o.policy))
          throw new AppError(
            'CONFLICT',
            "an offer's usage policy is set when its provider registers the dataset; a connector cannot change it",
          );
        if (!same(existing.columns, o.columns))
          throw new AppError(
            'CONFLICT',
            "an offer's columns are set when its provider registers the dataset; a connector cannot change them",
          );
      } else {
        const provider = await this.participants.byId(o.providerId);
        if (!provider || (provider.role !== 'provider' && provider.role !== 'admin'))
          throw new AppError('UNPROCESSABLE', `no provider ${o.providerId}`);
      }
      await this.ledger.record({
        type: 'offer.published',
        actor: { id: who.id, role: who.role },
        datasets: [o.datasetId],
        data: { provider: o.providerId, connector: connectorId, rows: o.rowCount, created: !existing },
      });
      await m.getRepository(OfferEntity).upsert({ ...o }, ['datasetId']);
    });
  }
}
