import { type DynamicModule, Module } from '@nestjs/common';
import { LedgerRecorder, type PlatformDeps } from '#platform';
import { DataSource } from 'typeorm';
import { ConnectorGateway } from '../../broker/src/connector/connector-gateway.service.js';
import { DirectBrokerLink, HttpBrokerLink } from './broker-link.js';
import { DatasetsController } from './datasets/datasets.controller.js';
import { DatasetsService } from './datasets/datasets.service.js';
import { EncryptionWorker } from './encryption/encryption.worker.js';
import { HeEncryption } from './encryption/he-encryption.js';
import { BrokerLink } from './ports.js';

/** The provider connector: datasets, row import, its store, and the encryption worker. */
@Module({})
export class ProviderModule {
  /**
   * How the connector reaches the broker: over HTTP (BROKER_URL with its CONNECTOR_TOKEN) when it runs apart
   * with its own database; otherwise directly, through the database it shares with the broker (the embedded
   * default, or several processes on one database).
   */
  static forRoot(deps: PlatformDeps, opts: { brokerInProcess: boolean }): DynamicModule {
    const { BROKER_URL: url, CONNECTOR_TOKEN: token } = deps.config;
    const http = !opts.brokerInProcess && !!url && !!token;
    if (!opts.brokerInProcess && !!url !== !!token) {
      throw new Error(
        'a provider connector that reaches the broker over HTTP needs both BROKER_URL and CONNECTOR_TOKEN (dataspace participants add --role connector)',
      );
    }
    const link = http
      ? { provide: BrokerLink, useValue: new HttpBrokerLink(url!, token!) }
      : {
          provide: BrokerLink,
          useFactory: (ds: DataSource, ledger: LedgerRecorder) => new DirectBrokerLink(new ConnectorGateway(ds, ledger)),
          inject: [DataSource, LedgerRecorder],
        };
    return {
      module: ProviderModule,
      controllers: [DatasetsController],
      providers: [DatasetsService, EncryptionWorker, HeEncryption, link],
      exports: [DatasetsService, EncryptionWorker],
    };
  }
}
