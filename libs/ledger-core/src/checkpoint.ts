/**
 * C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint): a signed note whose text is
 * "<origin>\n<tree size>\n<base64 root>\n" followed by optional extension lines. The ledger adds
 * one extension line, "time <ISO 8601 UTC>", when the checkpoint was produced.
 */
import type { KeyObject } from 'node:crypto';
import { HASH_SIZE } from './hash.js';
import { NoteError, parseNote, signNote, verifyNote, type NoteSignature } from './signed-note.js';

export interface Checkpoint {
  /** Log identity, first line of the note. */
  readonly origin: string;
  /** Number of leaves. */
  readonly size: number;
  /** RFC 6962 root hash of the first `size` leaves. */
  readonly root: Uint8Array;
  /** Time the checkpoint was produced (from the "time" extension line), if present. */
  readonly time?: Date;
  /** Extension lines other than "time", verbatim. */
  readonly extensions: readonly string[];
}

export interface ParsedCheckpoint extends Checkpoint {
  /** The signed note text (body). */
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

export interface CheckpointInput {
  readonly origin: string;
  readonly size: number;
  readonly root: Uint8Array;
  readonly time?: Date;
}

const TIME_PREFIX = 'time ';
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/;

function malformed(message: string): NoteError {
  return new NoteError('MALFORMED_CHECKPOINT', message);
}

/** The note text of a checkpoint (what gets signed). */
export function checkpointText(cp: CheckpointInput): string {
  if (typeof cp.origin !== 'string' || cp.origin.length === 0 || cp.origin.includes('\n')) {
    throw new TypeError('checkpoint origin: expected a non-empty single-line string');
  }
  if (!Number.isSafeInteger(cp.size) || cp.size < 0) {
    throw new RangeError(`checkpoint size: expected a non-negative safe integer, got ${String(cp.size)}`);
  }
  if (!(cp.root instanceof Uint8Array) || cp.root.length !== HASH_SIZE) {
    throw new RangeError(`checkpoint root: expected ${HASH_SIZE} bytes`);
  }
  let text = `${cp.origin}\n${cp.size}\n${Buffer.from(cp.root).toString('base64')}\n`;
  if (cp.time !== undefined) {
    if (!(cp.time instanceof Date) || Number.isNaN(cp.time.getTime())) throw new TypeError('checkpoint time: expected a valid Date');
    text += `${TIME_PREFIX}${cp.time.toISOString()}\n`;
  }
  return text;
}

/** Produces the signed checkpoint note for (origin, size, root[, time]) with an Ed25519 key. */
export function signCheckpoint(cp: CheckpointInput, privateKey: KeyObject, keyName: string): string {
  return signNote(checkpointText(cp), privateKey, keyName);
}

function parseBody(text: string): Checkpoint {
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw malformed('checkpoint needs origin, size and root lines');
  const [origin, sizeLine, rootLine, ...rest] = lines as [string, string, string, ...string[]];
  if (origin.length === 0) throw malformed('checkpoint origin is empty');
  // "ASCII decimal ... with no leading zeroes (unless the tree is empty)".
  if (!/^(0|[1-9]\d*)$/.test(sizeLine)) throw malformed('checkpoint size is not a decimal without leading zeros');
  const size = Number(sizeLine);
  if (!Number.isSafeInteger(size)) throw malformed('checkpoint size is too large');
  const root = Buffer.from(rootLine, 'base64');
  if (root.length !== HASH_SIZE || root.toString('base64') !== rootLine) {
    throw malformed(`checkpoint root is not the base64 of ${HASH_SIZE} bytes`);
  }
  let time: Date | undefined;
  const extensions: string[] = [];
  for (const line of rest) {
    if (line.length === 0) throw malformed('checkpoint extension lines must be non-empty');
    if (line.startsWith(TIME_PREFIX) && time === undefined) {
      const iso = line.slice(TIME_PREFIX.length);
      const t = new Date(iso);
      if (!ISO_UTC.test(iso) || Number.isNaN(t.getTime())) throw malformed('checkpoint time line is not an ISO 8601 UTC time');
      time = t;
    } else {
      extensions.push(line);
    }
  }
  const base = { origin, size, root: Uint8Array.from(root), extensions };
  return time === undefined ? base : { ...base, time };
}

/** Parses a signed checkpoint without verifying its signature (see verifyCheckpoint). */
export function parseCheckpoint(note: string): ParsedCheckpoint {
  const { text, signatures } = parseNote(note);
  return { ...parseBody(text), text, signatures };
}

/**
 * Returns the checkpoint if `note` is well formed and signed by (keyName, publicKey); throws a
 * NoteError (MALFORMED_NOTE, MALFORMED_CHECKPOINT, NO_SIGNATURE or BAD_SIGNATURE) otherwise.
 */
export function verifyCheckpoint(note: string, publicKey: KeyObject, keyName: string): Checkpoint {
  const text = verifyNote(note, publicKey, keyName);
  return parseBody(text);
}
