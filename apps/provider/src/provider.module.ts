import { type DynamicModule, type FactoryProvider, Module, type ValueProvider } from '@nestjs/common';
import { ConnectorPort } from '#contracts';
import type { PlatformDeps } from '#platform';
import { DatasetsController } from './datasets/datasets.controller.js';
import { DatasetsService } from './datasets/datasets.service.js';
import { EncryptionWorker } from './encryption/encryption.worker.js';
import { HeEncryption } from './encryption/he-encryption.js';

/** How the connector reaches the broker: a `ConnectorPort` given as a value or a factory (the composition root picks it). */
export type BrokerBinding = Omit<ValueProvider<ConnectorPort>, 'provide'> | Omit<FactoryProvider<ConnectorPort>, 'provide'>;

/** The provider connector: datasets, row import, its store, and the encryption worker. */
@Module({})
export class ProviderModule {
  /**
   * `broker` is how the connector reaches the broker (`ConnectorPort`, `#contracts`): the composition root
   * (apps/cli/src/apps.ts) binds the connector's HTTP client (HttpBrokerLink) when it runs apart, or the broker's
   * own gateway when it shares the broker's process or database. The connector never imports the broker.
   */
  static forRoot(_deps: PlatformDeps, opts: { broker: BrokerBinding }): DynamicModule {
    return {
      module: ProviderModule,
      controllers: [DatasetsController],
      providers: [DatasetsService, EncryptionWorker, HeEncryption, { ...opts.broker, provide: ConnectorPort }],
      exports: [DatasetsService, EncryptionWorker],
    };
  }
}
