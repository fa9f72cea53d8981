import { randomUUID } from 'node:crypto';
import { AppError, JobName, QueueName, type UsageEvent } from '#contracts';
import type { QueueService } from './queues.js';

/**
 * Records usage events by putting them on the durable ledger queue (idempotent by event id: the queue ignores a
 * second add with the same job id). Callers record BEFORE they act: if this throws, the action does not happen.
 */
export class LedgerRecorder {
  constructor(private readonly queues: QueueService) {}

  async record(e: Omit<UsageEvent, 'id' | 'at'> & { id?: string; at?: string }): Promise<UsageEvent> {
    const event: UsageEvent = { ...e, id: e.id ?? randomUUID(), at: e.at ?? new Date().toISOString() };
    try {
      await this.queues.add(QueueName.ledger, JobName.ledgerEvent, event, {
        jobId: event.id,
        removeOnComplete: 1000,
        attempts: 10,
        backoff: { type: 'exponential', delay: 500 },
      });
    } catch {
      throw new AppError('LEDGER_UNAVAILABLE', 'the usage ledger cannot record this action now, so it was not performed; retry later');
    }
    return event;
  }
}
