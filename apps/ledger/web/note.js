// C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 signatures and C2SP tlog checkpoints
// (https://c2sp.org/tlog-checkpoint), verified in the browser with WebCrypto. Mirrors
// libs/ledger-core/src/signed-note.ts and checkpoint.ts.
import { base64ToBytes, bytesToHex, concatBytes, HASH_SIZE, sha256 } from './merkle.js';

/** signed-note: "Ed25519 signatures ... signature type identifier byte 0x01". */
const SIG_TYPE_ED25519 = 0x01;
const ED25519_SIG_SIZE = 64;
const MAX_SIGNATURES = 100;
const SIG_PREFIX = '\u2014 ';

export class NoteError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'NoteError';
    this.code = code;
  }
}

function hasControl(s) {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 && c !== 0x0a) return true;
  }
  return false;
}

function checkKeyName(keyName) {
  if (typeof keyName !== 'string' || keyName.length === 0 || /[\s+]/u.test(keyName) || hasControl(keyName)) {
    throw new NoteError('MALFORMED_NOTE', 'key name must be non-empty, without spaces, "+" or control characters');
  }
  return keyName;
}

/** Splits a signed note into its text (ending in a newline) and signature lines, verifying nothing. */
export function parseNote(note) {
  if (typeof note !== 'string') throw new NoteError('MALFORMED_NOTE', 'note: expected text');
  // "the text is separated from the signatures by the last empty line in the note".
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw new NoteError('MALFORMED_NOTE', 'note has no blank line before its signatures');
  const text = note.slice(0, split + 1);
  if (hasControl(text)) throw new NoteError('MALFORMED_NOTE', 'note text contains a control character other than newline');
  const block = note.slice(split + 2);
  if (!block.endsWith('\n')) throw new NoteError('MALFORMED_NOTE', 'signature block must end with a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) throw new NoteError('MALFORMED_NOTE', `note has more than ${MAX_SIGNATURES} signatures`);
  const signatures = lines.map((line, i) => {
    if (!line.startsWith(SIG_PREFIX)) throw new NoteError('MALFORMED_NOTE', `signature line ${i + 1} does not start with an em dash`);
    const parts = line.slice(SIG_PREFIX.length).split(' ');
    if (parts.length !== 2) throw new NoteError('MALFORMED_NOTE', `signature line ${i + 1}: expected "— <name> <base64>"`);
    const [keyName, b64] = parts;
    checkKeyName(keyName);
    const raw = base64ToBytes(b64);
    if (raw === undefined || raw.length < 5) throw new NoteError('MALFORMED_NOTE', `signature line ${i + 1}: invalid base64 signature`);
    const keyId = ((raw[0] << 24) >>> 0) + (raw[1] << 16) + (raw[2] << 8) + raw[3];
    return { keyName, keyId, signature: raw.slice(4) };
  });
  return { text, signatures };
}

/** Parses the checkpoint body: origin, decimal size, base64 root, then extension lines (the ledger adds "time <ISO>"). */
export function parseCheckpointText(text) {
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw new NoteError('MALFORMED_CHECKPOINT', 'checkpoint needs origin, size and root lines');
  const [origin, sizeLine, rootLine, ...rest] = lines;
  if (origin.length === 0) throw new NoteError('MALFORMED_CHECKPOINT', 'checkpoint origin is empty');
  if (!/^(0|[1-9]\d*)$/.test(sizeLine))
    throw new NoteError('MALFORMED_CHECKPOINT', 'checkpoint size is not a decimal without leading zeros');
  const size = Number(sizeLine);
  if (!Number.isSafeInteger(size)) throw new NoteError('MALFORMED_CHECKPOINT', 'checkpoint size is too large');
  const root = base64ToBytes(rootLine);
  if (!root || root.length !== HASH_SIZE)
    throw new NoteError('MALFORMED_CHECKPOINT', `checkpoint root is not the base64 of ${HASH_SIZE} bytes`);
  let time;
  const extensions = [];
  for (const line of rest) {
    if (line.length === 0) throw new NoteError('MALFORMED_CHECKPOINT', 'checkpoint extension lines must be non-empty');
    if (line.startsWith('time ') && time === undefined) time = line.slice(5);
    else extensions.push(line);
  }
  return { origin, size, root, rootBase64: rootLine, time, extensions };
}

/** The DER SubjectPublicKeyInfo bytes inside a PEM "PUBLIC KEY" block. */
export function pemToDer(pem) {
  const m = /-----BEGIN PUBLIC KEY-----([\s\S]+?)-----END PUBLIC KEY-----/.exec(pem ?? '');
  const der = m ? base64ToBytes(m[1].replace(/\s+/g, '')) : undefined;
  if (!der) throw new NoteError('BAD_KEY', 'the public key is not a PEM "PUBLIC KEY" block');
  return der;
}

/** Imports an Ed25519 SPKI PEM key; returns the CryptoKey and its 32-byte RFC 8032 encoding. */
export async function importEd25519Pem(pem) {
  const der = pemToDer(pem);
  if (!globalThis.crypto?.subtle)
    throw new NoteError('NO_WEBCRYPTO', 'WebCrypto is not available: open the console over https or on localhost');
  let key;
  try {
    key = await crypto.subtle.importKey('spki', der, { name: 'Ed25519' }, true, ['verify']);
  } catch (e) {
    throw new NoteError('BAD_KEY', `the public key is not an Ed25519 key this browser can use (${e?.name ?? 'error'})`);
  }
  const raw = new Uint8Array(await crypto.subtle.exportKey('raw', key));
  return { key, raw };
}

/** key ID = SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4] as a uint32 (signed-note §Ed25519). */
export async function noteKeyId(keyName, rawPublicKey) {
  checkKeyName(keyName);
  const d = await sha256(concatBytes(new TextEncoder().encode(keyName), Uint8Array.of(0x0a, SIG_TYPE_ED25519), rawPublicKey));
  return ((d[0] << 24) >>> 0) + (d[1] << 16) + (d[2] << 8) + d[3];
}

export function keyIdHex(id) {
  return id.toString(16).padStart(8, '0');
}

/**
 * Verifies a signed checkpoint against (keyName, public key PEM). Per signed-note, signatures by other
 * keys are ignored and one by this key that fails rejects the note. Returns the parsed checkpoint plus
 * the key id and a fingerprint of the key (hex SHA-256 of its raw bytes) for pinning.
 */
export async function verifyCheckpointNote(note, keyName, publicKeyPem) {
  const { key, raw } = await importEd25519Pem(publicKeyPem);
  const id = await noteKeyId(keyName, raw);
  const { text, signatures } = parseNote(note);
  const ours = signatures.filter((s) => s.keyName === keyName && s.keyId === id);
  if (ours.length === 0) throw new NoteError('NO_SIGNATURE', `the checkpoint has no signature by key "${keyName}" (${keyIdHex(id)})`);
  const data = new TextEncoder().encode(text);
  for (const s of ours) {
    const ok = s.signature.length === ED25519_SIG_SIZE && (await crypto.subtle.verify({ name: 'Ed25519' }, key, s.signature, data));
    if (!ok) throw new NoteError('BAD_SIGNATURE', `the signature by key "${keyName}" does not verify`);
  }
  const cp = parseCheckpointText(text);
  return { ...cp, text, note, keyName, keyId: keyIdHex(id), keyFingerprint: bytesToHex(await sha256(raw)) };
}
