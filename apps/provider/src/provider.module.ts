import { type DynamicModule, Module } from '@nestjs/common';
import type { PlatformDeps } from '#platform';
import { InProcessBrokerLink } from './broker-link.js';
import { DatasetsController } from './datasets/datasets.controller.js';
import { DatasetsService } from './datasets/datasets.service.js';
import { EncryptionWorker } from './encryption/encryption.worker.js';
import { HeEncryption } from './encryption/he-encryption.js';
import { BrokerLink } from './ports.js';

/** The provider connector: datasets, row import, its store, and the encryption worker. */
@Module({})
export class ProviderModule {
  static forRoot(_deps: PlatformDeps): DynamicModule {
    return {
      module: ProviderModule,
      controllers: [DatasetsController],
      providers: [DatasetsService, EncryptionWorker, HeEncryption, { provide: BrokerLink, useClass: InProcessBrokerLink }],
      exports: [DatasetsService, EncryptionWorker],
    };
  }
}
