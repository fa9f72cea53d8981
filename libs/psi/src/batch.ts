import { POINT_BYTES } from './suite.js';

/**
 * A PSI message: n group elements as n concatenated 32-byte canonical encodings. One flat
 * buffer (not an array of arrays) so 10^5 points move as one 3.2 MB body or base64 string.
 */
export type PointBatch = Uint8Array;

export function batchLength(batch: PointBatch, name = 'batch'): number {
  if (!(batch instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`);
  if (batch.length % POINT_BYTES !== 0) {
    throw new RangeError(`${name} length ${batch.length} is not a multiple of ${POINT_BYTES}`);
  }
  return batch.length / POINT_BYTES;
}

export function pointAt(batch: PointBatch, i: number): Uint8Array {
  return batch.subarray(i * POINT_BYTES, (i + 1) * POINT_BYTES);
}

/** Base64 for JSON bodies and queue payloads. */
export function batchToBase64(batch: PointBatch): string {
  batchLength(batch);
  return Buffer.from(batch.buffer, batch.byteOffset, batch.byteLength).toString('base64');
}

export function batchFromBase64(text: string): PointBatch {
  if (typeof text !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new TypeError('batch must be a base64 string');
  const b = new Uint8Array(Buffer.from(text, 'base64'));
  batchLength(b);
  return b;
}
