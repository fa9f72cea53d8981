import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { JobName, QueueName } from '#contracts';
import { QueueService } from '#platform';
import { LedgerService } from './ledger.service.js';
import { type EventLog, RecordEvents } from './record-events.js';

/**
 * Consumes the durable event queue: each `ledger-event` job completes once its event is committed to the log
 * (`RecordEvents` batches them; concurrency lets many be in flight).
 */
@Injectable()
export class LedgerWorker implements OnApplicationBootstrap {
  private readonly recordEvents: RecordEvents;

  constructor(
    private readonly queues: QueueService,
    @Inject(LedgerService) log: EventLog,
  ) {
    this.recordEvents = new RecordEvents(log);
  }

  onApplicationBootstrap(): void {
    this.queues.worker(QueueName.ledger, JobName.ledgerEvent, (task) => this.recordEvents.record(task.data), { concurrency: 200 });
  }
}
