import { type DynamicModule, Module } from '@nestjs/common';
import type { PlatformDeps } from '#platform';
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
   * `brokerInProcess`: the broker runs in this process (embedded default) and is called directly; otherwise
   * the connector talks to BROKER_URL over HTTP with its CONNECTOR_TOKEN.
   */
  static forRoot(deps: PlatformDeps, opts: { brokerInProcess: boolean }): DynamicModule {
    const { BROKER_URL: url, CONNECTOR_TOKEN: token } = deps.config;
    if (!opts.brokerInProcess && !(url && token)) {
      throw new Error('a provider connector running apart from the broker needs BROKER_URL and CONNECTOR_TOKEN (dataspace participants add --role connector)');
    }
    const link = opts.brokerInProcess
      ? { provide: BrokerLink, useFactory: (ds: DataSource) => new DirectBrokerLink(new ConnectorGateway(ds)), inject: [DataSource] }
      : { provide: BrokerLink, useValue: new HttpBrokerLink(url!, token!) };
    return {
      module: ProviderModule,
      controllers: [DatasetsController],
      providers: [DatasetsService, EncryptionWorker, HeEncryption, link],
      exports: [DatasetsService, EncryptionWorker],
    };
  }
}
