import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NoteError, noteKeyId, noteVerifierKey, parseNote, signNote, verifyNote } from './signed-note.js';
import { parseCheckpoint, signCheckpoint, verifyCheckpoint } from './checkpoint.js';
import { generateSigningKey, loadOrCreateSigningKey, publicKeyFromPem, publicKeyPem } from './signing-key.js';
import { leafHash } from './hash.js';

// Known answer from golang.org/x/mod/sumdb/note (the reference implementation of signed notes):
// signer key "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz".
const PN_SEED = Buffer.from('AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz', 'base64').subarray(1);
const PN_VERIFIER = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const PN_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PN_NOTE = `${PN_TEXT}\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;
// RFC 8410 PKCS#8 wrapping of a raw Ed25519 seed.
const pnPrivate = createPrivateKey({
  key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), PN_SEED]),
  format: 'der',
  type: 'pkcs8',
});
const pnPublic = createPublicKey(pnPrivate);

test('signed-note known answer: key ID, verifier key and signature byte for byte', () => {
  assert.equal(noteKeyId('PeterNeumann', pnPublic), 0xc74f20a3);
  assert.equal(noteVerifierKey('PeterNeumann', pnPublic), PN_VERIFIER);
  assert.equal(signNote(PN_TEXT, pnPrivate, 'PeterNeumann'), PN_NOTE);
  assert.equal(verifyNote(PN_NOTE, pnPublic, 'PeterNeumann'), PN_TEXT);
});

test('signed-note: unknown keys ignored, failing known key rejected, malformed notes refused', () => {
  const other = generateSigningKey();
  const extra = signNote(PN_TEXT, other.privateKey, 'someone.else').split('\n\n')[1] as string;
  const twoSigs = PN_NOTE + extra;
  assert.equal(parseNote(twoSigs).signatures.length, 2);
  assert.equal(verifyNote(twoSigs, pnPublic, 'PeterNeumann'), PN_TEXT);
  assert.throws(
    () => verifyNote(PN_NOTE, other.publicKey, 'PeterNeumann'),
    (e: unknown) => e instanceof NoteError && e.code === 'NO_SIGNATURE',
  );
  const altered = PN_NOTE.replace('answer', 'Answer');
  assert.throws(
    () => verifyNote(altered, pnPublic, 'PeterNeumann'),
    (e: unknown) => e instanceof NoteError && e.code === 'BAD_SIGNATURE',
  );
  for (const bad of [
    PN_TEXT,
    PN_NOTE.replace('\u2014', '-'),
    PN_NOTE.slice(0, -1),
    PN_NOTE.replace('AM=', 'AM'),
    PN_NOTE.replace('If', 'If\t'),
  ]) {
    assert.throws(() => verifyNote(bad, pnPublic, 'PeterNeumann'), NoteError);
  }
  assert.throws(() => signNote('no newline', pnPrivate, 'PeterNeumann'), NoteError);
  assert.throws(() => signNote(PN_TEXT, pnPrivate, 'has space'), /key name/);
  assert.throws(() => signNote(PN_TEXT, pnPrivate, 'a+b'), /key name/);
  assert.throws(() => signNote(PN_TEXT, pnPublic, 'PeterNeumann'), /expected an Ed25519 private key/);
});

test('checkpoint: C2SP body, time extension, round trip', () => {
  const { privateKey, publicKey } = generateSigningKey();
  const root = leafHash(new Uint8Array(0));
  const time = new Date('2025-06-01T12:00:00.000Z');
  const note = signCheckpoint({ origin: 'dataspace.example/ledger', size: 1, root, time }, privateKey, 'dataspace.example/ledger');
  const [body, sig] = note.split('\n\n') as [string, string];
  assert.equal(body, `dataspace.example/ledger\n1\nbjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=\ntime 2025-06-01T12:00:00.000Z`);
  assert.match(sig, /^\u2014 dataspace\.example\/ledger [A-Za-z0-9+/]{91}=\n$/);
  const cp = verifyCheckpoint(note, publicKey, 'dataspace.example/ledger');
  assert.equal(cp.origin, 'dataspace.example/ledger');
  assert.equal(cp.size, 1);
  assert.deepEqual(cp.root, root);
  assert.equal(cp.time?.toISOString(), time.toISOString());
  const parsed = parseCheckpoint(note);
  assert.equal(parsed.signatures.length, 1);
  assert.equal(parsed.signatures[0]?.keyId, noteKeyId('dataspace.example/ledger', publicKey));
  const noTime = verifyCheckpoint(signCheckpoint({ origin: 'o', size: 0, root }, privateKey, 'o'), publicKey, 'o');
  assert.equal(noTime.time, undefined);
});

test('checkpoint: tampering, other keys and malformed bodies are rejected', () => {
  const { privateKey, publicKey } = generateSigningKey();
  const mallory = generateSigningKey();
  const root = leafHash(new Uint8Array([1]));
  const note = signCheckpoint({ origin: 'log', size: 10, root }, privateKey, 'log');
  const code = (c: string) => (e: unknown) => e instanceof NoteError && e.code === c;
  assert.throws(() => verifyCheckpoint(note.replace('\n10\n', '\n11\n'), publicKey, 'log'), code('BAD_SIGNATURE'));
  const resigned = signCheckpoint({ origin: 'log', size: 10, root }, mallory.privateKey, 'log');
  assert.throws(() => verifyCheckpoint(resigned, publicKey, 'log'), code('NO_SIGNATURE'));
  assert.throws(() => verifyCheckpoint(note, publicKey, 'other-name'), code('NO_SIGNATURE'));
  const bodies = ['log\n010\n', 'log\n-1\n', `log\n1\n${Buffer.alloc(31).toString('base64')}\n`, '\n1\nAAAA\n', 'log\n1\n'];
  for (const b of bodies) {
    const n = signCheckpoint({ origin: 'log', size: 1, root }, privateKey, 'log').replace(/^[^]*?\n\n/, () => '');
    const forged = `${b}\n${n}`;
    assert.throws(() => parseCheckpoint(forged), NoteError, JSON.stringify(b));
  }
  assert.throws(() => signCheckpoint({ origin: 'log', size: 1.5, root }, privateKey, 'log'), /checkpoint size/);
  assert.throws(() => signCheckpoint({ origin: 'log', size: 1, root: root.subarray(1) }, privateKey, 'log'), /checkpoint root/);
});

test('loadOrCreateSigningKey: 0600 PKCS#8 key, published SPKI key, stable across loads', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ledger-key-'));
  try {
    const a = await loadOrCreateSigningKey(join(dir, 'data'));
    assert.equal(a.created, true);
    assert.equal((await stat(a.privateKeyPath)).mode & 0o777, 0o600);
    assert.match(await readFile(a.privateKeyPath, 'utf8'), /^-----BEGIN PRIVATE KEY-----/);
    const pub = publicKeyFromPem(await readFile(a.publicKeyPath, 'utf8'));
    const b = await loadOrCreateSigningKey(join(dir, 'data'));
    assert.equal(b.created, false);
    const note = signCheckpoint({ origin: 'log', size: 0, root: leafHash(new Uint8Array(0)) }, b.privateKey, 'log');
    assert.equal(verifyCheckpoint(note, pub, 'log').size, 0);
    await chmod(a.privateKeyPath, 0o644);
    await assert.rejects(loadOrCreateSigningKey(join(dir, 'data')), /too open; run chmod 600/);
    await chmod(a.privateKeyPath, 0o600);
    await writeFile(a.publicKeyPath, publicKeyPem(generateSigningKey().publicKey));
    await assert.rejects(loadOrCreateSigningKey(join(dir, 'data')), /does not belong to/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
