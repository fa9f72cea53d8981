/**
 * Checks a public keyset received from someone else before anything keeps it: every SEAL object's inflated size
 * is bounded by what its parameters allow (found without inflating it: a zlib or zstd bomb is refused on its
 * headers or as soon as its output passes the bound), then the keys are loaded by SEAL with the declared
 * parameters, so key data that is not a key for them is refused at upload rather than at a provider later.
 * @module
 */
import { inflateSync } from 'node:zlib';
import { checkSealHeader, sealComprMode } from './bytes.js';
import { BfvEngine } from './bfv.js';
import { HeEngine } from './engine.js';
import { HeError } from './errors.js';
import type { PublicKeyset } from './keyset.js';
import type { AnyHeParams, BfvParams, HeParams } from './params.js';

const SEAL_HEADER = 16;
/** Slack over the computed size of a SEAL object (metadata, the serialisation's own framing). */
const OVERHEAD = 4096;

/** Largest uncompressed size of one public-key-sized SEAL object (a size-2 ciphertext over every prime). */
function keyBytes(p: AnyHeParams): number {
  return 2 * p.polyModulusDegree * p.coeffModulusBits.length * 8 + OVERHEAD;
}

/** Largest inflated size of each part of a public keyset with parameters `p` and `steps` rotation steps. */
export function publicKeysetBounds(p: AnyHeParams, steps: number): { publicKey: number; relinKeys: number; galoisKeys: number } {
  const decomposition = Math.max(1, p.coeffModulusBits.length - 1);
  return {
    publicKey: keyBytes(p),
    relinKeys: decomposition * keyBytes(p) + OVERHEAD,
    galoisKeys: Math.max(1, steps) * decomposition * keyBytes(p) + OVERHEAD,
  };
}

/** zstd's largest block output (Block_Maximum_Size, RFC 8878 §3.1.1.2.4). */
const ZSTD_BLOCK_MAX = 128 * 1024;

/**
 * An upper bound of what a zstd stream inflates to, read from its frame and block headers only
 * (RFC 8878 §3.1): raw and RLE blocks state their size, a compressed block yields at most 128 KiB.
 */
export function zstdInflatedBound(b: Uint8Array, what: string): number {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const need = (pos: number, n: number): void => {
    if (pos + n > b.length) throw new HeError('CORRUPT', `${what}: truncated zstd stream`);
  };
  let pos = 0;
  let total = 0;
  while (pos < b.length) {
    need(pos, 4);
    const magic = v.getUint32(pos, true);
    pos += 4;
    if ((magic & 0xfffffff0) === 0x184d2a50) {
      // skippable frame
      need(pos, 4);
      pos += 4 + v.getUint32(pos, true);
      continue;
    }
    if (magic !== 0xfd2fb528) throw new HeError('CORRUPT', `${what}: not a zstd frame`);
    need(pos, 1);
    const fhd = b[pos++]!;
    const single = (fhd & 0x20) !== 0;
    const dictBytes = [0, 1, 2, 4][fhd & 3]!;
    const fcsFlag = fhd >> 6;
    const fcsBytes = fcsFlag === 0 ? (single ? 1 : 0) : [0, 2, 4, 8][fcsFlag]!;
    pos += (single ? 0 : 1) + dictBytes + fcsBytes;
    for (;;) {
      need(pos, 3);
      const h = b[pos]! | (b[pos + 1]! << 8) | (b[pos + 2]! << 16);
      pos += 3;
      const last = (h & 1) === 1;
      const type = (h >> 1) & 3;
      const size = h >>> 3;
      if (type === 3) throw new HeError('CORRUPT', `${what}: reserved zstd block type`);
      if (size > ZSTD_BLOCK_MAX && type !== 2) throw new HeError('CORRUPT', `${what}: zstd block over its maximum size`);
      total += type === 2 ? ZSTD_BLOCK_MAX : size;
      pos += type === 1 ? 1 : size;
      if (last) break;
    }
    if (fhd & 4) pos += 4; // content checksum
  }
  if (pos !== b.length) throw new HeError('CORRUPT', `${what}: truncated zstd stream`);
  return total;
}

/**
 * Refuses a SEAL object whose inflated size could exceed `limit` (`TOO_LARGE`), without inflating more than
 * `limit` bytes of it: uncompressed objects by their size, zstd ones by their block headers, zlib ones by
 * inflating with an output cap.
 */
export function checkSealObjectSize(b: Uint8Array, limit: number, what: string): void {
  checkSealHeader(b, what);
  const body = b.subarray(SEAL_HEADER);
  const mode = sealComprMode(b);
  let size: number;
  if (mode === 0) size = b.length;
  else if (mode === 2) size = SEAL_HEADER + zstdInflatedBound(body, what);
  else {
    try {
      size = SEAL_HEADER + inflateSync(body, { maxOutputLength: limit }).length;
    } catch (e) {
      if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) {
        throw new HeError('TOO_LARGE', `${what}: inflates to more than the ${limit} bytes its parameters allow`);
      }
      throw new HeError('CORRUPT', `${what}: damaged zlib stream`);
    }
  }
  if (size > limit) throw new HeError('TOO_LARGE', `${what}: inflates to ${size} bytes, over the ${limit} its parameters allow`);
}

/**
 * Checks a decoded public keyset received from elsewhere: sizes first (no bomb is inflated), then SEAL loads
 * every key with the keyset's declared parameters (`CORRUPT` when a key is not one for them).
 */
export async function verifyPublicKeyset(k: PublicKeyset<AnyHeParams>): Promise<void> {
  const bounds = publicKeysetBounds(k.params, k.galoisSteps.length);
  checkSealObjectSize(k.publicKey, bounds.publicKey, 'public key');
  if (k.relinKeys) checkSealObjectSize(k.relinKeys, bounds.relinKeys, 'relinearisation keys');
  if (k.galoisKeys) checkSealObjectSize(k.galoisKeys, bounds.galoisKeys, 'galois keys');
  if (k.params.scheme === 'bfv') {
    const engine = await BfvEngine.create(k.params);
    try {
      engine.releaseKeys(engine.usePublicKeyset(k as PublicKeyset<BfvParams>));
    } finally {
      engine.dispose();
    }
  } else {
    const engine = await HeEngine.create(k.params);
    try {
      engine.releaseKeys(engine.usePublicKeyset(k as PublicKeyset<HeParams>));
    } finally {
      engine.dispose();
    }
  }
}
