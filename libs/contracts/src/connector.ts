/**
 * Framing of a connector's ciphertext upload (one HTTP body): a 4-byte big-endian header length, the header
 * (UTF-8 JSON: metadata and, per feature, the byte length of each chunk), then every chunk's bytes in order.
 */
export interface UploadHeader {
  meta: Record<string, unknown>;
  features: { id: string; sizes: number[] }[];
}

/**
 * Ciphertexts of one feature a connector sends in one part of an upload: the broker bounds a part's body
 * by this many of the plan's ciphertexts (it is held in memory while it is stored).
 */
export const UPLOAD_BATCH_CHUNKS = 64;

export function frameUpload(meta: Record<string, unknown>, features: { id: string; chunks: Uint8Array[] }[]): Uint8Array[] {
  const header: UploadHeader = { meta, features: features.map((f) => ({ id: f.id, sizes: f.chunks.map((c) => c.length) })) };
  const h = new TextEncoder().encode(JSON.stringify(header));
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, h.length);
  return [len, h, ...features.flatMap((f) => f.chunks)];
}

export function unframeUpload(body: Uint8Array): { meta: Record<string, unknown>; features: { id: string; chunks: Uint8Array[] }[] } {
  if (body.length < 4) throw new RangeError('upload too short');
  const hl = new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(0);
  if (4 + hl > body.length) throw new RangeError('upload header overruns the body');
  const header = JSON.parse(new TextDecoder().decode(body.subarray(4, 4 + hl))) as UploadHeader;
  if (!header || typeof header !== 'object' || !Array.isArray(header.features)) throw new RangeError('bad upload header');
  let at = 4 + hl;
  const features = header.features.map((f) => {
    if (typeof f.id !== 'string' || !Array.isArray(f.sizes)) throw new RangeError('bad feature in upload header');
    return {
      id: f.id,
      chunks: f.sizes.map((n) => {
        if (!Number.isInteger(n) || n < 0 || at + n > body.length) throw new RangeError('chunk overruns the body');
        const c = body.subarray(at, at + n);
        at += n;
        return c;
      }),
    };
  });
  if (at !== body.length) throw new RangeError('trailing bytes after the last chunk');
  return { meta: header.meta ?? {}, features };
}
