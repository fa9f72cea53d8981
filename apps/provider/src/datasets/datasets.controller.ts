import { Body, Controller, Get, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiConsumes, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Readable } from 'node:stream';
import { AppError, type Principal } from '#contracts';
import type { RowFormat } from '#dataset';
import { CurrentPrincipal, RawBody, Roles } from '#platform';
import { DatasetsService, datasetView, type ImportMode } from './datasets.service.js';

type Req = Readable & { headers: Record<string, string | string[] | undefined> };

function formatOf(req: Req, q: string | undefined): RowFormat {
  if (q !== undefined) {
    if (q === 'csv' || q === 'json' || q === 'ndjson') return q;
    throw new AppError('VALIDATION_FAILED', 'format must be csv, json or ndjson', [{ path: '$query.format', message: 'unknown format' }]);
  }
  const ct = String(req.headers['content-type'] ?? '').toLowerCase();
  if (ct.includes('csv')) return 'csv';
  if (ct.includes('ndjson') || ct.includes('jsonl')) return 'ndjson';
  if (ct.includes('json')) return 'json';
  throw new AppError(
    'VALIDATION_FAILED',
    'say the file format: Content-Type text/csv, application/json or application/x-ndjson (or ?format=)',
    [{ path: '$header.content-type', message: 'unknown format' }],
  );
}

/** Counts bytes as they stream, refusing (413) beyond the limit. */
async function* limited(req: Req, limit: number): AsyncGenerator<Buffer> {
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new AppError('PAYLOAD_TOO_LARGE', `the file is over the import limit of ${limit} bytes`);
    yield chunk as Buffer;
  }
}

@ApiTags('datasets')
@ApiBearerAuth()
@Controller('datasets')
export class DatasetsController {
  constructor(private readonly datasets: DatasetsService) {}

  @Post()
  @HttpCode(201)
  @Roles('provider')
  @ApiOperation({ summary: 'Register a dataset (schema + usage policy); its offer is published to the broker catalog' })
  async register(@Body() body: unknown, @CurrentPrincipal() who: Principal): Promise<unknown> {
    return datasetView(await this.datasets.register(body, who));
  }

  @Get()
  @Roles('provider')
  @ApiOperation({ summary: 'Your datasets, each with its id, name and row count (`rows`)' })
  async list(@CurrentPrincipal() who: Principal): Promise<unknown[]> {
    return (await this.datasets.list(who)).map(datasetView);
  }

  @Get(':id')
  @Roles('provider')
  async get(@Param('id') id: string, @CurrentPrincipal() who: Principal): Promise<unknown> {
    return datasetView(await this.datasets.get(id, who));
  }

  @Post(':id/rows')
  @HttpCode(200)
  @RawBody()
  @Roles('provider')
  @ApiConsumes('text/csv', 'application/json', 'application/x-ndjson')
  @ApiQuery({
    name: 'mode',
    required: false,
    description: "append (default) adds the file's rows; replace swaps the dataset's rows for them",
  })
  @ApiQuery({ name: 'format', required: false, description: 'csv | json | ndjson (default: from Content-Type)' })
  @ApiOperation({
    summary:
      'Import rows (streamed). A file with any bad row is refused whole (422, line and column of each problem) and nothing is stored',
  })
  async importRows(
    @Param('id') id: string,
    @Req() req: Req,
    @CurrentPrincipal() who: Principal,
    @Query('mode') mode: string | undefined,
    @Query('format') format: string | undefined,
  ): Promise<unknown> {
    const m = (mode ?? 'append') as ImportMode;
    if (m !== 'append' && m !== 'replace')
      throw new AppError('VALIDATION_FAILED', 'mode must be append or replace', [{ path: '$query.mode', message: 'unknown mode' }]);
    const f = formatOf(req, format);
    await this.datasets.get(id, who);
    return this.datasets.importRows(id, who, limited(req, this.datasets.maxImportBytes), f, m);
  }
}
