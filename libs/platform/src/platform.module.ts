import { type DynamicModule, Global, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import { AuthGuard, ParticipantsStore, PrincipalResolver } from './auth.js';
import { JsonBodyInterceptor } from './body.js';
import { RateLimitGuard, rateLimitOptions } from './rate-limit.js';
import type { AppConfig } from './config.js';
import { ErrorsFilter } from './errors.filter.js';
import { HealthController } from './health.controller.js';
import { LedgerRecorder } from './ledger-recorder.js';
import { QueueService } from './queues.js';
import { CONFIG, LOGGER } from './tokens.js';

export interface PlatformDeps {
  config: AppConfig;
  dataSource: DataSource;
  queues: QueueService;
  logger: Logger;
  /** Who a bearer token belongs to: this database (default) or the broker (an app deployed apart). */
  principals?: PrincipalResolver;
}

/**
 * Infrastructure every app shares: configuration, database, queues, ledger recorder, auth guard and the
 * error filter. Built from already-open connections so the process (or a test) owns their lifecycle.
 */
@Global()
@Module({})
export class PlatformModule {
  static forRoot(deps: PlatformDeps): DynamicModule {
    return {
      module: PlatformModule,
      imports: [ThrottlerModule.forRoot(rateLimitOptions(deps.config))],
      controllers: [HealthController],
      providers: [
        { provide: CONFIG, useValue: deps.config },
        { provide: LOGGER, useValue: deps.logger },
        { provide: DataSource, useValue: deps.dataSource },
        { provide: QueueService, useValue: deps.queues },
        { provide: ParticipantsStore, useFactory: () => new ParticipantsStore(deps.dataSource) },
        { provide: PrincipalResolver, useFactory: (local: ParticipantsStore) => deps.principals ?? local, inject: [ParticipantsStore] },
        { provide: LedgerRecorder, useFactory: () => new LedgerRecorder(deps.queues) },
        // Guards run in this order: the rate limit, then the bearer token and role; only then is a JSON body read.
        { provide: APP_GUARD, useClass: RateLimitGuard },
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_INTERCEPTOR, useClass: JsonBodyInterceptor },
        { provide: APP_FILTER, useClass: ErrorsFilter },
      ],
      exports: [CONFIG, LOGGER, DataSource, QueueService, ParticipantsStore, PrincipalResolver, LedgerRecorder],
    };
  }
}
