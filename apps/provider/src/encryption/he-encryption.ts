import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { HePool } from '#he-core';
import { type AppConfig, CONFIG } from '#platform';

/**
 * Encrypts the provider's encoded features under the job's public key on a pool of worker threads (one SEAL
 * instance per thread, so every core works and the event loop stays free for queue locks and HTTP).
 */
@Injectable()
export class HeEncryption implements OnModuleDestroy {
  private pool?: Promise<HePool>;

  constructor(@Inject(CONFIG) private readonly cfg: AppConfig) {}

  private getPool(): Promise<HePool> {
    this.pool ??= HePool.create(this.cfg.HE_THREADS ? { threads: this.cfg.HE_THREADS } : {});
    return this.pool;
  }

  /** Encrypts a batch of plaintext chunks in parallel across the pool's threads, order kept. */
  async encryptBatch(publicKeyset: Uint8Array, chunks: Float64Array[]): Promise<Uint8Array[]> {
    return (await this.getPool()).encryptMany(publicKeyset, chunks);
  }

  async onModuleDestroy(): Promise<void> {
    if (this.pool) await (await this.pool).close();
  }
}
