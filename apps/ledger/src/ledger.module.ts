import { type DynamicModule, Module } from '@nestjs/common';
import type { PlatformDeps } from '#platform';
import { AuditPageController } from './audit-page.js';
import { LedgerController } from './ledger.controller.js';
import { LedgerService } from './ledger.service.js';
import { LedgerWorker } from './ledger.worker.js';

/** The usage ledger: durable event intake, RFC 6962 log, signed checkpoints, proofs, and the auditor console at /audit. */
@Module({})
export class LedgerModule {
  static forRoot(_deps: PlatformDeps): DynamicModule {
    return {
      module: LedgerModule,
      controllers: [LedgerController, AuditPageController],
      providers: [LedgerService, LedgerWorker],
      exports: [LedgerService],
    };
  }
}
