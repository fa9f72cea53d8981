import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppError, type Principal } from '#contracts';
import { decodePublicKeyset, HeError, paramsId, type PublicKeyset, verifyPublicKeyset } from '#he-core';
import { KeysetEntity, inTransaction } from '#persistence';
import { type AppConfig, CONFIG, LedgerRecorder } from '#platform';

/** Public keysets consumers publish (public key, relinearisation and Galois keys). Never a secret key. */
@Injectable()
export class KeysetsService {
  constructor(
    private readonly ds: DataSource,
    private readonly ledger: LedgerRecorder,
    @Inject(CONFIG) private readonly cfg: AppConfig,
  ) {}

  get maxBytes(): number {
    return this.cfg.MAX_KEYSET_BYTES;
  }

  async register(
    bytes: Uint8Array,
    by: Principal,
  ): Promise<{ id: string; params: unknown; galoisSteps: number[]; size: number; created: boolean }> {
    let ks: PublicKeyset;
    try {
      ks = decodePublicKeyset(bytes);
      // Loaded by SEAL with the declared parameters (garbage key data is refused now, not at a provider later),
      // each key's inflated size bounded first (a compression bomb is refused without being inflated).
      await verifyPublicKeyset(ks);
    } catch (e) {
      if (e instanceof HeError && e.code === 'TOO_LARGE')
        throw new AppError('PAYLOAD_TOO_LARGE', `not a valid public keyset: ${e.message}`, [{ code: e.code, message: e.message }]);
      if (e instanceof HeError)
        throw new AppError('UNPROCESSABLE', `not a valid public keyset: ${e.message}`, [{ code: e.code, message: e.message }]);
      throw e;
    }
    const repo = this.ds.getRepository(KeysetEntity);
    const existing = await repo.findOneBy({ id: ks.fingerprint });
    if (existing) {
      if (existing.consumerId !== by.id) throw new AppError('CONFLICT', 'this keyset is registered by another participant');
      return { id: existing.id, params: existing.params, galoisSteps: existing.galoisSteps, size: existing.size, created: false };
    }
    await inTransaction(this.ds, async (m) => {
      await m.getRepository(KeysetEntity).insert({
        id: ks.fingerprint,
        consumerId: by.id,
        paramsId: paramsId(ks.params),
        params: ks.params,
        galoisSteps: ks.galoisSteps,
        size: bytes.length,
        blob: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      });
      // Last in the transaction: recorded only once the insert went through; a ledger failure rolls it back.
      await this.ledger.record({
        type: 'keyset.registered',
        actor: { id: by.id, role: by.role },
        consumer: by.id,
        data: { keyset: ks.fingerprint, params: paramsId(ks.params), bytes: bytes.length },
      });
    });
    return { id: ks.fingerprint, params: ks.params, galoisSteps: ks.galoisSteps, size: bytes.length, created: true };
  }

  async get(id: string): Promise<KeysetEntity> {
    const k = await this.ds.getRepository(KeysetEntity).findOneBy({ id });
    if (!k) throw new AppError('NOT_FOUND', `no keyset ${id}`);
    return k;
  }
}
