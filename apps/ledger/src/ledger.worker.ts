import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { JobName, QueueName, type UsageEvent } from '#contracts';
import { QueueService, type Task } from '#platform';
import { LedgerService } from './ledger.service.js';

/**
 * Consumes the durable event queue. Jobs arrive one by one (concurrency lets many be in flight); a small
 * batcher appends whatever arrived within a few milliseconds in one transaction, and each job completes only
 * after its event is committed to the log.
 */
@Injectable()
export class LedgerWorker implements OnApplicationBootstrap {
  private pending: { event: UsageEvent; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private flushing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly queues: QueueService,
    private readonly ledger: LedgerService,
  ) {}

  onApplicationBootstrap(): void {
    this.queues.worker(QueueName.ledger, JobName.ledgerEvent, (task) => this.process(task), { concurrency: 200 });
  }

  process(job: Task<UsageEvent>): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ event: job.data, resolve, reject });
      if (this.pending.length >= 500) void this.flush();
      else if (!this.timer) this.timer = setTimeout(() => void this.flush(), 5);
    });
  }

  private async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.flushing) {
      await this.flushing;
      if (this.pending.length && !this.timer) this.timer = setTimeout(() => void this.flush(), 0);
      return;
    }
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    this.flushing = (async () => {
      try {
        await this.ledger.append(batch.map((b) => b.event));
        for (const b of batch) b.resolve();
      } catch (e) {
        if (batch.length === 1) {
          batch[0]!.reject(e);
          return;
        }
        // One bad event must not fail (and keep retrying) the whole batch: append them one by one, so
        // only the failing ones go back to the queue for its retries.
        for (const b of batch) {
          try {
            await this.ledger.append([b.event]);
            b.resolve();
          } catch (one) {
            b.reject(one);
          }
        }
      }
    })();
    await this.flushing;
    this.flushing = null;
    if (this.pending.length && !this.timer) this.timer = setTimeout(() => void this.flush(), 0);
  }
}
