import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppError } from '#contracts';
import { OfferEntity } from '#persistence';

/** An offer in the broker's catalog: a dataset's metadata and policy, never its rows. */
export interface Offer {
  datasetId: string;
  providerId: string;
  connectorId: string;
  name: string;
  description: string;
  columns: Record<string, unknown>;
  policy: Record<string, unknown>;
  rowCount: number;
}

@Injectable()
export class CatalogService {
  constructor(private readonly ds: DataSource) {}

  async publish(o: Offer): Promise<void> {
    await this.ds.getRepository(OfferEntity).upsert({ ...o } as never, ['datasetId']);
  }

  async get(datasetId: string): Promise<OfferEntity> {
    const o = await this.ds.getRepository(OfferEntity).findOneBy({ datasetId });
    if (!o) throw new AppError('NOT_FOUND', `no dataset ${datasetId} in the catalog`);
    return o;
  }

  async list(): Promise<OfferEntity[]> {
    return this.ds.getRepository(OfferEntity).find({ order: { name: 'ASC' } });
  }
}
