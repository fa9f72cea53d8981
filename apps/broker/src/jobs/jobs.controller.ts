import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Principal } from '#contracts';
import { BodyLimit, CurrentPrincipal, Roles } from '#platform';
import type { JobEntity } from '#persistence';
import { JobsService } from './jobs.service.js';

export function jobView(j: JobEntity): Record<string, unknown> {
  return {
    id: j.id,
    scenario: j.scenarioId,
    version: j.scenarioVersion,
    consumer: j.consumerId,
    keyset: j.keysetId,
    purpose: j.purpose,
    bindings: j.bindings,
    status: j.status,
    progress: j.progress,
    error: j.error,
    epsilon: j.epsilon,
    meta: j.resultMeta,
    createdAt: j.createdAt,
    updatedAt: j.updatedAt,
  };
}

@ApiTags('jobs')
@ApiBearerAuth()
@Controller('jobs')
export class JobsController {
  constructor(private readonly jobs: JobsService) {}

  @Post()
  @Roles('consumer')
  @HttpCode(202)
  @BodyLimit('MAX_JOB_BYTES')
  @ApiQuery({ name: 'dryRun', required: false, description: 'true: return the plan, cost estimate and policy decision without running' })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'repeating a submission with the same key returns the same job' })
  @ApiOperation({
    summary: 'Submit a job (202 + id), or dry-run it; 429 TOO_MANY_JOBS with Retry-After beyond the limits on jobs in flight',
  })
  async submit(
    @Body() body: unknown,
    @CurrentPrincipal() who: Principal,
    @Query('dryRun') dryRun: string | undefined,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) res: { status(n: number): void },
  ): Promise<unknown> {
    if (dryRun === 'true' || dryRun === '1') {
      res.status(200);
      return this.jobs.dryRun(body, who);
    }
    const r = await this.jobs.submit(body, who, key);
    if (!r.created) res.status(200);
    return { id: r.id, status: r.status };
  }

  @Get()
  @Roles('consumer', 'auditor')
  @ApiOperation({ summary: 'Jobs (a consumer sees its own)' })
  async list(@CurrentPrincipal() who: Principal): Promise<unknown[]> {
    return (await this.jobs.list(who)).map(jobView);
  }

  @Get(':id')
  @Roles('consumer', 'auditor')
  @ApiOperation({ summary: 'Status with progress per stage and per provider' })
  async get(@Param('id') id: string, @CurrentPrincipal() who: Principal): Promise<unknown> {
    return jobView(await this.jobs.get(id, who));
  }

  @Post(':id/cancel')
  @Roles('consumer')
  @HttpCode(200)
  async cancel(@Param('id') id: string, @CurrentPrincipal() who: Principal): Promise<unknown> {
    return jobView(await this.jobs.cancel(id, who));
  }

  @Get(':id/result')
  @Roles('consumer')
  @ApiOperation({ summary: 'The encrypted result and its decoding plan (decrypt locally with `dataspace jobs result`)' })
  async result(@Param('id') id: string, @CurrentPrincipal() who: Principal): Promise<unknown> {
    return this.jobs.result(id, who);
  }
}
