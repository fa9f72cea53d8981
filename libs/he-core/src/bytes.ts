/**
 * Minimal little-endian binary writer/reader for the library's self-describing blobs.
 * The reader never reads past the end: every short read is a typed `CORRUPT` error.
 * @module
 */
import { createHash } from 'node:crypto';
import { HeError } from './errors.js';

export class ByteWriter {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  private pos = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number): this {
    this.ensure(1);
    this.view.setUint8(this.pos, v);
    this.pos += 1;
    return this;
  }
  u16(v: number): this {
    this.ensure(2);
    this.view.setUint16(this.pos, v, true);
    this.pos += 2;
    return this;
  }
  u32(v: number): this {
    this.ensure(4);
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
    return this;
  }
  i32(v: number): this {
    this.ensure(4);
    this.view.setInt32(this.pos, v, true);
    this.pos += 4;
    return this;
  }
  f64(v: number): this {
    this.ensure(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
    return this;
  }
  raw(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }
  /** u32 length prefix + bytes. */
  bytes(b: Uint8Array): this {
    return this.u32(b.length).raw(b);
  }
  /** u16 length prefix + UTF-8. */
  str(s: string): this {
    return this.bytes16(new TextEncoder().encode(s));
  }
  private bytes16(b: Uint8Array): this {
    if (b.length > 0xffff) throw new HeError('BAD_ARGUMENT', 'string too long to serialise');
    return this.u16(b.length).raw(b);
  }
  /** Appends SHA-256 of everything written so far. */
  checksum(): this {
    return this.raw(sha256(this.buf.subarray(0, this.pos)));
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

export class ByteReader {
  private readonly view: DataView;
  private pos = 0;
  constructor(
    private readonly buf: Uint8Array,
    private readonly what: string,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new HeError('CORRUPT', `${this.what}: truncated at byte ${this.pos}`);
  }
  get offset(): number {
    return this.pos;
  }
  get remaining(): number {
    return this.buf.length - this.pos;
  }
  u8(): number {
    this.need(1);
    return this.view.getUint8(this.pos++);
  }
  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  i32(): number {
    this.need(4);
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }
  f64(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }
  raw(n: number): Uint8Array {
    this.need(n);
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  bytes(): Uint8Array {
    return this.raw(this.u32());
  }
  str(): string {
    const b = this.raw(this.u16());
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(b);
    } catch {
      throw new HeError('CORRUPT', `${this.what}: invalid UTF-8 string`);
    }
  }
  expectEnd(): void {
    if (this.pos !== this.buf.length) throw new HeError('CORRUPT', `${this.what}: ${this.buf.length - this.pos} trailing bytes`);
  }
}

export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

export function fromHex(s: string): Uint8Array {
  if (!/^(?:[0-9a-f]{2})*$/.test(s)) throw new HeError('BAD_ARGUMENT', 'expected lower-case hex');
  return new Uint8Array(Buffer.from(s, 'hex'));
}

/**
 * Verifies a trailing SHA-256 over `blob[0 .. len-32]`. Called before any SEAL parsing: SEAL's loaders
 * abort the WebAssembly instance on some truncated inputs (measured: a ciphertext cut short aborts),
 * so damaged bytes must never reach them.
 */
export function verifyChecksum(blob: Uint8Array, what: string): Uint8Array {
  if (blob.length < 32) throw new HeError('CORRUPT', `${what}: too short (${blob.length} bytes)`);
  const body = blob.subarray(0, blob.length - 32);
  const want = blob.subarray(blob.length - 32);
  const got = sha256(body);
  let diff = 0;
  for (let i = 0; i < 32; i++) diff |= got[i]! ^ want[i]!;
  if (diff !== 0) throw new HeError('CORRUPT', `${what}: checksum mismatch (truncated or damaged)`);
  return body;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

/**
 * Structural check of a SEAL serialisation header (SEAL 4.x, native/src/seal/serialization.h,
 * `Serialization::SEALHeader`, 16 bytes): magic 0xA15E (LE), header size 0x10, version 4.x,
 * compression mode (0 none, 1 zlib, 2 zstd), reserved u16, u64 total size. The declared size must equal
 * the byte count, otherwise SEAL's stream reader may run past the end.
 */
export function checkSealHeader(b: Uint8Array, what: string): void {
  if (b.length < 16) throw new HeError('CORRUPT', `${what}: SEAL object shorter than its header`);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (v.getUint16(0, true) !== 0xa15e || b[2] !== 0x10 || b[3] !== 4 || b[5]! > 2) {
    throw new HeError('CORRUPT', `${what}: not a SEAL 4 serialisation`);
  }
  if (v.getBigUint64(8, true) !== BigInt(b.length)) {
    throw new HeError('CORRUPT', `${what}: SEAL header size does not match the byte count`);
  }
}

/** Compression mode byte of a SEAL header (0 none, 1 zlib, 2 zstd); header must have been checked. */
export function sealComprMode(b: Uint8Array): number {
  return b[5]!;
}
