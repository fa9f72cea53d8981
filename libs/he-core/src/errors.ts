/**
 * Typed errors of the HE core. Every failure a caller can provoke (bad arguments, foreign or damaged
 * bytes, missing keys, exhausted modulus chain or noise budget, a BFV result
 * that could exceed the plain modulus) surfaces as an {@link HeError} with a stable code, never
 * as a raw SEAL exception or a WebAssembly abort.
 * @module
 */

export type HeErrorCode =
  | 'BAD_ARGUMENT'
  | 'BAD_PARAMS'
  | 'CORRUPT'
  | 'PARAMS_MISMATCH'
  | 'KEYSET_MISMATCH'
  | 'MISSING_GALOIS_STEP'
  | 'MISSING_RELIN_KEYS'
  | 'DEPTH_EXCEEDED'
  | 'LEVEL_EXHAUSTED'
  | 'MAGNITUDE_EXCEEDED'
  | 'NOISE_EXHAUSTED'
  /** A serialised object that would inflate beyond what its parameters allow (a compression bomb). */
  | 'TOO_LARGE';

const CODES: ReadonlySet<string> = new Set<HeErrorCode>([
  'BAD_ARGUMENT',
  'BAD_PARAMS',
  'CORRUPT',
  'PARAMS_MISMATCH',
  'KEYSET_MISMATCH',
  'MISSING_GALOIS_STEP',
  'MISSING_RELIN_KEYS',
  'DEPTH_EXCEEDED',
  'LEVEL_EXHAUSTED',
  'MAGNITUDE_EXCEEDED',
  'NOISE_EXHAUSTED',
  'TOO_LARGE',
]);

/** True when `code` is one of the {@link HeErrorCode} values (used when errors cross a worker boundary). */
export function isHeErrorCode(code: unknown): code is HeErrorCode {
  return typeof code === 'string' && CODES.has(code);
}

export class HeError extends Error {
  readonly code: HeErrorCode;
  constructor(code: HeErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.name = 'HeError';
    this.code = code;
  }
}

/** Message of an unknown thrown value (SEAL's throws-build raises Error objects; aborts raise RuntimeError). */
export function describeThrown(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
