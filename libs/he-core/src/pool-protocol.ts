/**
 * Messages between {@link HePool} and its worker threads (structured-clone friendly: typed arrays,
 * strings, numbers). Keysets are sent once per worker and then referred to by fingerprint.
 * @module
 */
import type { HeErrorCode } from './errors.js';

/** A keyset reference: `bytes` is present the first time a worker sees `fingerprint`. */
export interface KeysetRef {
  fingerprint: string;
  bytes?: Uint8Array;
}

export type PoolTask =
  /** `bound`: the public bound of the values, required for BFV keysets (see BfvEngine.encrypt). */
  | { kind: 'encrypt'; keyset: KeysetRef; vectors: Float64Array[]; bound?: number }
  | { kind: 'sum'; keyset: KeysetRef; saved: Uint8Array[] }
  | { kind: 'decrypt'; secret: KeysetRef; saved: Uint8Array[] };

export type PoolRequest = { id: number; task: PoolTask };

export type PoolResult =
  | { kind: 'encrypt'; saved: Uint8Array[] }
  | { kind: 'sum'; saved: Uint8Array }
  /** Float64Array for CKKS, exact BigInt64Array for BFV. */
  | { kind: 'decrypt'; values: (Float64Array | BigInt64Array)[] };

export type PoolResponse =
  { id: number; ok: true; result: PoolResult } | { id: number; ok: false; error: { code: HeErrorCode | null; message: string } };
