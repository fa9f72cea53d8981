import { Controller, Get, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Roles } from '#platform';
import { CatalogService } from './catalog.service.js';
import type { OfferEntity } from '#persistence';

function view(o: OfferEntity): unknown {
  return {
    id: o.datasetId,
    name: o.name,
    description: o.description,
    provider: o.providerId,
    columns: o.columns,
    policy: o.policy,
    rows: o.rowCount,
    updatedAt: o.updatedAt,
  };
}

@ApiTags('catalog')
@ApiBearerAuth()
@Controller('offers')
export class CatalogController {
  constructor(private readonly catalog: CatalogService) {}

  @Get()
  @Roles('consumer', 'provider', 'auditor')
  @ApiOperation({ summary: 'The catalog: every dataset offer (metadata and usage policy, never rows)' })
  async list(): Promise<unknown[]> {
    return (await this.catalog.list()).map(view);
  }

  @Get(':id')
  @Roles('consumer', 'provider', 'auditor')
  async get(@Param('id') id: string): Promise<unknown> {
    return view(await this.catalog.get(id));
  }
}
