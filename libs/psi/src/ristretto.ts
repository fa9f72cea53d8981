/**
 * Suite `ristretto255` (default): the prime-order group of RFC 9496, hashed into with RFC 9380's
 * hash_to_ristretto255 (suite ristretto255_XMD:SHA-512_R255MAP_RO_, RFC 9380 Appendix B):
 *   uniform = expand_message_xmd(msg, DST, 64) with SHA-512 (RFC 9380 §5.3.1),
 *   H(msg)  = the one-way map of RFC 9496 §4.3.4 ("element derivation") applied to `uniform`.
 * No cofactor, every valid encoding is a group element, equality is byte equality: the cleanest
 * setting for DH-PSI.
 *
 * Implementation: libsodium compiled to WebAssembly (`libsodium-wrappers-sumo`, jedisct1's
 * libsodium.js): `crypto_core_ristretto255_from_hash` is the RFC 9496 map on 64 bytes and
 * `crypto_scalarmult_ristretto255` the constant-time scalar multiplication (it refuses an identity
 * result). expand_message_xmd is @noble/curves' implementation, given node:crypto's SHA-512 (the
 * same function as noble's JS SHA-512, ~10x cheaper here). The spec checks the whole chain against
 * RFC 9496 Appendix A.3 and RFC 9497 Appendix A.1.1 vectors and against noble's own
 * `ristretto255_hasher.hashToCurve` (the pure-JS implementation this suite used before).
 *
 * Why WebAssembly and not a native addon: `sodium-native` (prebuilt libsodium) exposes no
 * ristretto255 functions (5.1.0), and its Edwards `crypto_core_ed25519_from_uniform` is not the
 * RFC 9380 map (its sign convention differs), so it cannot give the published hash. WebAssembly
 * always loads, so no pure-JS fallback is kept. Measured side by side: BENCHMARKS.md, "PSI
 * backends" (`npm run bench -- --only psi`).
 */
import { createHash } from 'node:crypto';
import { expand_message_xmd } from '@noble/curves/abstract/hash-to-curve.js';
import { sha512 } from '@noble/hashes/sha2.js';
import sodium from 'libsodium-wrappers-sumo';
import type { Blinder, PsiSuite } from './suite.js';

// The WebAssembly module is compiled once, when this module is first imported.
await sodium.ready;

type XmdHash = Parameters<typeof expand_message_xmd>[3];
/** SHA-512 for expand_message_xmd: node:crypto computes it; every other property (sizes, `create`, OID) is noble's SHA-512. */
export const xmdSha512: XmdHash = Object.assign(
  (msg: Uint8Array): Uint8Array => new Uint8Array(createHash('sha512').update(msg).digest()),
  {
    outputLen: sha512.outputLen,
    blockLen: sha512.blockLen,
    canXOF: sha512.canXOF,
    create: sha512.create,
    oid: sha512.oid,
  },
);
const encoder = new TextEncoder();

/** Length of the uniform string the RFC 9496 map takes (RFC 9380 Appendix B: L = 64). */
const UNIFORM_BYTES = 64;

/** The element derivation of RFC 9496 §4.3.4 on 64 uniform bytes, encoded (RFC 9496 §4.3.2). */
export function ristrettoFromUniform(uniform: Uint8Array): Uint8Array {
  if (uniform.length !== UNIFORM_BYTES) throw new RangeError(`the one-way map takes ${UNIFORM_BYTES} bytes`);
  return sodium.crypto_core_ristretto255_from_hash(uniform);
}

/** hash_to_ristretto255(msg) with domain separation tag `dst` (RFC 9380 Appendix B), encoded (RFC 9496 §4.3.2). */
export function hashToRistretto255(msg: Uint8Array, dst: Uint8Array): Uint8Array {
  return ristrettoFromUniform(expand_message_xmd(msg, dst, UNIFORM_BYTES, xmdSha512));
}

/** [scalar]P for a 32-byte little-endian scalar and an encoded element; throws on an invalid or identity result. */
export function ristrettoScalarMult(scalar: Uint8Array, encoded: Uint8Array): Uint8Array {
  return sodium.crypto_scalarmult_ristretto255(scalar, encoded);
}

function isZero(b: Uint8Array): boolean {
  let acc = 0;
  for (const x of b) acc |= x;
  return acc === 0;
}

/** Checks one received encoding: canonical, on the group, not the identity (a degenerate blinding). */
function checkPoint(bytes: Uint8Array, index: number): void {
  if (bytes.length !== 32) throw new RangeError(`point ${index} must be 32 bytes`);
  // The identity's encoding is 32 zero bytes (RFC 9496 §4.3.2); libsodium would refuse it as an invalid point.
  if (isZero(bytes)) throw new RangeError(`point ${index} is the identity element`);
  if (!sodium.crypto_core_ristretto255_is_valid_point(bytes))
    throw new RangeError(`point ${index} is not a canonical ristretto255 encoding`);
}

export const ristretto255Suite: PsiSuite = {
  name: 'ristretto255',
  hashSuite: 'ristretto255_XMD:SHA-512_R255MAP_RO_',
  createBlinder(dst: Uint8Array): Blinder {
    // Uniform in [1, l) (libsodium: crypto_core_ristretto255_scalar_random never returns 0).
    let key: Uint8Array | null = sodium.crypto_core_ristretto255_scalar_random();
    const k = (): Uint8Array => {
      if (key === null) throw new Error('this PSI key was destroyed');
      return key;
    };
    return {
      hashAndBlind: (id) => ristrettoScalarMult(k(), hashToRistretto255(encoder.encode(id), dst)),
      reblind: (encoded, index) => {
        checkPoint(encoded, index);
        return ristrettoScalarMult(k(), encoded);
      },
      destroy: () => {
        // Unlike a bigint or a KeyObject, the key bytes can be overwritten.
        if (key !== null) sodium.memzero(key);
        key = null;
      },
    };
  },
  hashUnblinded: (id, dst) => hashToRistretto255(encoder.encode(id), dst),
};
