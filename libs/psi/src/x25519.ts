/**
 * Suite `x25519`: RFC 9380 hash-to-curve onto edwards25519 (noble, random-oracle variant
 * edwards25519_XMD:SHA-512_ELL2_RO_, cofactor cleared) mapped to the birationally equivalent
 * Montgomery curve25519 (u = (1 + y) / (1 - y), RFC 7748 §4.1), then exponentiation with the
 * native X25519 of node:crypto (OpenSSL), where the secret key is a KeyObject that never exists
 * as a JS value.
 *
 * This suite was the default while ristretto255 was pure JS; since ristretto255 runs on libsodium
 * (WebAssembly) it is the slower one (BENCHMARKS.md, "PSI backends"). Measured before that
 * (this 2-core machine kind, Node 20, psi.spec.ts with SLOW=1): 0.69 ms per id per party over the whole protocol (10^5 x 2 ids, 5 x 10^4 shared, in
 * 138 s for both parties in one process; the hash is ~0.5 ms of it, a native exponentiation
 * ~0.12 ms), against 2.59 ms for ristretto255 in pure JS (10^4 x 2 in 52 s; its exponentiation
 * is ~1.2 ms). About a minute per provider for 10^5 ids instead of about four. node:crypto X25519 does exponentiate arbitrary
 * points (ECDH with any u-coordinate as the public key); what it lacks is hash-to-curve, which
 * the noble RFC 9380 hasher supplies.
 *
 * Why it is still sound despite curve25519's cofactor 8 and u-only encoding:
 * - H(id) lies in the prime-order subgroup (the RFC 9380 map clears the cofactor), and X25519's
 *   clamped scalar c (a multiple of 8, < 2^255) acts on it as the non-zero exponent c mod l, so
 *   exponents commute exactly as in a prime-order group.
 * - u-only encodings identify P with -P; x([a][b]P) = x([b][a]P) still holds, and H's outputs
 *   collide under ± only with negligible probability, so byte equality is id equality.
 * - The outputs of X25519 are canonical (reduced mod p, RFC 7748 §5), so equal elements have
 *   equal bytes. Inputs we did not produce are required canonical; a low-order input gives an
 *   all-zero result, which OpenSSL refuses. A point off the prime-order subgroup (or on the
 *   twist) cannot extract the key: the clamp kills the 8- and 4-torsion and curve25519 is
 *   twist-secure (Bernstein 2006, §3-4). Parties and broker are honest-but-curious (the threat model of libs/scenario/src/compiler/README.md).
 */
import { ed25519_hasher } from '@noble/curves/ed25519.js';
import { createPublicKey, diffieHellman, generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { Blinder, PsiSuite } from './suite.js';

const Fp = ed25519_hasher.Point.Fp;
/** DER SubjectPublicKeyInfo header for an X25519 key (RFC 8410 §4), followed by the 32-byte u. */
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
const encoder = new TextEncoder();

function toLE32(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

/** u < p = 2^255 - 19 (little-endian): p is 0xed, then 30 bytes 0xff, then 0x7f. */
function isCanonical(u: Uint8Array): boolean {
  if ((u[31] as number) > 0x7f) return false;
  if (u[31] !== 0x7f) return true;
  for (let i = 30; i >= 1; i--) if (u[i] !== 0xff) return true;
  return (u[0] as number) < 0xed;
}

/** H(id) as a curve25519 u-coordinate: u = (Z + Y) / (Z - Y) in projective Edwards coordinates (one inversion). */
function hashToU(id: string, dst: Uint8Array): Uint8Array {
  const ep = ed25519_hasher.hashToCurve(encoder.encode(id), { DST: dst });
  // Y = Z only for the identity, which the random-oracle hash reaches with negligible probability.
  return toLE32(Fp.div(Fp.add(ep.Z, ep.Y), Fp.sub(ep.Z, ep.Y)));
}

function exponentiate(key: KeyObject, u: Uint8Array, index: number): Uint8Array {
  if (u.length !== 32) throw new RangeError(`point ${index} must be 32 bytes`);
  // Canonical only (RFC 7748 §5 would silently mask bit 255 and reduce mod p): one element, one encoding.
  if (!isCanonical(u)) throw new RangeError(`point ${index} is not a canonical curve25519 u-coordinate`);
  const publicKey = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, u]), format: 'der', type: 'spki' });
  try {
    return new Uint8Array(diffieHellman({ privateKey: key, publicKey }));
  } catch {
    throw new RangeError(`point ${index} is a low-order point`);
  }
}

export const x25519Suite: PsiSuite = {
  name: 'x25519',
  hashSuite: 'edwards25519_XMD:SHA-512_ELL2_RO_',
  createBlinder(dst: Uint8Array): Blinder {
    let key: KeyObject | null = generateKeyPairSync('x25519').privateKey;
    const k = (): KeyObject => {
      if (key === null) throw new Error('this PSI key was destroyed');
      return key;
    };
    return {
      hashAndBlind: (id) => exponentiate(k(), hashToU(id, dst), 0),
      reblind: (encoded, index) => exponentiate(k(), encoded, index),
      destroy: () => {
        key = null;
      },
    };
  },
  hashUnblinded: (id, dst) => hashToU(id, dst),
};
