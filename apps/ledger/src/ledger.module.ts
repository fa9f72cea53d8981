import { type DynamicModule, Module } from '@nestjs/common';
import type { PlatformDeps } from '#platform';
import { LedgerController } from './ledger.controller.js';
import { LedgerService } from './ledger.service.js';
import { LedgerWorker } from './ledger.worker.js';

/** The usage ledger: durable event intake, RFC 6962 log, signed checkpoints, proofs. */
@Module({})
export class LedgerModule {
  static forRoot(_deps: PlatformDeps): DynamicModule {
    return { module: LedgerModule, controllers: [LedgerController], providers: [LedgerService, LedgerWorker], exports: [LedgerService] };
  }
}
