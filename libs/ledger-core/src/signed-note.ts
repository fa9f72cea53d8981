/**
 * C2SP signed-note (https://c2sp.org/signed-note) with Ed25519 signatures (type 0x01):
 * text ending in a newline, a blank line, then lines "— <key name> base64(key ID || signature)".
 */
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

export type NoteErrorCode = 'MALFORMED_NOTE' | 'MALFORMED_CHECKPOINT' | 'NO_SIGNATURE' | 'BAD_SIGNATURE';

/** A note or checkpoint that is malformed or not signed by the expected key. */
export class NoteError extends Error {
  override readonly name = 'NoteError';
  constructor(
    readonly code: NoteErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** One signature line of a note. */
export interface NoteSignature {
  readonly keyName: string;
  /** uint32 key ID (big-endian first 4 bytes of the decoded signature field). */
  readonly keyId: number;
  /** The signature bytes after the key ID. */
  readonly signature: Uint8Array;
}

export interface ParsedNote {
  /** The signed text, including its final newline. */
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

/** signed-note: "Ed25519 signatures ... signature type identifier byte 0x01". */
const SIG_TYPE_ED25519 = 0x01;
const ED25519_SIG_SIZE = 64;
/** The spec asks verifiers to accept at least 16 signatures and to bound them; 100 as in Go's sumdb/note. */
const MAX_SIGNATURES = 100;
const MAX_NOTE_BYTES = 1 << 20;
const SIG_PREFIX = '\u2014 ';

/** Key names: non-empty, no Unicode spaces, no '+' (signed-note §Format). */
export function checkKeyName(keyName: unknown): string {
  if (typeof keyName !== 'string' || keyName.length === 0 || /[\s+]/u.test(keyName) || hasControl(keyName)) {
    throw new TypeError('key name: must be a non-empty string without spaces, "+" or control characters');
  }
  return keyName;
}

function hasControl(s: string): boolean {
  // "MUST NOT contain any ASCII control characters (those below U+0020) other than newline".
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 && c !== 0x0a) return true;
  }
  return false;
}

function ed25519Key(key: unknown, kind: 'private' | 'public', name: string): KeyObject {
  const k = key as KeyObject;
  if (typeof key !== 'object' || key === null || typeof k.asymmetricKeyType !== 'string') {
    throw new TypeError(`${name}: expected a node:crypto KeyObject`);
  }
  if (k.asymmetricKeyType !== 'ed25519' || k.type !== kind) {
    throw new TypeError(`${name}: expected an Ed25519 ${kind} key, got ${k.asymmetricKeyType} ${k.type}`);
  }
  return k;
}

/** The 32-byte RFC 8032 encoding of an Ed25519 public key (from a public or private KeyObject). */
export function rawEd25519PublicKey(key: KeyObject): Uint8Array {
  const pub = key.type === 'private' ? createPublicKey(key) : ed25519Key(key, 'public', 'rawEd25519PublicKey(key)');
  const jwk = pub.export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new TypeError('rawEd25519PublicKey: not an Ed25519 key');
  return Uint8Array.from(Buffer.from(jwk.x, 'base64url'));
}

/** key ID = SHA-256(key name || 0x0A || 0x01 || 32-byte Ed25519 public key)[:4], as a uint32 (signed-note). */
export function noteKeyId(keyName: string, publicKey: KeyObject): number {
  checkKeyName(keyName);
  const digest = createHash('sha256')
    .update(keyName, 'utf8')
    .update(Uint8Array.of(0x0a, SIG_TYPE_ED25519))
    .update(rawEd25519PublicKey(publicKey))
    .digest();
  return digest.readUInt32BE(0);
}

/**
 * The verifier key string of golang.org/x/mod/sumdb/note ("<name>+<key ID hex>+base64(0x01 || key)"),
 * a compact form in which to publish the ledger's public key.
 */
export function noteVerifierKey(keyName: string, publicKey: KeyObject): string {
  const id = noteKeyId(keyName, publicKey).toString(16).padStart(8, '0');
  const body = Buffer.concat([Uint8Array.of(SIG_TYPE_ED25519), rawEd25519PublicKey(publicKey)]).toString('base64');
  return `${keyName}+${id}+${body}`;
}

function checkText(text: unknown, code: NoteErrorCode): string {
  if (typeof text !== 'string') throw new TypeError('note text: expected a string');
  if (!text.endsWith('\n')) throw new NoteError(code, 'note text must end with a newline');
  if (hasControl(text)) throw new NoteError(code, 'note text contains a control character other than newline');
  if (/\p{Cs}/u.test(text)) throw new NoteError(code, 'note text is not valid Unicode (lone surrogate)');
  return text;
}

/** Signs `text` (which must end in a newline) and returns the complete signed note. */
export function signNote(text: string, privateKey: KeyObject, keyName: string): string {
  checkText(text, 'MALFORMED_NOTE');
  checkKeyName(keyName);
  const key = ed25519Key(privateKey, 'private', 'signNote(privateKey)');
  const sig = sign(null, Buffer.from(text, 'utf8'), key);
  const id = Buffer.alloc(4);
  id.writeUInt32BE(noteKeyId(keyName, key));
  return `${text}\n${SIG_PREFIX}${keyName} ${Buffer.concat([id, sig]).toString('base64')}\n`;
}

/** Strict standard base64 (RFC 4648 §4): canonical padding, nothing else accepted. */
function strictBase64(s: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) return undefined;
  const b = Buffer.from(s, 'base64');
  return b.toString('base64') === s ? Uint8Array.from(b) : undefined;
}

/** Splits a signed note into text and signature lines, without verifying anything. */
export function parseNote(note: string): ParsedNote {
  if (typeof note !== 'string') throw new TypeError('parseNote: expected a string');
  if (Buffer.byteLength(note, 'utf8') > MAX_NOTE_BYTES) throw new NoteError('MALFORMED_NOTE', 'note is too large');
  // "the text is separated from the signatures by the last empty line in the note".
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw new NoteError('MALFORMED_NOTE', 'note has no blank line before its signatures');
  const text = checkText(note.slice(0, split + 1), 'MALFORMED_NOTE');
  const block = note.slice(split + 2);
  if (!block.endsWith('\n')) throw new NoteError('MALFORMED_NOTE', 'signature block must end with a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) throw new NoteError('MALFORMED_NOTE', `note has more than ${MAX_SIGNATURES} signatures`);
  const signatures = lines.map((line, i): NoteSignature => {
    if (!line.startsWith(SIG_PREFIX)) throw new NoteError('MALFORMED_NOTE', `signature line ${i + 1} does not start with an em dash`);
    const parts = line.slice(SIG_PREFIX.length).split(' ');
    if (parts.length !== 2) throw new NoteError('MALFORMED_NOTE', `signature line ${i + 1}: expected "— <name> <base64>"`);
    const [keyName, b64] = parts as [string, string];
    try {
      checkKeyName(keyName);
    } catch {
      throw new NoteError('MALFORMED_NOTE', `signature line ${i + 1}: invalid key name`);
    }
    const raw = strictBase64(b64);
    if (raw === undefined || raw.length < 5) throw new NoteError('MALFORMED_NOTE', `signature line ${i + 1}: invalid base64 signature`);
    return { keyName, keyId: Buffer.from(raw).readUInt32BE(0), signature: raw.slice(4) };
  });
  return { text, signatures };
}

/**
 * Returns the note's text if it carries a valid signature by (keyName, publicKey). Per the spec,
 * signatures by other keys are ignored; a signature by this key that fails rejects the note.
 */
export function verifyNote(note: string, publicKey: KeyObject, keyName: string): string {
  const key = ed25519Key(publicKey, 'public', 'verifyNote(publicKey)');
  const id = noteKeyId(keyName, key);
  const { text, signatures } = parseNote(note);
  const ours = signatures.filter((s) => s.keyName === keyName && s.keyId === id);
  if (ours.length === 0)
    throw new NoteError('NO_SIGNATURE', `note has no signature by key "${keyName}" (${id.toString(16).padStart(8, '0')})`);
  for (const s of ours) {
    const ok = s.signature.length === ED25519_SIG_SIZE && verify(null, Buffer.from(text, 'utf8'), key, s.signature);
    if (!ok) throw new NoteError('BAD_SIGNATURE', `signature by key "${keyName}" does not verify`);
  }
  return text;
}
