/**
 * Keyset containers and their byte formats (pure: no SEAL here).
 *
 * Public keyset blob (`HEPK`, version 1), all integers little-endian:
 *   magic "HEPK" | u8 version | str paramsId | u8 flags (1 relin, 2 galois) | u16 n | i32 steps[n]
 *   | bytes publicKey | [bytes relinKeys] | [bytes galoisKeys] | 32-byte fingerprint
 * where `bytes` is a u32 length prefix. The fingerprint is recomputed on decode, so it doubles as an
 * integrity check: any damaged or truncated blob is rejected before SEAL parses a byte of it.
 *
 * Secret keyset blob (`HESK`, version 1): magic | u8 version | str paramsId | bytes secretKey
 *   | bytes publicKeysetBlob | SHA-256 of all preceding bytes.
 * The secret blob is for the consumer's own key file only; it is never sent anywhere.
 * @module
 */
import { ByteReader, ByteWriter, bytesEqual, checkSealHeader, sha256, toHex, verifyChecksum } from './bytes.js';
import { HeError } from './errors.js';
import { paramsId, parseParamsId, slotCount, type HeParams } from './params.js';

/** Public part of a consumer keyset: what the broker and providers may hold. */
export interface PublicKeyset {
  params: HeParams;
  /** SEAL PublicKey, seeded serialisation (`KeyGenerator.createPublicKeySerializable`). */
  publicKey: Uint8Array;
  relinKeys: Uint8Array | null;
  galoisKeys: Uint8Array | null;
  /** Rotation steps the Galois keys cover (sorted, distinct). */
  galoisSteps: number[];
  /** Hex SHA-256 over the params id, the steps and all public bytes (see {@link keysetFingerprint}). */
  fingerprint: string;
}

export interface SecretKeyset {
  params: HeParams;
  secretKey: Uint8Array;
  publicKeyset: PublicKeyset;
}

const PK_MAGIC = new Uint8Array([0x48, 0x45, 0x50, 0x4b]); // "HEPK"
const SK_MAGIC = new Uint8Array([0x48, 0x45, 0x53, 0x4b]); // "HESK"
const VERSION = 1;
const DOMAIN = new TextEncoder().encode('he-core/public-keyset/v1');

/** Checks rotation steps: distinct non-zero integers with |step| < slots; returns them sorted. */
export function normaliseSteps(steps: readonly number[], slots: number): number[] {
  if (!Array.isArray(steps)) throw new HeError('BAD_ARGUMENT', 'galoisSteps must be an array');
  const seen = new Set<number>();
  for (const s of steps) {
    if (!Number.isInteger(s) || s === 0 || Math.abs(s) >= slots) {
      throw new HeError('BAD_ARGUMENT', `galois step must be a non-zero integer with |step| < ${slots}, got ${String(s)}`);
    }
    seen.add(s);
  }
  return [...seen].sort((a, b) => a - b);
}

/**
 * SHA-256 over a domain tag, the params id, the steps and each public part, every field length-prefixed
 * so that no two different keysets hash the same byte string.
 */
export function keysetFingerprint(k: Omit<PublicKeyset, 'fingerprint'>): string {
  const w = new ByteWriter().raw(DOMAIN).str(paramsId(k.params)).u16(k.galoisSteps.length);
  for (const s of k.galoisSteps) w.i32(s);
  w.bytes(k.publicKey);
  w.u8(k.relinKeys ? 1 : 0);
  if (k.relinKeys) w.bytes(k.relinKeys);
  w.u8(k.galoisKeys ? 1 : 0);
  if (k.galoisKeys) w.bytes(k.galoisKeys);
  return toHex(sha256(w.finish()));
}

function checkPublicShape(k: PublicKeyset): void {
  if (typeof k !== 'object' || k === null) throw new HeError('BAD_ARGUMENT', 'keyset must be an object');
  if (!(k.publicKey instanceof Uint8Array)) throw new HeError('BAD_ARGUMENT', 'publicKey must be a Uint8Array');
  if (k.relinKeys !== null && !(k.relinKeys instanceof Uint8Array)) throw new HeError('BAD_ARGUMENT', 'relinKeys must be a Uint8Array or null');
  if (k.galoisKeys !== null && !(k.galoisKeys instanceof Uint8Array)) throw new HeError('BAD_ARGUMENT', 'galoisKeys must be a Uint8Array or null');
  if ((k.galoisKeys === null) !== (k.galoisSteps.length === 0)) {
    throw new HeError('BAD_ARGUMENT', 'galoisKeys must be present exactly when galoisSteps is non-empty');
  }
}

export function encodePublicKeyset(k: PublicKeyset): Uint8Array {
  checkPublicShape(k);
  const steps = normaliseSteps(k.galoisSteps, slotCount(k.params));
  const fp = keysetFingerprint({ ...k, galoisSteps: steps });
  if (fp !== k.fingerprint) throw new HeError('BAD_ARGUMENT', 'keyset fingerprint does not match its contents');
  const w = new ByteWriter().raw(PK_MAGIC).u8(VERSION).str(paramsId(k.params));
  w.u8((k.relinKeys ? 1 : 0) | (k.galoisKeys ? 2 : 0)).u16(steps.length);
  for (const s of steps) w.i32(s);
  w.bytes(k.publicKey);
  if (k.relinKeys) w.bytes(k.relinKeys);
  if (k.galoisKeys) w.bytes(k.galoisKeys);
  w.raw(Buffer.from(fp, 'hex'));
  return w.finish();
}

function expectMagic(r: ByteReader, magic: Uint8Array, what: string): void {
  if (!bytesEqual(r.raw(magic.length), magic)) throw new HeError('CORRUPT', `${what}: bad magic`);
  const v = r.u8();
  if (v !== VERSION) throw new HeError('CORRUPT', `${what}: unsupported version ${v}`);
}

/** Parses and verifies a public keyset blob. Any malformed input is `CORRUPT`; never reaches SEAL. */
export function decodePublicKeyset(b: Uint8Array): PublicKeyset {
  if (!(b instanceof Uint8Array)) throw new HeError('BAD_ARGUMENT', 'public keyset must be a Uint8Array');
  const what = 'public keyset';
  const r = new ByteReader(b, what);
  expectMagic(r, PK_MAGIC, what);
  const params = parseParamsId(r.str());
  const flags = r.u8();
  if (flags > 3) throw new HeError('CORRUPT', `${what}: unknown flags`);
  const n = r.u16();
  const rawSteps: number[] = [];
  for (let i = 0; i < n; i++) rawSteps.push(r.i32());
  let steps: number[];
  try {
    steps = normaliseSteps(rawSteps, slotCount(params));
  } catch {
    throw new HeError('CORRUPT', `${what}: invalid rotation steps`);
  }
  if (steps.length !== n || steps.some((s, i) => s !== rawSteps[i])) throw new HeError('CORRUPT', `${what}: steps not canonical`);
  if (((flags & 2) !== 0) !== n > 0) throw new HeError('CORRUPT', `${what}: galois flag and steps disagree`);
  const publicKey = r.bytes();
  const relinKeys = flags & 1 ? r.bytes() : null;
  const galoisKeys = flags & 2 ? r.bytes() : null;
  const fp = toHex(r.raw(32));
  r.expectEnd();
  const k: PublicKeyset = { params, publicKey, relinKeys, galoisKeys, galoisSteps: steps, fingerprint: fp };
  if (keysetFingerprint(k) !== fp) throw new HeError('CORRUPT', `${what}: fingerprint mismatch (damaged bytes)`);
  checkSealHeader(publicKey, 'public key');
  if (relinKeys) checkSealHeader(relinKeys, 'relinearisation keys');
  if (galoisKeys) checkSealHeader(galoisKeys, 'galois keys');
  return k;
}

export function encodeSecretKeyset(k: SecretKeyset): Uint8Array {
  if (typeof k !== 'object' || k === null || !(k.secretKey instanceof Uint8Array)) {
    throw new HeError('BAD_ARGUMENT', 'secret keyset must have a Uint8Array secretKey');
  }
  if (paramsId(k.params) !== paramsId(k.publicKeyset.params)) {
    throw new HeError('PARAMS_MISMATCH', 'secret key and public keyset have different parameters');
  }
  return new ByteWriter()
    .raw(SK_MAGIC)
    .u8(VERSION)
    .str(paramsId(k.params))
    .bytes(k.secretKey)
    .bytes(encodePublicKeyset(k.publicKeyset))
    .checksum()
    .finish();
}

export function decodeSecretKeyset(b: Uint8Array): SecretKeyset {
  if (!(b instanceof Uint8Array)) throw new HeError('BAD_ARGUMENT', 'secret keyset must be a Uint8Array');
  const what = 'secret keyset';
  const body = verifyChecksum(b, what);
  const r = new ByteReader(body, what);
  expectMagic(r, SK_MAGIC, what);
  const params = parseParamsId(r.str());
  const secretKey = r.bytes();
  const publicKeyset = decodePublicKeyset(r.bytes());
  r.expectEnd();
  if (paramsId(publicKeyset.params) !== paramsId(params)) throw new HeError('CORRUPT', `${what}: parts have different parameters`);
  checkSealHeader(secretKey, 'secret key');
  return { params, secretKey, publicKeyset };
}
