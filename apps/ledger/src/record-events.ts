import type { UsageEvent } from '#contracts';

/** Where recorded events go: the usage log (LedgerService.append: one transaction, ids already logged skipped). */
export interface EventLog {
  append(events: UsageEvent[]): Promise<unknown>;
}

/**
 * Records usage events in the log. Events arrive one by one (many in flight); a small batcher appends whatever arrived
 * within a few milliseconds (or 500 at once) in one call, and each `record` resolves only once its event is in the log.
 */
export class RecordEvents {
  private pending: { event: UsageEvent; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private flushing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly log: EventLog) {}

  record(event: UsageEvent): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ event, resolve, reject });
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
        await this.log.append(batch.map((b) => b.event));
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
            await this.log.append([b.event]);
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
