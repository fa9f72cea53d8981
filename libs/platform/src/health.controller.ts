import { Controller, Get, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import { DataSource } from 'typeorm';
import { Public } from './auth.js';
import { QueueService } from './queues.js';

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly ds: DataSource,
    private readonly queues: QueueService,
  ) {}

  @Public()
  @SkipThrottle({ address: true, credential: true })
  @Get()
  @ApiOperation({ summary: 'Database and Redis status (503 when either is down)' })
  async health(@Res() res: { status(n: number): { json(b: unknown): void } }): Promise<void> {
    let database: boolean;
    try {
      await this.ds.query('SELECT 1');
      database = true;
    } catch {
      database = false;
    }
    const redis = await this.queues.ping();
    const ok = database && redis;
    res.status(ok ? 200 : 503).json({
      status: ok ? 'ok' : 'degraded',
      database: { up: database, type: this.ds.options.type },
      redis: { up: redis },
    });
  }
}
