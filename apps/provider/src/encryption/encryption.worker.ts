import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ConnectorPort, JobName, QueueName } from '#contracts';
import { DatasetEntity } from '#persistence';
import { type AppConfig, CONFIG, LedgerRecorder, QueueService } from '#platform';
import { DatasetsService } from '../datasets/datasets.service.js';
import { EncryptInputs } from './encrypt-inputs.js';
import { HeEncryption } from './he-encryption.js';

/**
 * The connector's encryption worker: serves this connector's `encrypt-inputs` queue with the `EncryptInputs` use case
 * (encrypt-inputs.ts), wired to the connector's database, the broker, the ledger and the HE pool.
 */
@Injectable()
export class EncryptionWorker implements OnApplicationBootstrap {
  private readonly log = new Logger('encryption');
  readonly encryptInputs: EncryptInputs;

  constructor(
    ds: DataSource,
    private readonly queues: QueueService,
    ledger: LedgerRecorder,
    private readonly broker: ConnectorPort,
    datasets: DatasetsService,
    he: HeEncryption,
    @Inject(CONFIG) private readonly cfg: AppConfig,
  ) {
    this.encryptInputs = new EncryptInputs({
      connectorId: cfg.CONNECTOR_ID,
      datasets: {
        find: async (id) => {
          const d = await ds.getRepository(DatasetEntity).findOneBy({ id });
          return d && { id: d.id, connectorId: d.connectorId, policy: d.policy };
        },
        rows: (id) => datasets.rows(id),
      },
      broker,
      ledger,
      he,
      log: this.log,
    });
  }

  onApplicationBootstrap(): void {
    this.queues.worker(QueueName.encrypt(this.cfg.CONNECTOR_ID), JobName.encryptInputs, (task) => this.encryptInputs.process(task), {
      concurrency: 4,
      lockDuration: this.cfg.WORKER_LOCK_MS,
      // BullMQ's deferred failure ("job stalled more than allowable limit"): failed without running `process`
      onAbandoned: ({ data }, reason) => this.encryptInputs.abandoned(data, reason),
    });
    // Deployed apart: the broker accepts this connector's calls only for the connector id its credential is bound to.
    void this.broker
      .boundConnectorId()
      .then((id) => {
        if (id !== null && id !== this.cfg.CONNECTOR_ID) {
          this.log.error(
            `CONNECTOR_TOKEN is bound to connector ${JSON.stringify(id)}, not CONNECTOR_ID ${this.cfg.CONNECTOR_ID}: the broker will refuse this connector's offers and jobs (dataspace participants add --role connector --connector-id ${this.cfg.CONNECTOR_ID})`,
          );
        }
      })
      .catch(() => undefined);
  }
}
