import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { HeError } from './errors.js';
import {
  decodePublicKeyset,
  decodeSecretKeyset,
  encodePublicKeyset,
  encodeSecretKeyset,
  keysetFingerprint,
  type SecretKeyset,
} from './keyset.js';
import { HeEngine } from './engine.js';
import { ckksParamsForDepth } from './params.js';
import { rng } from './test-fixtures.js';

const code = (c: string) => (e: unknown) => e instanceof HeError && e.code === c;
let engine: HeEngine;
let keys: SecretKeyset;

before(async () => {
  engine = await HeEngine.create(ckksParamsForDepth(1));
  keys = engine.generateKeyset({ galoisSteps: [1, 2, -1], relin: true });
});
after(() => engine.dispose());

test('public keyset round-trips and its fingerprint covers every part', () => {
  const pub = keys.publicKeyset;
  assert.deepEqual(pub.galoisSteps, [-1, 1, 2]);
  assert.match(pub.fingerprint, /^[0-9a-f]{64}$/);
  const back = decodePublicKeyset(encodePublicKeyset(pub));
  assert.deepEqual(back, pub);
  assert.notEqual(keysetFingerprint({ ...pub, relinKeys: null }), pub.fingerprint);
  assert.notEqual(keysetFingerprint({ ...pub, galoisSteps: [1, 2] }), pub.fingerprint);
  assert.notEqual(keysetFingerprint({ ...pub, params: ckksParamsForDepth(2) }), pub.fingerprint);
  const other = engine.generateKeyset({ galoisSteps: [], relin: false }).publicKeyset;
  assert.equal(other.galoisKeys, null);
  assert.equal(other.relinKeys, null);
  assert.deepEqual(decodePublicKeyset(encodePublicKeyset(other)), other);
  assert.throws(() => encodePublicKeyset({ ...pub, fingerprint: other.fingerprint }), code('BAD_ARGUMENT'));
});

test('public keys use SEAL seeded (compressed) serialisations', () => {
  // A full public key at N=8192 with 4 key-level primes is 2 polys x 4 x 8192 x 8 bytes = 512 KiB; the
  // seeded form stores one poly plus a seed.
  assert.ok(keys.publicKeyset.publicKey.length < 300 * 1024, `public key ${keys.publicKeyset.publicKey.length} bytes`);
});

test('secret keyset round-trips', () => {
  const back = decodeSecretKeyset(encodeSecretKeyset(keys));
  assert.deepEqual(back, keys);
});

test('truncated, bit-flipped and random public keyset bytes are CORRUPT', () => {
  const blob = encodePublicKeyset(keys.publicKeyset);
  const r = rng(7);
  for (const cut of [0, 1, 4, 5, 20, 100, blob.length >> 1, blob.length - 33, blob.length - 1]) {
    assert.throws(() => decodePublicKeyset(blob.subarray(0, cut)), code('CORRUPT'), `cut ${cut}`);
  }
  for (let i = 0; i < 20; i++) {
    const b = blob.slice();
    const at = Math.floor(r() * b.length);
    b[at]! ^= 1 << Math.floor(r() * 8);
    assert.throws(() => decodePublicKeyset(b), code('CORRUPT'), `flip at ${at}`);
  }
  for (let i = 0; i < 20; i++) {
    const b = Uint8Array.from({ length: 1 + Math.floor(r() * 4096) }, () => Math.floor(r() * 256));
    if (i % 2 === 0) b.set([0x48, 0x45, 0x50, 0x4b, 1]); // valid magic + version, garbage after
    assert.throws(() => decodePublicKeyset(b), code('CORRUPT'));
  }
  assert.throws(() => decodePublicKeyset(new Uint8Array([...blob, 0])), code('CORRUPT'));
});

test('truncated and damaged secret keysets are CORRUPT', () => {
  const blob = encodeSecretKeyset(keys);
  for (const cut of [0, 10, blob.length - 1]) assert.throws(() => decodeSecretKeyset(blob.subarray(0, cut)), code('CORRUPT'));
  const b = blob.slice();
  b[100]! ^= 0x10;
  assert.throws(() => decodeSecretKeyset(b), code('CORRUPT'));
});
