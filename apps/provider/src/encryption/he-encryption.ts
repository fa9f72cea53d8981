import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { HePool } from '#he-core';
import { type AppConfig, CONFIG } from '#platform';

/** Chunks handed to the pool at once: bounds the plaintext copies in flight (~32 KiB each at N=8192). */
const BATCH = 256;

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

  async encryptFeatures(publicKeyset: Uint8Array, features: { id: string; chunks: Float64Array[] }[], onProgress?: (done: number, total: number) => void): Promise<{ id: string; chunks: Uint8Array[] }[]> {
    const pool = await this.getPool();
    const total = features.reduce((a, f) => a + f.chunks.length, 0);
    let done = 0;
    const out: { id: string; chunks: Uint8Array[] }[] = [];
    for (const f of features) {
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < f.chunks.length; i += BATCH) {
        chunks.push(...(await pool.encryptMany(publicKeyset, f.chunks.slice(i, i + BATCH))));
        done += Math.min(BATCH, f.chunks.length - i);
        onProgress?.(done, total);
      }
      out.push({ id: f.id, chunks });
    }
    return out;
  }

  async onModuleDestroy(): Promise<void> {
    if (this.pool) await (await this.pool).close();
  }
}
