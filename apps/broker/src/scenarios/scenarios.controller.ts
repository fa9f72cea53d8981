import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AppError, type Principal } from '#contracts';
import { BodyLimit, CurrentPrincipal, Public, Roles } from '#platform';
import { scenarioHash } from '#policy';
import { scenarioJsonSchema } from '#scenario';
import { ScenarioRegistry } from './scenario-registry.service.js';

@ApiTags('scenarios')
@ApiBearerAuth()
@Controller('scenarios')
export class ScenariosController {
  constructor(private readonly registry: ScenarioRegistry) {}

  @Public()
  @Get('schema')
  @ApiOperation({ summary: 'JSON Schema of the scenario document' })
  schema(): unknown {
    return scenarioJsonSchema;
  }

  @Get()
  @Roles('provider', 'consumer', 'auditor')
  @ApiOperation({ summary: 'Latest version of every registered scenario' })
  async list(): Promise<unknown[]> {
    return (await this.registry.list()).map((s) => ({
      id: s.id,
      version: s.version,
      title: s.scenario.title,
      sector: s.scenario.sector ?? null,
      roles: Object.keys(s.scenario.inputs),
      metrics: s.scenario.metrics.map((m) => m.name),
      builtin: s.builtin,
    }));
  }

  @Get(':id')
  @Roles('provider', 'consumer', 'auditor')
  @ApiOperation({
    summary: "A scenario document (latest version, or ?version=N) and its content hash (what a policy's scenario allowlist names)",
  })
  async get(@Param('id') id: string, @Query('version') version?: string): Promise<unknown> {
    let v: number | undefined;
    if (version !== undefined) {
      v = Number(version);
      if (!Number.isInteger(v) || v < 1)
        throw new AppError('VALIDATION_FAILED', 'version must be a positive integer', [
          { path: '$query.version', message: 'not a positive integer' },
        ]);
    }
    const s = await this.registry.get(id, v);
    return { id: s.id, version: s.version, builtin: s.builtin, hash: scenarioHash(s.scenario), document: s.scenario };
  }

  @Post()
  @HttpCode(201)
  @BodyLimit('MAX_SCENARIO_BYTES')
  @Roles('provider', 'consumer')
  @ApiOperation({ summary: 'Register a scenario document (a new version when the id exists)' })
  async register(@Body() body: unknown, @CurrentPrincipal() who: Principal): Promise<{ id: string; version: number }> {
    const r = await this.registry.register(body, who);
    return { id: r.id, version: r.version };
  }
}
