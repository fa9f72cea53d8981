/**
 * The ledger's Ed25519 checkpoint key: PKCS#8 PEM in `<dir>/ledger-signing.key` (mode 0600) and
 * its SPKI PEM public key in `<dir>/ledger-signing.pub`, created on first use.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { rawEd25519PublicKey } from './signed-note.js';

export const SIGNING_KEY_FILE = 'ledger-signing.key';
export const PUBLIC_KEY_FILE = 'ledger-signing.pub';

export interface SigningKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export interface StoredSigningKey extends SigningKey {
  readonly privateKeyPath: string;
  readonly publicKeyPath: string;
  /** True if this call generated the key. */
  readonly created: boolean;
}

/** A fresh Ed25519 key pair (RFC 8032). */
export function generateSigningKey(): SigningKey {
  return generateKeyPairSync('ed25519');
}

/** SPKI PEM of a public key — the form the ledger publishes. */
export function publicKeyPem(publicKey: KeyObject): string {
  return publicKey.export({ type: 'spki', format: 'pem' }).toString();
}

/** Loads an Ed25519 public key from SPKI PEM text. */
export function publicKeyFromPem(pem: string): KeyObject {
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') throw new TypeError(`public key: expected Ed25519, got ${key.asymmetricKeyType}`);
  return key;
}

function isNotFound(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'ENOENT';
}

function isExists(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'EEXIST';
}

async function readPrivate(path: string): Promise<KeyObject> {
  const mode = (await stat(path)).mode & 0o777;
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    // A key others can read cannot be trusted to sign the audit log; refuse rather than fix silently.
    throw new Error(`${path}: permissions ${mode.toString(8)} are too open; run chmod 600 on it`);
  }
  const key = createPrivateKey(await readFile(path, 'utf8'));
  if (key.asymmetricKeyType !== 'ed25519') throw new TypeError(`${path}: expected an Ed25519 key, got ${key.asymmetricKeyType}`);
  return key;
}

/**
 * Loads the signing key from `dir`, generating it (and the directory) on first use. The private
 * key file is created exclusively with mode 0600, so two processes starting together cannot both
 * write one. The public key file is (re)written if missing; a public key file that belongs to a
 * different key is an error.
 */
export async function loadOrCreateSigningKey(dir: string): Promise<StoredSigningKey> {
  if (typeof dir !== 'string' || dir.length === 0) throw new TypeError('loadOrCreateSigningKey(dir): expected a directory path');
  const privateKeyPath = join(dir, SIGNING_KEY_FILE);
  const publicKeyPath = join(dir, PUBLIC_KEY_FILE);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  let privateKey: KeyObject;
  let created = false;
  try {
    privateKey = await readPrivate(privateKeyPath);
  } catch (e) {
    if (!isNotFound(e)) throw e;
    const pair = generateSigningKey();
    const pem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    try {
      await writeFile(privateKeyPath, pem, { mode: 0o600, flag: 'wx' });
      await chmod(privateKeyPath, 0o600); // the umask may have narrowed the mode, never widened it
      privateKey = pair.privateKey;
      created = true;
    } catch (writeError) {
      if (!isExists(writeError)) throw writeError;
      privateKey = await readPrivate(privateKeyPath); // another process won the race
    }
  }
  const publicKey = createPublicKey(privateKey);
  const pem = publicKeyPem(publicKey);
  try {
    const existing = publicKeyFromPem(await readFile(publicKeyPath, 'utf8'));
    if (!Buffer.from(rawEd25519PublicKey(existing)).equals(rawEd25519PublicKey(publicKey))) {
      throw new Error(`${publicKeyPath} does not belong to ${privateKeyPath}`);
    }
  } catch (e) {
    if (!isNotFound(e)) throw e;
    await writeFile(publicKeyPath, pem, { mode: 0o644 });
  }
  return { privateKey, publicKey, privateKeyPath, publicKeyPath, created };
}
