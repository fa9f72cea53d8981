/**
 * What the CKKS engine ({@link HeEngine}) and the BFV engine ({@link BfvEngine}) share: the SEAL context
 * for a parameter set, keyset loading and checking, ciphertext ownership and lifetime (`free`, `scope`),
 * and the conversion of SEAL exceptions into typed errors. Scheme-specific arithmetic lives in the
 * subclasses.
 *
 * Memory: every SEAL object lives in the WebAssembly heap, which JS garbage collection does not see.
 * Each temporary is deleted in a `finally`; ciphertexts are freed by `free` or `scope`; keys by
 * `releaseKeys` or `dispose`.
 * @module
 */
import { ByteReader, ByteWriter, bytesEqual, checkSealHeader, fromHex, sealComprMode, sha256, toHex, verifyChecksum } from './bytes.js';
import { HeError, describeThrown } from './errors.js';
import { checkPublicShape, keysetFingerprint, normaliseSteps, type PublicKeyset, type SecretKeyset } from './keyset.js';
import { paramsId, rotationSlots, type AnyHeParams } from './params.js';
import type {
  SealCipherText,
  SealContext,
  SealDecryptor,
  SealEncryptor,
  SealEvaluator,
  SealGaloisKeys,
  SealLib,
  SealPlainText,
  SealPublicKey,
  SealRelinKeys,
  SealSecretKey,
} from './seal.js';

/** A public keyset loaded into an engine (public key, encryptor, relinearisation and Galois keys). */
export interface PublicKeyHandle {
  readonly fingerprint: string;
  readonly galoisSteps: readonly number[];
  readonly hasRelinKeys: boolean;
}

/** A secret key loaded into an engine; `fingerprint` is that of its public keyset. */
export interface SecretKeyHandle {
  readonly fingerprint: string;
}

/** One SEAL ciphertext of a packed vector, or null for a chunk known to be exactly zero. */
export type Chunk = SealCipherText | null;

/** Common part of both engines' ciphertext handles: the chunks, the vector length and the keyset. */
export abstract class SealCt {
  freed = false;
  constructor(
    readonly owner: SealEngine<AnyHeParams, SealCt, unknown>,
    readonly parts: Chunk[],
    readonly length: number,
    readonly keyset: string,
  ) {}
  get chunks(): number {
    return this.parts.length;
  }
}

export class PkHandle implements PublicKeyHandle {
  released = false;
  constructor(
    readonly fingerprint: string,
    readonly galoisSteps: readonly number[],
    readonly stepSet: ReadonlySet<number>,
    readonly publicKey: SealPublicKey,
    readonly encryptor: SealEncryptor,
    readonly relinKeys: SealRelinKeys | null,
    readonly galoisKeys: SealGaloisKeys | null,
  ) {}
  get hasRelinKeys(): boolean {
    return this.relinKeys !== null;
  }
}

export class SkHandle implements SecretKeyHandle {
  released = false;
  constructor(
    readonly fingerprint: string,
    readonly secretKey: SealSecretKey,
    readonly decryptor: SealDecryptor,
  ) {}
}

/**
 * Ciphertext blob magics by scheme ("HECT", "HEBT"). Both formats are: magic | u8 version | str paramsId
 * | 32-byte keyset fingerprint | scheme header | u32 length | u32 chunks | per chunk: u8 present,
 * [u32 len + SEAL ciphertext, uncompressed] | SHA-256 of all preceding bytes.
 */
const CT_MAGIC: Readonly<Record<AnyHeParams['scheme'], Uint8Array>> = {
  ckks: new Uint8Array([0x48, 0x45, 0x43, 0x54]),
  bfv: new Uint8Array([0x48, 0x45, 0x42, 0x54]),
};
const CT_VERSION = 1;

/** Deletes SEAL objects, ignoring ones already gone. */
export function del(...objs: ({ delete(): void } | null | undefined)[]): void {
  for (const o of objs) {
    if (o) o.delete();
  }
}

/** SEAL aborts surface as WebAssembly.RuntimeError("Aborted(...)"): the instance is then unusable. */
function isAbort(e: unknown): boolean {
  return e instanceof Error && (e.name === 'RuntimeError' || e.message.startsWith('Aborted('));
}

/** SEAL (built with SEAL_THROW_ON_TRANSPARENT_CIPHERTEXT) refuses to output an all-zero ciphertext. */
export function isTransparentError(e: unknown): boolean {
  return e instanceof Error && /transparent/.test(e.message);
}

/**
 * Runs a SEAL call; its exceptions become typed errors. A WebAssembly RuntimeError means SEAL aborted and
 * the instance is unusable: the engine marks itself broken.
 */
export function sealCall<T>(engine: { markBroken(): void }, what: string, code: 'BAD_ARGUMENT' | 'CORRUPT', fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof HeError) throw e;
    if (isAbort(e)) engine.markBroken();
    throw new HeError(code, `SEAL rejected ${what}: ${describeThrown(e)}`, { cause: e });
  }
}

/**
 * A SEAL context for validated parameters: CKKS, or BFV with a batching plain modulus of the requested
 * size (`PlainModulus::Batching`: the largest prime t = 1 mod 2N below 2^bits, so batching is enabled).
 * Anything SEAL refuses is `BAD_PARAMS`.
 */
export function createContext(seal: SealLib, params: AnyHeParams, id: string): SealContext {
  const parms = seal.EncryptionParameters(params.scheme === 'ckks' ? seal.SchemeType.ckks : seal.SchemeType.bfv);
  let context: SealContext | undefined;
  const fail = (e: unknown): never => {
    if (e instanceof HeError && e.code === 'BAD_PARAMS') throw e;
    throw new HeError('BAD_PARAMS', e instanceof HeError ? e.message : `SEAL rejects ${id}: ${describeThrown(e)}`, { cause: e });
  };
  try {
    parms.setPolyModulusDegree(params.polyModulusDegree);
    const cm = seal.CoeffModulus.Create(params.polyModulusDegree, Int32Array.from(params.coeffModulusBits));
    try {
      parms.setCoeffModulus(cm);
    } finally {
      cm.delete();
    }
    if (params.scheme === 'bfv') {
      const t = seal.PlainModulus.Batching(params.polyModulusDegree, params.plainModulusBits);
      try {
        parms.setPlainModulus(t);
      } finally {
        t.delete();
      }
    }
    context = seal.Context(parms, true, seal.SecurityLevel.tc128);
    if (!context.parametersSet()) throw new HeError('BAD_PARAMS', `SEAL rejects ${id}`);
    return context;
  } catch (e) {
    del(context);
    return fail(e);
  } finally {
    parms.delete();
  }
}

/**
 * Base of both engines: one per parameter set per thread; owns the SEAL context and the loaded keys, and
 * tracks every ciphertext it created until freed.
 */
export abstract class SealEngine<P extends AnyHeParams, C extends SealCt & H, H = C> {
  readonly params: P;
  readonly id: string;
  /** Values per ciphertext: N/2 for CKKS, N for BFV. */
  abstract readonly slots: number;

  protected readonly seal: SealLib;
  protected readonly context: SealContext;
  protected readonly evaluator: SealEvaluator;
  /** Slots a rotation step ranges over (N/2 for both schemes: a CKKS vector, a BFV batching row). */
  protected readonly rotationSlots: number;
  /** Whether Galois step 0 is a valid key (SEAL: the BFV column swap; CKKS complex conjugation). */
  private readonly allowStepZero: boolean;
  protected readonly live = new Set<C>();
  private readonly scopes: Set<C>[] = [];
  protected readonly pkByFingerprint = new Map<string, PkHandle>();
  private readonly pkByObject = new WeakMap<PublicKeyset<AnyHeParams>, PkHandle>();
  private readonly skByKey = new Map<string, SkHandle>();
  private broken = false;
  private disposed = false;

  protected constructor(seal: SealLib, params: P) {
    this.seal = seal;
    this.params = { ...params, coeffModulusBits: [...params.coeffModulusBits] };
    this.id = paramsId(params);
    this.rotationSlots = rotationSlots(params);
    this.allowStepZero = true;
    this.context = createContext(seal, params, this.id);
    this.evaluator = seal.Evaluator(this.context);
  }

  /** @internal Called when SEAL aborted: the WebAssembly instance can no longer be trusted. */
  markBroken(): void {
    this.broken = true;
  }

  /** False once SEAL aborted inside this engine (its WebAssembly instance is then unusable) or after dispose. */
  get usable(): boolean {
    return !this.broken && !this.disposed;
  }

  /** Number of ciphertexts created by this engine and not yet freed (for leak tests and diagnostics). */
  get liveCiphertexts(): number {
    return this.live.size;
  }

  /**
   * Runs a SEAL call that writes its result into `dest`, a fresh object we own: node-seal otherwise
   * allocates the output itself and does not delete it when the call throws (SEAL copies the operand in
   * before refusing, e.g., a transparent result), which would leak a whole ciphertext in the
   * WebAssembly heap. On failure `dest` is deleted and the error is typed as in {@link sealCall}.
   */
  protected into<T extends { delete(): void }>(dest: T, what: string, fn: (dest: T) => unknown): T {
    try {
      sealCall(this, what, 'BAD_ARGUMENT', () => fn(dest));
      return dest;
    } catch (e) {
      dest.delete();
      throw e;
    }
  }

  /** {@link into} a new ciphertext. */
  protected sealOut(what: string, fn: (dest: SealCipherText) => unknown): SealCipherText {
    return this.into(this.seal.CipherText(), what, fn);
  }

  /** {@link sealOut}, except that an exactly-zero result (SEAL refuses transparent ciphertexts) is the zero chunk. */
  protected sealOutOrZero(what: string, fn: (dest: SealCipherText) => unknown): Chunk {
    try {
      return this.sealOut(what, fn);
    } catch (e) {
      if (e instanceof HeError && isTransparentError(e.cause)) return null;
      throw e;
    }
  }

  // ---------------------------------------------------------------- chunk machinery

  /** Applies `op` chunk by chunk to owned outputs; on any error frees what was made. */
  protected mapParts(n: number, op: (i: number) => Chunk): Chunk[] {
    const out: Chunk[] = [];
    try {
      for (let i = 0; i < n; i++) out.push(op(i));
    } catch (e) {
      for (const p of out) del(p);
      throw e;
    }
    return out;
  }

  /**
   * Owned copies of `parts`, each put through the rotations of `plan` in turn by `rotateOne` (the
   * scheme's rotation written into `dest`).
   */
  protected rotateParts(
    parts: readonly Chunk[],
    plan: readonly number[],
    rotateOne: (c: SealCipherText, step: number, dest: SealCipherText) => unknown,
  ): Chunk[] {
    return this.mapParts(parts.length, (i) => {
      const p = parts[i]!;
      if (p === null) return null;
      let cur = p.clone();
      for (const s of plan) {
        const c = cur;
        try {
          cur = this.sealOut('rotation', (d) => rotateOne(c, s, d));
        } finally {
          c.delete();
        }
      }
      return cur;
    });
  }

  /**
   * Rotate-and-sum (Halevi-Shoup "total sums"): for each plan in turn, x += rotate(x, plan). Returns owned
   * chunks; `parts` is left as it was.
   */
  protected rotateAndAdd(
    parts: readonly Chunk[],
    plans: readonly (readonly number[])[],
    rotateOne: (c: SealCipherText, step: number, dest: SealCipherText) => unknown,
  ): Chunk[] {
    let acc: Chunk[] = this.mapParts(parts.length, (i) => parts[i]?.clone() ?? null);
    try {
      for (const plan of plans) {
        const rotated = this.rotateParts(acc, plan, rotateOne);
        let next: Chunk[];
        try {
          const cur = acc;
          next = this.mapParts(cur.length, (i) => {
            const u = cur[i]!;
            const v = rotated[i]!;
            return u === null ? null : this.sealOutOrZero('add', (d) => this.evaluator.add(u, v!, d));
          });
        } finally {
          for (const p of rotated) del(p);
        }
        for (const p of acc) del(p);
        acc = next;
      }
    } catch (e) {
      for (const p of acc) del(p);
      throw e;
    }
    return acc;
  }

  /** One owned chunk holding the sum of all present `parts` (null when there are none or they cancel). */
  protected addParts(parts: readonly Chunk[]): Chunk {
    let acc: Chunk = null;
    try {
      for (const p of parts) {
        if (p === null) continue;
        if (acc === null) {
          acc = p.clone();
          continue;
        }
        const prev: SealCipherText = acc;
        acc = null; // owned by `prev` until the add returns
        try {
          acc = this.sealOutOrZero('add', (d) => this.evaluator.add(prev, p, d));
        } finally {
          prev.delete();
        }
      }
    } catch (e) {
      del(acc);
      throw e;
    }
    return acc;
  }

  /** Decrypts each present chunk with `h` and hands its plaintext to `decode` (deleted afterwards). */
  protected decryptParts(h: SkHandle, parts: readonly Chunk[], decode: (pt: SealPlainText, i: number) => void): void {
    parts.forEach((p, i) => {
      if (p === null) return;
      const pt = this.seal.PlainText();
      try {
        sealCall(this, 'decryption', 'BAD_ARGUMENT', () => h.decryptor.decrypt(p, pt));
        decode(pt, i);
      } finally {
        pt.delete();
      }
    });
  }

  // ---------------------------------------------------------------- ciphertext bytes

  /** Starts a ciphertext blob: magic, version, parameters id, keyset fingerprint (see {@link CT_MAGIC}). */
  protected beginSave(a: C): ByteWriter {
    return new ByteWriter().raw(CT_MAGIC[this.params.scheme]).u8(CT_VERSION).str(this.id).raw(fromHex(a.keyset));
  }

  /** Ends a ciphertext blob after the scheme header: length, chunks, checksum. */
  protected finishSave(w: ByteWriter, a: C): Uint8Array {
    w.u32(a.length).u32(a.parts.length);
    for (const p of a.parts) {
      if (p === null) w.u8(0);
      else w.u8(1).bytes(sealCall(this, 'save', 'BAD_ARGUMENT', () => p.saveArray(this.seal.ComprModeType.none)));
    }
    return w.checksum().finish();
  }

  /**
   * Opens a ciphertext blob: checksum first (damaged bytes never reach SEAL, and a flipped magic is
   * `CORRUPT`), then the other scheme's magic (`PARAMS_MISMATCH`), magic, version and parameters id.
   * Returns the reader at the scheme header, and the keyset fingerprint.
   */
  protected openLoad(bytes: Uint8Array): { r: ByteReader; keyset: string } {
    this.ensureUsable();
    if (!(bytes instanceof Uint8Array)) throw new HeError('BAD_ARGUMENT', 'ciphertext bytes must be a Uint8Array');
    const what = 'ciphertext';
    const body = verifyChecksum(bytes, what);
    const own = this.params.scheme;
    const other = own === 'ckks' ? 'bfv' : 'ckks';
    const magic = body.subarray(0, 4);
    if (body.length >= 4 && bytesEqual(magic, CT_MAGIC[other])) {
      throw new HeError('PARAMS_MISMATCH', `a ${other.toUpperCase()} ciphertext cannot be loaded into a ${own.toUpperCase()} engine`);
    }
    if (body.length < 5 || !bytesEqual(magic, CT_MAGIC[own])) throw new HeError('CORRUPT', `${what}: bad magic`);
    if (body[4] !== CT_VERSION) throw new HeError('CORRUPT', `${what}: unsupported version ${body[4]}`);
    const r = new ByteReader(body, what);
    r.raw(5);
    const id = r.str();
    if (id !== this.id) throw new HeError('PARAMS_MISMATCH', `ciphertext is for ${id}, engine is ${this.id}`);
    return { r, keyset: toHex(r.raw(32)) };
  }

  /**
   * Reads the end of a ciphertext blob (length, chunk count, chunks) and loads the chunks into SEAL.
   * Framing, every SEAL header and each chunk's size (`chunkBytes`, from SEAL itself) are checked before
   * SEAL reads anything; `matches` then checks each loaded SEAL object against the blob's header.
   */
  protected finishLoad(r: ByteReader, chunkBytes: number, matches: (c: SealCipherText) => boolean): { length: number; parts: Chunk[] } {
    const what = 'ciphertext';
    const length = r.u32();
    const n = r.u32();
    if (n !== Math.max(1, Math.ceil(length / this.slots)))
      throw new HeError('CORRUPT', `${what}: ${n} chunks cannot hold length ${length}`);
    const raws: (Uint8Array | null)[] = [];
    for (let i = 0; i < n; i++) {
      const present = r.u8();
      if (present > 1) throw new HeError('CORRUPT', `${what}: bad chunk flag`);
      if (present === 0) {
        raws.push(null);
        continue;
      }
      const b = r.bytes();
      checkSealHeader(b, `${what} chunk ${i}`);
      if (sealComprMode(b) !== 0 || b.length !== chunkBytes) throw new HeError('CORRUPT', `${what} chunk ${i}: unexpected size`);
      raws.push(b);
    }
    r.expectEnd();
    const parts: Chunk[] = [];
    try {
      for (const b of raws) {
        if (b === null) {
          parts.push(null);
          continue;
        }
        const c = this.seal.CipherText();
        parts.push(c);
        sealCall(this, 'ciphertext bytes', 'CORRUPT', () => c.loadArray(this.context, b));
        if (!matches(c)) throw new HeError('CORRUPT', `${what}: SEAL object disagrees with its header`);
      }
    } catch (e) {
      for (const p of parts) del(p);
      throw e instanceof HeError ? e : new HeError('CORRUPT', `${what}: ${describeThrown(e)}`, { cause: e });
    }
    return { length, parts };
  }

  protected ensureUsable(): void {
    if (this.disposed) throw new HeError('BAD_ARGUMENT', 'engine was disposed');
    if (this.broken) throw new HeError('BAD_ARGUMENT', 'engine is unusable after a SEAL abort; create a new worker');
  }

  // ---------------------------------------------------------------- keys

  /**
   * Generates a fresh keyset (SEAL KeyGenerator, uniform ternary secret). Public parts use SEAL's seeded
   * serialisable forms (half the size: the uniform `a` polynomials are replaced by their PRNG seed) and
   * zstd; the secret key is serialised uncompressed (random data does not compress).
   */
  generateKeyset(opts: { galoisSteps: number[]; relin: boolean }): SecretKeyset<P> {
    this.ensureUsable();
    if (typeof opts !== 'object' || opts === null || typeof opts.relin !== 'boolean') {
      throw new HeError('BAD_ARGUMENT', 'opts must be { galoisSteps: number[]; relin: boolean }');
    }
    const steps = normaliseSteps(opts.galoisSteps, this.rotationSlots, this.allowStepZero);
    const seal = this.seal;
    const keygen = seal.KeyGenerator(this.context);
    try {
      const save = (s: { saveArray(c?: unknown): Uint8Array; delete(): void }, compr: boolean): Uint8Array => {
        try {
          return s.saveArray(compr ? seal.ComprModeType.zstd : seal.ComprModeType.none);
        } finally {
          s.delete();
        }
      };
      const publicKey = save(keygen.createPublicKeySerializable(), true);
      const relinKeys = opts.relin ? save(keygen.createRelinKeysSerializable(), true) : null;
      const galoisKeys = steps.length > 0 ? save(keygen.createGaloisKeysSerializable(Int32Array.from(steps)), true) : null;
      const secretKey = save(keygen.secretKey(), false);
      const base = { params: this.params, publicKey, relinKeys, galoisKeys, galoisSteps: steps };
      const publicKeyset: PublicKeyset<P> = { ...base, fingerprint: keysetFingerprint(base) };
      return { params: this.params, secretKey, publicKeyset };
    } finally {
      keygen.delete();
    }
  }

  /** Loads a public keyset once; later calls with the same keyset return the same handle. */
  usePublicKeyset(k: PublicKeyset<P>): PublicKeyHandle {
    this.ensureUsable();
    const cached = this.pkByObject.get(k);
    if (cached && !cached.released) return cached;
    checkPublicShape(k);
    if (paramsId(k.params) !== this.id) {
      throw new HeError('PARAMS_MISMATCH', `keyset is for ${paramsId(k.params)}, engine is ${this.id}`);
    }
    const steps = normaliseSteps(k.galoisSteps, this.rotationSlots, this.allowStepZero);
    const fp = keysetFingerprint({ ...k, galoisSteps: steps });
    if (fp !== k.fingerprint) throw new HeError('CORRUPT', 'keyset fingerprint does not match its contents');
    const known = this.pkByFingerprint.get(fp);
    if (known && !known.released) {
      this.pkByObject.set(k, known);
      return known;
    }
    const seal = this.seal;
    let publicKey: SealPublicKey | undefined;
    let relinKeys: SealRelinKeys | null = null;
    let galoisKeys: SealGaloisKeys | null = null;
    let encryptor: SealEncryptor | undefined;
    try {
      checkSealHeader(k.publicKey, 'public key');
      publicKey = seal.PublicKey();
      const pk = publicKey;
      sealCall(this, 'public key', 'CORRUPT', () => pk.loadArray(this.context, k.publicKey));
      if (k.relinKeys) {
        checkSealHeader(k.relinKeys, 'relinearisation keys');
        const rk = (relinKeys = seal.RelinKeys());
        const bytes = k.relinKeys;
        sealCall(this, 'relinearisation keys', 'CORRUPT', () => rk.loadArray(this.context, bytes));
      }
      if (k.galoisKeys) {
        checkSealHeader(k.galoisKeys, 'galois keys');
        const gk = (galoisKeys = seal.GaloisKeys());
        const bytes = k.galoisKeys;
        sealCall(this, 'galois keys', 'CORRUPT', () => gk.loadArray(this.context, bytes));
      }
      encryptor = seal.Encryptor(this.context, pk);
    } catch (e) {
      del(publicKey, relinKeys, galoisKeys, encryptor);
      throw e;
    }
    const h = new PkHandle(fp, steps, new Set(steps), publicKey, encryptor, relinKeys, galoisKeys);
    this.pkByFingerprint.set(fp, h);
    this.pkByObject.set(k, h);
    return h;
  }

  /**
   * True when `sk` decrypts what `pk` encrypts (a short probe vector); used to refuse a secret key paired
   * with someone else's public keyset.
   */
  protected abstract probeKeyPair(pk: PkHandle, sk: SkHandle): boolean;

  /**
   * Loads a secret key and checks it belongs to its public keyset (encrypts a probe under the public key
   * and decrypts it): a secret key paired with someone else's public keyset is `KEYSET_MISMATCH`.
   */
  useSecretKeyset(k: SecretKeyset<P>): SecretKeyHandle {
    this.ensureUsable();
    if (typeof k !== 'object' || k === null || !(k.secretKey instanceof Uint8Array))
      throw new HeError('BAD_ARGUMENT', 'expected a SecretKeyset');
    if (paramsId(k.params) !== this.id) throw new HeError('PARAMS_MISMATCH', `keyset is for ${paramsId(k.params)}, engine is ${this.id}`);
    const pkh = this.pkImpl(this.usePublicKeyset(k.publicKeyset));
    const cacheKey = `${pkh.fingerprint}:${toHex(sha256(k.secretKey))}`;
    const cached = this.skByKey.get(cacheKey);
    if (cached && !cached.released) return cached;
    checkSealHeader(k.secretKey, 'secret key');
    const secretKey = this.seal.SecretKey();
    let decryptor: SealDecryptor | undefined;
    try {
      sealCall(this, 'secret key', 'CORRUPT', () => secretKey.loadArray(this.context, k.secretKey));
      decryptor = this.seal.Decryptor(this.context, secretKey);
    } catch (e) {
      del(secretKey, decryptor);
      throw e;
    }
    const h = new SkHandle(pkh.fingerprint, secretKey, decryptor);
    this.skByKey.set(cacheKey, h); // registered before the probe, which decrypts with it
    let ok = false;
    try {
      ok = this.probeKeyPair(pkh, h);
    } finally {
      if (!ok) {
        this.skByKey.delete(cacheKey);
        del(decryptor, secretKey);
      }
    }
    if (!ok) throw new HeError('KEYSET_MISMATCH', 'secret key does not belong to the public keyset');
    return h;
  }

  /** Frees the SEAL objects behind a key handle; the handle cannot be used afterwards. */
  releaseKeys(h: PublicKeyHandle | SecretKeyHandle): void {
    if (h instanceof PkHandle) {
      if (h.released) return;
      if (this.pkByFingerprint.get(h.fingerprint) !== h) throw new HeError('BAD_ARGUMENT', 'key handle belongs to another engine');
      h.released = true;
      this.pkByFingerprint.delete(h.fingerprint);
      del(h.encryptor, h.publicKey, h.relinKeys, h.galoisKeys);
    } else if (h instanceof SkHandle) {
      if (h.released) return;
      if (!this.ownsSecret(h)) throw new HeError('BAD_ARGUMENT', 'key handle belongs to another engine');
      h.released = true;
      for (const [key, v] of this.skByKey) if (v === h) this.skByKey.delete(key);
      del(h.decryptor, h.secretKey);
    } else {
      throw new HeError('BAD_ARGUMENT', 'not a key handle of this library');
    }
  }

  /** A loaded public keyset by fingerprint, if this engine has it (used for ciphertexts loaded from bytes). */
  publicKeysetFor(fingerprint: string): PublicKeyHandle | undefined {
    const h = this.pkByFingerprint.get(fingerprint);
    return h && !h.released ? h : undefined;
  }

  protected pkImpl(h: PublicKeyHandle): PkHandle {
    if (!(h instanceof PkHandle) || this.pkByFingerprint.get(h.fingerprint) !== h) {
      throw new HeError('BAD_ARGUMENT', 'public key handle does not belong to this engine (or was released)');
    }
    return h;
  }

  private ownsSecret(h: SkHandle): boolean {
    for (const v of this.skByKey.values()) if (v === h) return true;
    return false;
  }

  protected skImpl(h: SecretKeyHandle): SkHandle {
    if (!(h instanceof SkHandle) || h.released || !this.ownsSecret(h))
      throw new HeError('BAD_ARGUMENT', 'secret key handle is not usable (released or foreign)');
    return h;
  }

  // ---------------------------------------------------------------- ciphertext bookkeeping

  /** `x` as this engine's own live ciphertext, or a typed error saying why not. */
  protected ct(x: H, what = 'ciphertext'): C {
    this.ensureUsable();
    if (!(x instanceof SealCt)) throw new HeError('BAD_ARGUMENT', `${what} is not a ciphertext of this library`);
    if (x.owner !== this) {
      // Ciphertexts cross engines (and threads) only as bytes: save() here, load() there.
      const code = x.owner.id === this.id ? 'BAD_ARGUMENT' : 'PARAMS_MISMATCH';
      throw new HeError(code, `${what} belongs to another engine (${x.owner.id}); move it with save/load`);
    }
    if (x.freed) throw new HeError('BAD_ARGUMENT', `${what} was freed`);
    return x as C;
  }

  /** Registers a new ciphertext (live set and innermost scope) and returns it. */
  protected track(c: C): C {
    this.live.add(c);
    this.scopes.at(-1)?.add(c);
    return c;
  }

  protected sameKeyset(a: C, b: C): void {
    if (a.keyset !== b.keyset) throw new HeError('KEYSET_MISMATCH', 'operands are encrypted under different keysets');
  }

  protected checkKeysetOf(a: C, fingerprint: string): void {
    if (a.keyset !== fingerprint) throw new HeError('KEYSET_MISMATCH', 'ciphertext was not encrypted under this keyset');
  }

  /** Deletes the SEAL objects of a ciphertext; idempotent. */
  free(ct: H): void {
    if (!(ct instanceof SealCt) || ct.owner !== this) throw new HeError('BAD_ARGUMENT', 'not a ciphertext of this engine');
    if (ct.freed) return;
    ct.freed = true;
    for (const p of ct.parts) del(p);
    ct.parts.fill(null);
    this.live.delete(ct as unknown as C);
    for (const s of this.scopes) s.delete(ct as unknown as C);
  }

  /**
   * Runs `fn`; every ciphertext created inside it and neither returned (directly, or inside a returned
   * array or plain object, two levels deep) nor listed in `keep` is freed, also when `fn` throws.
   * Survivors move to the enclosing scope, so scopes nest.
   */
  scope<T>(fn: () => T, keep: readonly H[] = []): T {
    this.ensureUsable();
    if (typeof fn !== 'function') throw new HeError('BAD_ARGUMENT', 'scope() takes a function');
    const mine = new Set<C>();
    this.scopes.push(mine);
    let result: T;
    try {
      result = fn();
    } catch (e) {
      this.scopes.pop();
      const kept = new Set<unknown>(keep);
      for (const c of mine) if (!kept.has(c)) this.free(c);
      this.adopt(mine);
      throw e;
    }
    this.scopes.pop();
    if (result instanceof Promise) {
      for (const c of mine) this.free(c);
      throw new HeError('BAD_ARGUMENT', 'scope() takes a synchronous function (engine operations are synchronous)');
    }
    const kept = new Set<unknown>(keep);
    collectCts(result, kept, 2);
    for (const c of mine) if (!kept.has(c)) this.free(c);
    this.adopt(mine);
    return result;
  }

  /** Moves the surviving members of a closed scope into the enclosing one. */
  private adopt(closed: Set<C>): void {
    const outer = this.scopes.at(-1);
    if (!outer) return;
    for (const c of closed) if (!c.freed) outer.add(c);
  }

  // ---------------------------------------------------------------- teardown

  /** Scheme-specific SEAL objects to free at dispose (encoder, parms ids). */
  protected abstract disposeOwn(): void;

  /** Frees every ciphertext, key handle and SEAL object of this engine. */
  dispose(): void {
    if (this.disposed) return;
    for (const c of [...this.live]) this.free(c);
    for (const h of [...this.pkByFingerprint.values()]) this.releaseKeys(h);
    for (const h of [...this.skByKey.values()]) this.releaseKeys(h);
    this.disposeOwn();
    del(this.evaluator, this.context);
    this.disposed = true;
  }
}

function collectCts(v: unknown, into: Set<unknown>, depth: number): void {
  if (v instanceof SealCt) {
    into.add(v);
    return;
  }
  if (depth <= 0 || v === null || typeof v !== 'object') return;
  const items = Array.isArray(v)
    ? v
    : v instanceof Map
      ? [...v.values()]
      : Object.getPrototypeOf(v) === Object.prototype
        ? Object.values(v)
        : [];
  for (const item of items) collectCts(item, into, depth - 1);
}
