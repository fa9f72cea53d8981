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
import { paramsId, parseParamsId, rotationSlots, type AnyHeParams, type BfvParams, type HeParams } from './params.js';

/** Public part of a consumer keyset: what the broker and providers may hold. CKKS unless `P` says otherwise. */
export interface PublicKeyset<P extends AnyHeParams = HeParams> {
  params: P;
  /** SEAL PublicKey, seeded serialisation (`KeyGenerator.createPublicKeySerializable`). */
  publicKey: Uint8Array;
  relinKeys: Uint8Array | null;
  galoisKeys: Uint8Array | null;
  /** Rotation steps the Galois keys cover (sorted, distinct; for BFV, 0 is the swap of the two batching rows). */
  galoisSteps: number[];
  /** Hex SHA-256 over the params id, the steps and all public bytes (see {@link keysetFingerprint}). */
  fingerprint: string;
}

export interface SecretKeyset<P extends AnyHeParams = HeParams> {
  params: P;
  secretKey: Uint8Array;
  publicKeyset: PublicKeyset<P>;
}

const PK_MAGIC = new Uint8Array([0x48, 0x45, 0x50, 0x4b]); // "HEPK"
const SK_MAGIC = new Uint8Array([0x48, 0x45, 0x53, 0x4b]); // "HESK"
const VERSION = 1;
const DOMAIN = new TextEncoder().encode('he-core/public-keyset/v1');

/**
 * Checks rotation steps: distinct integers with |step| < slots, non-zero unless `allowZero` (SEAL reads
 * step 0 as the Galois element 2N-1: the BFV row swap, the CKKS complex conjugation); returns them sorted.
 */
export function normaliseSteps(steps: readonly number[], slots: number, allowZero = false): number[] {
  if (!Array.isArray(steps)) throw new HeError('BAD_ARGUMENT', 'galoisSteps must be an array');
  const seen = new Set<number>();
  for (const s of steps) {
    if (!Number.isInteger(s) || (s === 0 && !allowZero) || Math.abs(s) >= slots) {
      const which = allowZero ? 'an integer' : 'a non-zero integer';
      throw new HeError('BAD_ARGUMENT', `galois step must be ${which} with |step| < ${slots}, got ${String(s)}`);
    }
    seen.add(s);
  }
  return [...seen].sort((a, b) => a - b);
}

/**
 * SHA-256 over a domain tag, the params id, the steps and each public part, every field length-prefixed
 * so that no two different keysets hash the same byte string.
 */
export function keysetFingerprint(k: Omit<PublicKeyset<AnyHeParams>, 'fingerprint'>): string {
  const w = new ByteWriter().raw(DOMAIN).str(paramsId(k.params)).u16(k.galoisSteps.length);
  for (const s of k.galoisSteps) w.i32(s);
  w.bytes(k.publicKey);
  w.u8(k.relinKeys ? 1 : 0);
  if (k.relinKeys) w.bytes(k.relinKeys);
  w.u8(k.galoisKeys ? 1 : 0);
  if (k.galoisKeys) w.bytes(k.galoisKeys);
  return toHex(sha256(w.finish()));
}

/** Steps of a keyset for `params`, checked and sorted. */
function stepsFor(params: AnyHeParams, steps: readonly number[]): number[] {
  // step 0: SEAL's Galois element 2N-1 (BFV: the row swap; CKKS: complex conjugation)
  return normaliseSteps(steps, rotationSlots(params), true);
}

/** Checks the field types of a public keyset (before anything reads them). */
export function checkPublicShape(k: PublicKeyset<AnyHeParams>): void {
  if (typeof k !== 'object' || k === null) throw new HeError('BAD_ARGUMENT', 'keyset must be an object');
  if (typeof k.params !== 'object' || k.params === null) throw new HeError('BAD_ARGUMENT', 'keyset params must be an object');
  if (!Array.isArray(k.galoisSteps)) throw new HeError('BAD_ARGUMENT', 'galoisSteps must be an array');
  if (typeof k.fingerprint !== 'string') throw new HeError('BAD_ARGUMENT', 'fingerprint must be a string');
  if (!(k.publicKey instanceof Uint8Array)) throw new HeError('BAD_ARGUMENT', 'publicKey must be a Uint8Array');
  if (k.relinKeys !== null && !(k.relinKeys instanceof Uint8Array))
    throw new HeError('BAD_ARGUMENT', 'relinKeys must be a Uint8Array or null');
  if (k.galoisKeys !== null && !(k.galoisKeys instanceof Uint8Array))
    throw new HeError('BAD_ARGUMENT', 'galoisKeys must be a Uint8Array or null');
  if ((k.galoisKeys === null) !== (k.galoisSteps.length === 0)) {
    throw new HeError('BAD_ARGUMENT', 'galoisKeys must be present exactly when galoisSteps is non-empty');
  }
}

export function encodePublicKeyset(k: PublicKeyset<AnyHeParams>): Uint8Array {
  checkPublicShape(k);
  const steps = stepsFor(k.params, k.galoisSteps);
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

/** `k` if its parameters are of `scheme`, else `PARAMS_MISMATCH`. */
function ofScheme<P extends AnyHeParams, K extends { params: AnyHeParams }>(k: K, scheme: P['scheme'], what: string): K & { params: P } {
  if (k.params.scheme !== scheme)
    throw new HeError('PARAMS_MISMATCH', `${what} is for ${k.params.scheme.toUpperCase()}, expected ${scheme.toUpperCase()}`);
  return k as K & { params: P };
}

/** {@link decodeAnyPublicKeyset} for a CKKS keyset (the job path's scheme); a BFV one is `PARAMS_MISMATCH`. */
export function decodePublicKeyset(b: Uint8Array): PublicKeyset {
  return ofScheme<HeParams, PublicKeyset<AnyHeParams>>(decodeAnyPublicKeyset(b), 'ckks', 'public keyset');
}

/** {@link decodeAnyPublicKeyset} for a BFV keyset; a CKKS one is `PARAMS_MISMATCH`. */
export function decodeBfvPublicKeyset(b: Uint8Array): PublicKeyset<BfvParams> {
  return ofScheme<BfvParams, PublicKeyset<AnyHeParams>>(decodeAnyPublicKeyset(b), 'bfv', 'public keyset');
}

/** Parses and verifies a public keyset blob of either scheme. Any malformed input is `CORRUPT`; never reaches SEAL. */
export function decodeAnyPublicKeyset(b: Uint8Array): PublicKeyset<AnyHeParams> {
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
    steps = stepsFor(params, rawSteps);
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
  const k: PublicKeyset<AnyHeParams> = { params, publicKey, relinKeys, galoisKeys, galoisSteps: steps, fingerprint: fp };
  if (keysetFingerprint(k) !== fp) throw new HeError('CORRUPT', `${what}: fingerprint mismatch (damaged bytes)`);
  checkSealHeader(publicKey, 'public key');
  if (relinKeys) checkSealHeader(relinKeys, 'relinearisation keys');
  if (galoisKeys) checkSealHeader(galoisKeys, 'galois keys');
  return k;
}

export function encodeSecretKeyset(k: SecretKeyset<AnyHeParams>): Uint8Array {
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

/** {@link decodeAnySecretKeyset} for a CKKS keyset; a BFV one is `PARAMS_MISMATCH`. */
export function decodeSecretKeyset(b: Uint8Array): SecretKeyset {
  return ofScheme<HeParams, SecretKeyset<AnyHeParams>>(decodeAnySecretKeyset(b), 'ckks', 'secret keyset') as SecretKeyset;
}

/** {@link decodeAnySecretKeyset} for a BFV keyset; a CKKS one is `PARAMS_MISMATCH`. */
export function decodeBfvSecretKeyset(b: Uint8Array): SecretKeyset<BfvParams> {
  return ofScheme<BfvParams, SecretKeyset<AnyHeParams>>(decodeAnySecretKeyset(b), 'bfv', 'secret keyset') as SecretKeyset<BfvParams>;
}

/** Parses and verifies a secret keyset blob of either scheme (checksum first; malformed = `CORRUPT`). */
export function decodeAnySecretKeyset(b: Uint8Array): SecretKeyset<AnyHeParams> {
  if (!(b instanceof Uint8Array)) throw new HeError('BAD_ARGUMENT', 'secret keyset must be a Uint8Array');
  const what = 'secret keyset';
  const body = verifyChecksum(b, what);
  const r = new ByteReader(body, what);
  expectMagic(r, SK_MAGIC, what);
  const params = parseParamsId(r.str());
  const secretKey = r.bytes();
  const publicKeyset = decodeAnyPublicKeyset(r.bytes());
  r.expectEnd();
  if (paramsId(publicKeyset.params) !== paramsId(params)) throw new HeError('CORRUPT', `${what}: parts have different parameters`);
  checkSealHeader(secretKey, 'secret key');
  return { params, secretKey, publicKeyset };
}
