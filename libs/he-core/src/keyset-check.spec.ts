/**
 * Keysets received from elsewhere: loaded by SEAL with their declared parameters, and no compressed key is
 * inflated past what its parameters allow (zlib and zstd bombs are refused on their headers or the cap).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { deflateSync } from 'node:zlib';
import { HeEngine } from './engine.js';
import { HeError } from './errors.js';
import { decodePublicKeyset, encodePublicKeyset, keysetFingerprint, type PublicKeyset } from './keyset.js';
import { checkSealObjectSize, publicKeysetBounds, verifyPublicKeyset, zstdInflatedBound } from './keyset-check.js';
import { ckksParamsForDepth } from './params.js';

let engine: HeEngine;
let real: PublicKeyset;
before(async () => {
  engine = await HeEngine.create(ckksParamsForDepth(1));
  real = engine.generateKeyset({ galoisSteps: [1, 2, 4], relin: true }).publicKeyset;
});
after(() => engine.dispose());

/** A SEAL 4 header (16 bytes) for `body`, compression `mode`. */
function sealObject(body: Uint8Array, mode: number): Uint8Array {
  const out = new Uint8Array(16 + body.length);
  const v = new DataView(out.buffer);
  v.setUint16(0, 0xa15e, true);
  out[2] = 0x10;
  out[3] = 4;
  out[4] = 0;
  out[5] = mode;
  v.setBigUint64(8, BigInt(out.length), true);
  out.set(body, 16);
  return out;
}

/** `real` with one part replaced, re-fingerprinted and round-tripped through the container. */
function withPart(part: 'publicKey' | 'galoisKeys', bytes: Uint8Array): PublicKeyset {
  const k = { ...real, [part]: bytes };
  return decodePublicKeyset(encodePublicKeyset({ ...k, fingerprint: keysetFingerprint(k) }));
}

const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    if (e instanceof HeError) return e.code;
    throw e;
  }
  return 'none';
};

test("a real keyset passes; its zstd bound covers its inflated size and stays within the parameters' bound", async () => {
  await verifyPublicKeyset(real);
  const bounds = publicKeysetBounds(real.params, real.galoisSteps.length);
  for (const [part, limit] of [
    ['publicKey', bounds.publicKey],
    ['relinKeys', bounds.relinKeys],
    ['galoisKeys', bounds.galoisKeys],
  ] as const) {
    const b = real[part]!;
    if (b[5] !== 2) continue;
    const bound = zstdInflatedBound(b.subarray(16), part);
    assert.ok(bound >= b.length - 16);
    assert.ok(bound + 16 <= limit, `${part}: ${bound} over ${limit}`);
  }
});

test('garbage key data with a valid header and container is refused at load (CORRUPT)', async () => {
  const garbage = sealObject(
    new Uint8Array(4000).map((_, i) => (i * 7919) & 0xff),
    0,
  );
  await assert.rejects(verifyPublicKeyset(withPart('publicKey', garbage)), (e: unknown) => e instanceof HeError && e.code === 'CORRUPT');
});

test('a zlib bomb (200 MB inflated) is refused as TOO_LARGE, inflating no more than the bound', async () => {
  const bomb = sealObject(deflateSync(Buffer.alloc(200 * 1024 * 1024)), 1);
  assert.ok(bomb.length < 1024 * 1024);
  const rss0 = process.memoryUsage().rss;
  await assert.rejects(verifyPublicKeyset(withPart('galoisKeys', bomb)), (e: unknown) => e instanceof HeError && e.code === 'TOO_LARGE');
  assert.ok(process.memoryUsage().rss - rss0 < 150 * 1024 * 1024, 'the bomb was not inflated whole');
});

test('a zstd stream of RLE blocks claiming gigabytes is refused from its headers alone', () => {
  // frame: magic, descriptor (no FCS, not single segment), window descriptor, then RLE blocks of 128 KiB
  const blocks = 20_000;
  const parts: number[] = [0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58];
  for (let i = 0; i < blocks; i++) {
    const h = ((128 * 1024) << 3) | (1 << 1) | (i === blocks - 1 ? 1 : 0);
    parts.push(h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff, 0x41);
  }
  const bomb = sealObject(Uint8Array.from(parts), 2);
  assert.equal(zstdInflatedBound(bomb.subarray(16), 'x'), blocks * 128 * 1024);
  assert.equal(
    code(() => checkSealObjectSize(bomb, 10 * 1024 * 1024, 'galois keys')),
    'TOO_LARGE',
  );
  assert.equal(
    code(() => checkSealObjectSize(sealObject(Uint8Array.from([1, 2, 3]), 2), 1e6, 'x')),
    'CORRUPT',
  );
});
