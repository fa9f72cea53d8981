import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { HeEngine, decodePublicKeyset, paramsId, type HeParams, type PublicKeyHandle } from '#he-core';
import type { Plan } from '#scenario';

interface KeyUse { engine: HeEngine; handle: PublicKeyHandle; users: number; lastUsed: number }

/** Public keysets kept loaded (a keyset with Galois keys is tens of MB of WASM memory). */
const KEEP_KEYSETS = 4;

/**
 * Encrypts the provider's encoded features under the job's public key. One engine per parameter set lives
 * as long as the process (creating a SEAL context costs more than an encryption); loaded public keysets are
 * reference-counted and the least recently used idle ones are released, so a long-running connector does not
 * grow without bound.
 */
@Injectable()
export class HeEncryption implements OnModuleDestroy {
  private readonly engines = new Map<string, Promise<HeEngine>>();
  private readonly keys = new Map<string, KeyUse>();

  engine(params: HeParams): Promise<HeEngine> {
    const id = paramsId(params);
    const known = this.engines.get(id);
    if (known) return known;
    const e = HeEngine.create(params);
    this.engines.set(id, e);
    return e;
  }

  private acquire(engine: HeEngine, bytes: Uint8Array): KeyUse {
    const ks = decodePublicKeyset(bytes);
    let use = this.keys.get(ks.fingerprint);
    if (!use) {
      use = { engine, handle: engine.usePublicKeyset(ks), users: 0, lastUsed: 0 };
      this.keys.set(ks.fingerprint, use);
    }
    use.users++;
    use.lastUsed = Date.now();
    return use;
  }

  private release(use: KeyUse): void {
    use.users--;
    const idle = [...this.keys.entries()].filter(([, u]) => u.users === 0).sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    while (this.keys.size > KEEP_KEYSETS && idle.length) {
      const [fp, u] = idle.shift()!;
      u.engine.releaseKeys(u.handle);
      this.keys.delete(fp);
    }
  }

  async encryptFeatures(plan: Plan, publicKeyset: Uint8Array, features: { id: string; chunks: Float64Array[] }[]): Promise<{ id: string; chunks: Uint8Array[] }[]> {
    const engine = await this.engine(plan.params as unknown as HeParams);
    const use = this.acquire(engine, publicKeyset);
    try {
      return features.map((f) => ({
        id: f.id,
        chunks: f.chunks.map((c) => engine.scope(() => engine.save(engine.encrypt(use.handle, c)))),
      }));
    } finally {
      this.release(use);
    }
  }

  async onModuleDestroy(): Promise<void> {
    for (const e of this.engines.values()) (await e).dispose();
    this.engines.clear();
    this.keys.clear();
  }
}
