import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppError } from '#contracts';
import { OfferEntity } from '#persistence';

/** The broker's catalog: each dataset's offer (metadata and policy, never its rows), as its connector published it. */
@Injectable()
export class CatalogService {
  constructor(private readonly ds: DataSource) {}

  async get(datasetId: string): Promise<OfferEntity> {
    const o = await this.ds.getRepository(OfferEntity).findOneBy({ datasetId });
    if (!o) throw new AppError('NOT_FOUND', `no dataset ${datasetId} in the catalog`);
    return o;
  }

  async list(): Promise<OfferEntity[]> {
    return this.ds.getRepository(OfferEntity).find({ order: { name: 'ASC' } });
  }
}
