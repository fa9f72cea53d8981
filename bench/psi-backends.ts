/**
 * PSI backends side by side (issue 20): the cost per id of hashing into the group and blinding
 * (step 1 of ECDH-PSI) and of re-blinding a received element (step 2), on one thread, for
 *   (a) today's pure-JS code: @noble/curves ristretto255 (hash_to_ristretto255 of RFC 9380 App. B,
 *       bigint scalar multiplication), and the `x25519` suite (noble's RFC 9380 edwards25519 hash,
 *       native X25519 of node:crypto);
 *   (b) `sodium-native` (libsodium, prebuilt native addon): it has no ristretto255 functions, so
 *       it cannot compute the published hash; its Edwards Elligator 2 map
 *       (`crypto_core_ed25519_from_uniform` on a SHA-512 digest) with
 *       `crypto_scalarmult_ed25519_noclamp` is measured as the native ceiling only (a different
 *       construction, not RFC 9380, so not adoptable without changing the hash);
 *   (c) `libsodium-wrappers-sumo` (libsodium in WebAssembly): the library's `ristretto255` suite,
 *       RFC 9380 hash_to_ristretto255 + `crypto_scalarmult_ristretto255`.
 * Every backend hashes the same ids; (a) and (c) must give the same unblinded H(id) bytes.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { ristretto255, ristretto255_hasher } from '@noble/curves/ed25519.js';
import { bytesToNumberLE } from '@noble/curves/utils.js';
import { randomBytes } from 'node:crypto';
import { domainSeparationTag, psiSuite } from '#psi';
import type { BenchContext } from './lib/context.js';

const S = 'PSI backends: hash + blind and re-blind per id, one thread (issue 20)';

interface Backend {
  name: string;
  /** H(id)^k, encoded */
  hashAndBlind(id: string): Uint8Array;
  /** P^k for an element this backend produced */
  reblind(p: Uint8Array): Uint8Array;
  /** unblinded H(id), when the backend computes the published hash (for the equality check) */
  hash?(id: string): Uint8Array;
  note: string;
}

/** The subset of sodium-native this bench calls (the package ships no types). */
interface SodiumNative {
  crypto_core_ed25519_from_uniform(p: Buffer, r: Buffer): void;
  crypto_scalarmult_ed25519_noclamp(q: Buffer, n: Buffer, p: Buffer): void;
  crypto_core_ed25519_scalar_random(r: Buffer): void;
}

const encoder = new TextEncoder();

/** (a) today's ristretto255 suite, as it was before issue 20 (noble, pure JS): kept here as the baseline. */
function nobleRistretto(dst: Uint8Array): Backend {
  const order = ristretto255.Point.Fn.ORDER;
  let k = 0n;
  while (k === 0n) k = bytesToNumberLE(randomBytes(64)) % order;
  const hash = (id: string) => ristretto255_hasher.hashToCurve(encoder.encode(id), { DST: dst });
  return {
    name: '(a) @noble/curves ristretto255, pure JS (the ristretto255 suite before)',
    hashAndBlind: (id) => hash(id).multiply(k).toBytes(),
    reblind: (p) => ristretto255.Point.fromBytes(p).multiply(k).toBytes(),
    hash: (id) => hash(id).toBytes(),
    note: 'RFC 9380 hash_to_ristretto255',
  };
}

function suiteBackend(name: 'x25519' | 'ristretto255', label: string, note: string): Backend {
  const suite = psiSuite(name);
  const dst = domainSeparationTag('bench-backends', suite);
  const b = suite.createBlinder(dst);
  return {
    name: label,
    hashAndBlind: (id) => b.hashAndBlind(id),
    reblind: (p) => b.reblind(p, 0),
    ...(name === 'ristretto255' ? { hash: (id: string) => suite.hashUnblinded(id, dst) } : {}),
    note,
  };
}

function sodiumNative(dst: Uint8Array): Backend | string {
  let s: SodiumNative;
  try {
    s = createRequire(import.meta.url)('sodium-native') as SodiumNative;
  } catch (e) {
    return `sodium-native did not load: ${e instanceof Error ? e.message : String(e)}`;
  }
  if (typeof (s as unknown as Record<string, unknown>).crypto_core_ristretto255_from_hash === 'function') {
    // Not the case in 5.1.0; if a later version adds it, this bench should measure it instead.
    return 'sodium-native now exposes crypto_core_ristretto255_from_hash: measure it here';
  }
  const k = Buffer.alloc(32);
  s.crypto_core_ed25519_scalar_random(k);
  return {
    name: '(b) sodium-native (native libsodium) Edwards from_uniform + scalarmult_ed25519_noclamp',
    hashAndBlind: (id) => {
      const r = createHash('sha512').update(dst).update(id).digest().subarray(0, 32);
      const p = Buffer.alloc(32);
      s.crypto_core_ed25519_from_uniform(p, r);
      const q = Buffer.alloc(32);
      s.crypto_scalarmult_ed25519_noclamp(q, k, p);
      return q;
    },
    reblind: (p) => {
      const q = Buffer.alloc(32);
      s.crypto_scalarmult_ed25519_noclamp(q, k, Buffer.from(p.buffer, p.byteOffset, p.byteLength));
      return q;
    },
    note: 'no ristretto255 in sodium-native 5.1.0; this Elligator 2 map is not RFC 9380 (native ceiling only, not adoptable)',
  };
}

export async function benchPsiBackends(ctx: BenchContext, n: number): Promise<void> {
  const { report } = ctx;
  report.heading(S);
  const ids = Array.from({ length: n }, (_, i) => `FP${String(i).padStart(9, '0')}`);
  const dst = domainSeparationTag('bench-backends', psiSuite('ristretto255'));
  const native = sodiumNative(dst);
  if (typeof native === 'string') report.note(S, native);
  const backends: Backend[] = [
    nobleRistretto(dst),
    suiteBackend(
      'x25519',
      '(a) x25519 suite: noble edwards25519 hash + node:crypto X25519 (the default suite before)',
      'RFC 9380 edwards25519_XMD:SHA-512_ELL2_RO_',
    ),
    ...(typeof native === 'string' ? [] : [native]),
    suiteBackend(
      'ristretto255',
      '(c) libsodium-wrappers-sumo ristretto255, WebAssembly (the ristretto255 suite now, default)',
      'RFC 9380 hash_to_ristretto255',
    ),
  ];
  const perId: Record<string, number> = {};
  for (const b of backends) {
    // Warm-up (JIT, WebAssembly tiers), not timed.
    for (const id of ids.slice(0, Math.min(200, n))) b.reblind(b.hashAndBlind(id));
    const blinded: Uint8Array[] = new Array(n);
    const c0 = process.cpuUsage();
    let t = performance.now();
    for (let i = 0; i < n; i++) blinded[i] = b.hashAndBlind(ids[i]!);
    const blindUs = ((performance.now() - t) * 1000) / n;
    t = performance.now();
    for (let i = 0; i < n; i++) b.reblind(blinded[i]!);
    const reblindUs = ((performance.now() - t) * 1000) / n;
    const c = process.cpuUsage(c0);
    const cpuUs = (c.user + c.system) / n;
    const total = blindUs + reblindUs;
    perId[b.name] = total;
    report.add({
      section: S,
      name: b.name,
      value: total,
      unit: 'µs per id',
      note: `hash+blind ${blindUs.toFixed(0)} µs, re-blind ${reblindUs.toFixed(0)} µs (wall); ${cpuUs.toFixed(0)} µs CPU per id; 10^5 ids per provider ≈ ${((total * 1e5) / 1e6).toFixed(1)} s on one core; ${b.note}; ${n.toLocaleString('en-US')} ids`,
    });
  }
  // Same published hash, same bytes: noble (before) and libsodium (now).
  const now = backends.find((b) => b.name.startsWith('(c)'))!;
  const before = backends[0]!;
  let equal = 0;
  for (const id of ids.slice(0, Math.min(1000, n))) {
    if (Buffer.from(now.hash!(id)).equals(Buffer.from(before.hash!(id)))) equal++;
  }
  report.add({
    section: S,
    name: 'H(id) of (c) equals H(id) of (a) noble, byte for byte',
    value: `${equal} of ${Math.min(1000, n)}`,
  });
  const fastestBefore = Math.min(perId[before.name]!, perId[backends[1]!.name]!);
  report.add({
    section: S,
    name: 'speed-up of (c) over the faster of today’s suites',
    value: fastestBefore / perId[now.name]!,
    unit: '×',
  });
}
