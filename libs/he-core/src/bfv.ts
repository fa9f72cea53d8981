/**
 * BfvEngine: exact integer vectors under BFV (Brakerski, "Fully Homomorphic Encryption without Modulus
 * Switching from Classical GapSVP", CRYPTO 2012; Fan and Vercauteren, ePrint 2012/144) over SEAL 4.1 via
 * node-seal. For counts and integer sums that must come out exact, where CKKS gives a close real number.
 *
 * Batching (SEAL `BatchEncoder`, Smart-Vercauteren SIMD): with a prime plain modulus t = 1 mod 2N, a
 * ciphertext holds N integers mod t as a 2 x N/2 matrix. Vectors of any length are packed N values per
 * ciphertext ("chunks"): values 0..N/2-1 of a chunk in row 0, N/2..N-1 in row 1. A row rotation by k
 * (Galois key for step k) moves both rows alike; SEAL's step 0 key swaps the rows. A chunk may be a known
 * exact zero (no SEAL object), as in the CKKS engine.
 *
 * Never wrapping around silently: arithmetic is mod t, so a result beyond (t-1)/2 would decode as a
 * wrong small number. Every ciphertext carries two public worst-case bounds, derived from the bound the
 * encryptor declared (a column bound, not the data) and the operations applied: `bound` on |slot| and
 * `total` on the sum of |slot| over every slot. An operation whose result bound could exceed
 * {@link BfvEngine.maxMagnitude} is refused with `MAGNITUDE_EXCEEDED` before it runs, so a decrypted
 * value is always the exact integer. {@link bfvParamsForMagnitude} sizes t from the plan's worst case.
 * The bounds travel in the saved bytes beside the ciphertexts: the checksum detects damage, not forgery,
 * so they are as trustworthy as whoever produced the bytes (`load` can cap them with `maxBound`).
 *
 * Noise: BFV noise grows with each operation (little for additions and rotations, about log2(t) + log2(N)
 * bits per plaintext or ciphertext product). Decryption reads SEAL's invariant noise budget and refuses
 * an exhausted one with `NOISE_EXHAUSTED` instead of returning garbage.
 * @module
 */
import { Chunk, PkHandle, SealCt, SealEngine, SkHandle, del, sealCall, type PublicKeyHandle, type SecretKeyHandle } from './engine-base.js';
import { HeError } from './errors.js';
import { bfvCapacity, validateParams, type BfvParams } from './params.js';
import { checkWidth, planRotation, rotationStepsForWidth } from './rotation.js';
import { loadSeal, type SealBatchEncoder, type SealCipherText, type SealLib, type SealPlainText } from './seal.js';

/** An encrypted vector of integers, packed across ceil(length/N) ciphertexts. Opaque handle owning SEAL objects. */
export interface BfvCt {
  /** Meaningful slots (values beyond are padding zeros or partial sums). */
  readonly length: number;
  /** Number of SEAL ciphertexts the vector spans. */
  readonly chunks: number;
  /** Fingerprint of the public keyset it is encrypted under. */
  readonly keyset: string;
  /** Public worst-case bound on |value| of any slot. */
  readonly bound: number;
  /** Public worst-case bound on the sum of |value| over all slots of all chunks. */
  readonly total: number;
}

class BfvCtImpl extends SealCt implements BfvCt {
  constructor(
    owner: BfvEngine,
    parts: Chunk[],
    readonly bound: number,
    readonly total: number,
    length: number,
    keyset: string,
  ) {
    super(owner as unknown as SealEngine<BfvParams, SealCt, unknown>, parts, length, keyset);
  }
}

/**
 * Galois steps {@link BfvEngine.sumSlots} needs for `width` (a power of two up to N): the row rotations
 * 1, 2, .., min(width, N/2)/2, and step 0 (the row swap) when the window spans both rows.
 */
export function bfvStepsForWidth(width: number, params: BfvParams): number[] {
  const n = params.polyModulusDegree;
  checkWidth(width, n);
  const steps = rotationStepsForWidth(Math.min(width, n / 2));
  return width === n ? [0, ...steps] : steps;
}

/** One engine per BFV parameter set per thread; owns the SEAL context, batch encoder and evaluator. */
export class BfvEngine extends SealEngine<BfvParams, BfvCtImpl, BfvCt> {
  /** Integers per ciphertext: N. */
  readonly slots: number;
  /** The plain modulus t (a prime, t = 1 mod 2N). */
  readonly plainModulus: bigint;
  /**
   * Largest magnitude any slot of any result may reach: 2^(plainModulusBits - 2), which is below
   * (t - 1)/2 for every t SEAL picks, so values up to it decode exactly with their sign.
   */
  readonly maxMagnitude: number;

  private readonly encoder: SealBatchEncoder;
  /** Data primes (all but the special prime): the RNS size of every ciphertext. */
  private readonly dataPrimes: number;
  /** Byte length of an uncompressed 2-component ciphertext (from SEAL itself). */
  private readonly ctBytes: number;

  private constructor(seal: SealLib, params: BfvParams) {
    super(seal, params);
    const context = this.context;
    this.slots = params.polyModulusDegree;
    this.maxMagnitude = bfvCapacity(params.plainModulusBits);
    const first = context.firstContextData;
    const parms = first.parms;
    const t = parms.plainModulus;
    try {
      this.plainModulus = t.value;
      this.dataPrimes = parms.coeffModulus.length;
      if (!first.qualifiers.usingBatching) throw new HeError('BAD_PARAMS', `${this.id}: plain modulus does not allow batching`);
    } finally {
      del(t, parms, first);
    }
    if (this.plainModulus <= 2n * BigInt(this.maxMagnitude)) throw new HeError('BAD_PARAMS', 'plain modulus below its declared capacity');
    this.encoder = seal.BatchEncoder(context);
    if (this.encoder.slotCount !== this.slots) throw new HeError('BAD_PARAMS', 'unexpected slot count');
    const probe = seal.CipherText({ context });
    try {
      probe.resize(2);
      this.ctBytes = probe.saveArray(seal.ComprModeType.none).length;
    } finally {
      probe.delete();
    }
  }

  /** Validates `params` and builds an engine (loads this thread's SEAL instance on first use). */
  static async create(params: BfvParams): Promise<BfvEngine> {
    validateParams(params);
    if (params.scheme !== 'bfv') throw new HeError('BAD_PARAMS', `BfvEngine needs BFV parameters, got ${String(params.scheme)}`);
    const seal = await loadSeal();
    return new BfvEngine(seal, params);
  }

  protected probeKeyPair(pk: PkHandle, sk: SkHandle): boolean {
    const probe = [1, 2, 3, 4, 5, 6, 7, 8];
    const ct = this.encrypt(pk, probe, { bound: 8 });
    try {
      const back = this.decrypt(sk, ct);
      return probe.every((v, i) => back[i] === BigInt(v));
    } catch (e) {
      if (e instanceof HeError && e.code === 'NOISE_EXHAUSTED') return false; // another key decrypts to noise
      throw e;
    } finally {
      this.free(ct);
    }
  }

  /** Registers a result; no slot exceeds the sum over all slots, so `bound` is capped by `total`. */
  private wrap(parts: Chunk[], bound: number, total: number, length: number, keyset: string): BfvCtImpl {
    if (!(total >= 0 && bound >= 0) || !Number.isFinite(total)) {
      for (const p of parts) del(p);
      throw new HeError('BAD_ARGUMENT', 'internal: invalid magnitude bounds');
    }
    return this.track(new BfvCtImpl(this, parts, Math.min(bound, total), total, length, keyset));
  }

  /** Refuses an operation whose result could leave the exactly representable range. */
  private checkBound(bound: number, op: string): void {
    if (!(bound <= this.maxMagnitude)) {
      throw new HeError(
        'MAGNITUDE_EXCEEDED',
        `${op}: a result could reach ${bound}, beyond ${this.maxMagnitude} (${this.params.plainModulusBits}-bit plain modulus); use bfvParamsForMagnitude(${bound})`,
      );
    }
  }

  // ---------------------------------------------------------------- encoding

  /** Checks integer operands: safe integers with |v| <= limit; returns max |v| and sum |v|. */
  private checkInts(values: ArrayLike<number>, what: string, limit: number, limitName: string): { max: number; sum: number } {
    const arrayLike =
      Array.isArray(values) || (ArrayBuffer.isView(values) && !(values instanceof BigInt64Array) && !(values instanceof BigUint64Array));
    if (!arrayLike || !Number.isSafeInteger(values.length) || values.length < 0) {
      throw new HeError('BAD_ARGUMENT', `${what} must be an array or typed array of integers`);
    }
    let max = 0;
    let sum = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new HeError('BAD_ARGUMENT', `${what}[${i}] is not a safe integer`);
      const a = Math.abs(v);
      if (a > limit) throw new HeError('BAD_ARGUMENT', `${what}[${i}] exceeds ${limitName} ${limit}`);
      if (a > max) max = a;
      sum += a;
    }
    return { max, sum };
  }

  /** Chunk `i` of `values` for a plaintext operand (short vectors apply to every chunk), or null if all zero. */
  private chunkValues(values: ArrayLike<number>, i: number, nChunks: number): BigInt64Array | null {
    const out = new BigInt64Array(this.slots);
    let any = false;
    const base = values.length <= this.slots ? 0 : i * this.slots;
    if (values.length > this.slots && values.length > nChunks * this.slots) {
      throw new HeError(
        'BAD_ARGUMENT',
        `plaintext operand of ${values.length} values is longer than the ciphertext's ${nChunks * this.slots} slots`,
      );
    }
    const end = Math.min(values.length, base + this.slots);
    for (let j = base; j < end; j++) {
      const v = values[j]!;
      if (v !== 0) {
        out[j - base] = BigInt(v);
        any = true;
      }
    }
    return any ? out : null;
  }

  private encode(values: BigInt64Array): SealPlainText {
    return this.into(this.seal.PlainText(), 'encoding', (d) => this.encoder.encode(values, d));
  }

  // ---------------------------------------------------------------- encrypt / decrypt

  /**
   * Encrypts integers under the public key. `bound` is the public bound the caller vouches for (e.g. the
   * column's declared maximum, 1 for 0/1 indicators); every |value| must be within it. Any length:
   * ceil(length/N) ciphertexts (one, all zero, for an empty vector).
   */
  encrypt(pk: PublicKeyHandle, values: ArrayLike<number>, opts: { bound: number }): BfvCt {
    const h = this.pkImpl(pk);
    this.ensureUsable();
    const bound = opts?.bound;
    if (typeof bound !== 'number' || !Number.isSafeInteger(bound) || bound < 0) {
      throw new HeError('BAD_ARGUMENT', `bound must be a non-negative safe integer, got ${String(bound)}`);
    }
    this.checkBound(bound, 'encrypt');
    this.checkInts(values, 'values', bound, 'the declared bound');
    const n = Math.max(1, Math.ceil(values.length / this.slots));
    const parts: Chunk[] = [];
    try {
      for (let i = 0; i < n; i++) {
        const chunk = new BigInt64Array(this.slots);
        const base = i * this.slots;
        const end = Math.min(values.length, base + this.slots);
        for (let j = base; j < end; j++) chunk[j - base] = BigInt(values[j]!);
        parts.push(this.encryptChunk(h, chunk));
      }
    } catch (e) {
      for (const p of parts) del(p);
      throw e;
    }
    return this.wrap(parts, bound, bound * values.length, values.length, h.fingerprint);
  }

  private encryptChunk(h: PkHandle, values: BigInt64Array): SealCipherText {
    const pt = this.encode(values);
    try {
      return this.sealOut('encryption', (d) => h.encryptor.encrypt(pt, d));
    } finally {
      pt.delete();
    }
  }

  /**
   * Decrypts every slot of every chunk to exact signed integers (chunks x N values; the first `length`
   * are meaningful). A chunk whose noise budget is exhausted is `NOISE_EXHAUSTED`.
   */
  decrypt(sk: SecretKeyHandle, ct: BfvCt): BigInt64Array {
    const h = this.skImpl(sk);
    const a = this.ct(ct);
    this.checkKeysetOf(a, h.fingerprint);
    a.parts.forEach((p, i) => {
      if (p !== null && sealCall(this, 'noise budget', 'BAD_ARGUMENT', () => h.decryptor.invariantNoiseBudget(p)) <= 0) {
        throw new HeError('NOISE_EXHAUSTED', `chunk ${i} has no noise budget left; its plaintext cannot be recovered`);
      }
    });
    const out = new BigInt64Array(a.parts.length * this.slots);
    this.decryptParts(h, a.parts, (pt, i) => {
      const vals = sealCall(this, 'decoding', 'BAD_ARGUMENT', () => this.encoder.decodeBigInt(pt, true) as BigInt64Array);
      out.set(vals.subarray(0, this.slots), i * this.slots);
    });
    return out;
  }

  /** Smallest remaining noise budget (bits) over the chunks, per SEAL's `invariantNoiseBudget`; needs the secret key. */
  noiseBudget(sk: SecretKeyHandle, ct: BfvCt): number {
    const h = this.skImpl(sk);
    const a = this.ct(ct);
    this.checkKeysetOf(a, h.fingerprint);
    let min = Infinity;
    for (const p of a.parts) {
      if (p !== null)
        min = Math.min(
          min,
          sealCall(this, 'noise budget', 'BAD_ARGUMENT', () => h.decryptor.invariantNoiseBudget(p)),
        );
    }
    return min;
  }

  // ---------------------------------------------------------------- arithmetic

  /** a + b, slot-wise; chunk counts may differ (missing chunks are zero). */
  add(a: BfvCt, b: BfvCt): BfvCt {
    return this.addSub(a, b, false);
  }

  /** a - b, slot-wise. */
  sub(a: BfvCt, b: BfvCt): BfvCt {
    return this.addSub(a, b, true);
  }

  private addSub(x: BfvCt, y: BfvCt, subtract: boolean): BfvCt {
    const a = this.ct(x, 'a');
    const b = this.ct(y, 'b');
    this.sameKeyset(a, b);
    const bound = a.bound + b.bound;
    this.checkBound(bound, subtract ? 'sub' : 'add');
    const parts = this.mapParts(Math.max(a.parts.length, b.parts.length), (i) => {
      const u = a.parts[i] ?? null;
      const v = b.parts[i] ?? null;
      if (v === null) return u ? u.clone() : null;
      if (u === null) return subtract ? this.sealOut('negate', (d) => this.evaluator.negate(v, d)) : v.clone();
      return this.sealOutOrZero('add/sub', (d) => (subtract ? this.evaluator.sub(u, v, d) : this.evaluator.add(u, v, d)));
    });
    return this.wrap(parts, bound, a.total + b.total, Math.max(a.length, b.length), a.keyset);
  }

  /** -a (exact). */
  negate(x: BfvCt): BfvCt {
    const a = this.ct(x);
    const parts = this.mapParts(a.parts.length, (i) => {
      const p = a.parts[i]!;
      return p === null ? null : this.sealOut('negate', (d) => this.evaluator.negate(p, d));
    });
    return this.wrap(parts, a.bound, a.total, a.length, a.keyset);
  }

  /**
   * Applies a plaintext operand chunk by chunk (up to N values apply to every chunk alike, longer ones
   * follow the packing), encoding a broadcast operand once.
   */
  private withPlain(
    a: BfvCtImpl,
    values: ArrayLike<number>,
    n: number,
    op: (p: Chunk, pt: SealPlainText | null, i: number, vals: BigInt64Array | null) => Chunk,
  ): Chunk[] {
    const broadcast = values.length <= this.slots;
    let shared: SealPlainText | undefined;
    try {
      return this.mapParts(n, (i) => {
        const vals = this.chunkValues(values, i, n);
        const p = a.parts[i] ?? null;
        if (vals === null || p === null) return op(p, null, i, vals);
        const pt = broadcast ? (shared ??= this.encode(vals)) : this.encode(vals);
        try {
          return op(p, pt, i, vals);
        } finally {
          if (!broadcast) pt.delete();
        }
      });
    } finally {
      del(shared);
    }
  }

  /** a + values, slot-wise. A zero chunk gains an encryption of the values (needs a's keyset loaded). */
  addPlain(x: BfvCt, values: ArrayLike<number>): BfvCt {
    const a = this.ct(x);
    const { max, sum } = this.checkInts(values, 'values', this.maxMagnitude, 'the plain modulus capacity');
    const bound = a.bound + max;
    this.checkBound(bound, 'addPlain');
    const broadcast = values.length <= this.slots;
    const n = broadcast ? a.parts.length : Math.max(a.parts.length, Math.ceil(values.length / this.slots));
    const parts = this.withPlain(a, values, n, (p, pt, _i, vals) => {
      if (vals === null) return p ? p.clone() : null;
      if (p === null) {
        const h = this.pkByFingerprint.get(a.keyset);
        if (!h)
          throw new HeError('BAD_ARGUMENT', 'adding a plaintext to a zero chunk needs the ciphertext keyset loaded (usePublicKeyset)');
        return this.encryptChunk(h, vals);
      }
      return this.sealOut('add-plain', (d) => this.evaluator.addPlain(p, pt!, d));
    });
    const length = Math.max(a.length, broadcast ? 0 : values.length);
    return this.wrap(parts, bound, a.total + (broadcast ? sum * n : sum), length, a.keyset);
  }

  /** a - values (see {@link addPlain}). */
  subPlain(a: BfvCt, values: ArrayLike<number>): BfvCt {
    this.checkInts(values, 'values', this.maxMagnitude, 'the plain modulus capacity');
    return this.addPlain(
      a,
      Array.from(values, (v) => -v),
    );
  }

  /** a * values, slot-wise (weights, 0/1 masks); chunks multiplied by all zeros become exact zero chunks. */
  multiplyPlain(x: BfvCt, values: ArrayLike<number>): BfvCt {
    const a = this.ct(x);
    const { max } = this.checkInts(values, 'values', this.maxMagnitude, 'the plain modulus capacity');
    const bound = a.bound * max;
    this.checkBound(bound, 'multiplyPlain');
    const parts = this.withPlain(a, values, a.parts.length, (p, pt) => {
      if (p === null || pt === null) return null;
      return this.sealOutOrZero('multiply-plain', (d) => this.evaluator.multiplyPlain(p, pt, d));
    });
    return this.wrap(parts, bound, a.total * max, a.length, a.keyset);
  }

  /** a * c in every slot (a constant). */
  multiplyConst(a: BfvCt, c: number): BfvCt {
    return this.multiplyPlain(a, new Array<number>(this.slots).fill(c));
  }

  /** a * b (ciphertext x ciphertext), relinearised with the keyset's relinearisation keys. Chunk counts must match. */
  multiply(x: BfvCt, y: BfvCt, pk: PublicKeyHandle): BfvCt {
    const a = this.ct(x, 'a');
    const b = this.ct(y, 'b');
    const h = this.pkImpl(pk);
    this.sameKeyset(a, b);
    this.checkKeysetOf(a, h.fingerprint);
    if (!h.relinKeys) throw new HeError('MISSING_RELIN_KEYS', 'keyset has no relinearisation keys (generate it with relin: true)');
    const relin = h.relinKeys;
    if (a.parts.length !== b.parts.length)
      throw new HeError('BAD_ARGUMENT', `chunk counts differ (${a.parts.length} vs ${b.parts.length})`);
    const bound = a.bound * b.bound;
    this.checkBound(bound, 'multiply');
    const parts = this.mapParts(a.parts.length, (i) => {
      const u = a.parts[i]!;
      const v = b.parts[i]!;
      if (u === null || v === null) return null;
      const prod = this.sealOut('multiply', (d) => this.evaluator.multiply(u, v, d));
      try {
        return this.sealOut('relinearize', (d) => this.evaluator.relinearize(prod, relin, d));
      } finally {
        prod.delete();
      }
    });
    return this.wrap(parts, bound, Math.min(a.total * b.bound, b.total * a.bound), Math.max(a.length, b.length), a.keyset);
  }

  // ---------------------------------------------------------------- rotations and sums

  /** Row rotation plan for `steps` from the keyset's non-zero steps, or `MISSING_GALOIS_STEP`. */
  private rowPlan(steps: number, h: PkHandle): number[] {
    const plan = planRotation(steps, h.stepSet, this.rotationSlots);
    if (plan === null || plan.includes(0)) {
      throw new HeError(
        'MISSING_GALOIS_STEP',
        `no Galois key for row rotation by ${steps} (keyset steps: ${h.galoisSteps.join(',') || 'none'})`,
      );
    }
    return plan;
  }

  /** BFV row rotation by one available step (0 = the row swap) with `h`'s Galois keys, into `dest`. */
  private rotateOne(h: PkHandle): (c: SealCipherText, step: number, dest: SealCipherText) => unknown {
    const gk = h.galoisKeys!;
    return (c, step, dest) => (step === 0 ? this.evaluator.rotateColumns(c, gk, dest) : this.evaluator.rotateRows(c, step, gk, dest));
  }

  /** Left rotation of both batching rows of every chunk by `steps` (slot i of a row receives slot i+steps). */
  rotateRows(x: BfvCt, steps: number, pk: PublicKeyHandle): BfvCt {
    const a = this.ct(x);
    const h = this.pkImpl(pk);
    this.checkKeysetOf(a, h.fingerprint);
    if (!Number.isSafeInteger(steps)) throw new HeError('BAD_ARGUMENT', `steps must be an integer, got ${String(steps)}`);
    return this.wrap(this.rotateParts(a.parts, this.rowPlan(steps, h), this.rotateOne(h)), a.bound, a.total, a.length, a.keyset);
  }

  /** Swaps the two batching rows of every chunk (needs the step-0 Galois key). */
  swapRows(x: BfvCt, pk: PublicKeyHandle): BfvCt {
    const a = this.ct(x);
    const h = this.pkImpl(pk);
    this.checkKeysetOf(a, h.fingerprint);
    if (!h.stepSet.has(0)) throw new HeError('MISSING_GALOIS_STEP', 'no Galois key for the row swap (step 0)');
    return this.wrap(this.rotateParts(a.parts, [0], this.rotateOne(h)), a.bound, a.total, a.length, a.keyset);
  }

  /**
   * Rotate-and-sum inside windows of `width` slots (a power of two up to N): afterwards slot k*width holds
   * the sum of slots k*width .. k*width+width-1 (width = N: every slot holds the chunk's total). Needs
   * {@link bfvStepsForWidth}(width).
   */
  sumSlots(x: BfvCt, width: number, pk: PublicKeyHandle): BfvCt {
    const a = this.ct(x);
    const h = this.pkImpl(pk);
    this.checkKeysetOf(a, h.fingerprint);
    checkWidth(width, this.slots);
    const bound = Math.min(a.bound * width, a.total);
    this.checkBound(bound, 'sumSlots');
    const rowWidth = Math.min(width, this.rotationSlots);
    const plans = rotationStepsForWidth(rowWidth).map((s) => this.rowPlan(s, h));
    if (width === this.slots) {
      if (!h.stepSet.has(0)) throw new HeError('MISSING_GALOIS_STEP', 'summing both batching rows needs the row-swap key (step 0)');
      plans.push([0]);
    }
    return this.wrap(this.rotateAndAdd(a.parts, plans, this.rotateOne(h)), bound, a.total * width, a.length, a.keyset);
  }

  /** Adds all chunks into one ciphertext (slot j = sum over chunks of slot j); length min(length, N). */
  sumChunks(x: BfvCt): BfvCt {
    const a = this.ct(x);
    const present = a.parts.filter((p): p is SealCipherText => p !== null);
    const bound = Math.min(a.bound * present.length, a.total);
    this.checkBound(bound, 'sumChunks');
    return this.wrap([this.addParts(present)], bound, a.total, Math.min(a.length, this.slots), a.keyset);
  }

  /** Sum of all values into every slot of a one-chunk ciphertext: sumChunks then sumSlots(N). */
  sumAll(a: BfvCt, pk: PublicKeyHandle): BfvCt {
    return this.scope(() => this.sumSlots(this.sumChunks(a), this.slots, pk));
  }

  // ---------------------------------------------------------------- bytes

  /**
   * Serialises a ciphertext: magic "HEBT" | u8 version | str paramsId | 32-byte keyset fingerprint
   * | f64 bound | f64 total | u32 length | u32 chunks | per chunk: u8 present, [u32 len + SEAL ciphertext,
   * uncompressed] | SHA-256 of all preceding bytes.
   */
  save(x: BfvCt): Uint8Array {
    const a = this.ct(x);
    return this.finishSave(this.beginSave(a).f64(a.bound).f64(a.total), a);
  }

  /**
   * Parses bytes from {@link save}. Integrity (checksum), framing and every SEAL header are verified before
   * SEAL reads anything; other parameters (or a CKKS ciphertext) are `PARAMS_MISMATCH`; anything malformed
   * is `CORRUPT`. `maxBound`: the largest per-slot bound the caller expects from the producer (a declared
   * bound above it is `MAGNITUDE_EXCEEDED`); by default the engine's capacity.
   */
  load(bytes: Uint8Array, opts: { maxBound?: number } = {}): BfvCt {
    const cap = opts.maxBound ?? this.maxMagnitude;
    if (typeof cap !== 'number' || !(cap >= 0)) throw new HeError('BAD_ARGUMENT', 'maxBound must be a non-negative number');
    const { r, keyset } = this.openLoad(bytes);
    const bound = r.f64();
    const total = r.f64();
    if (!(bound >= 0 && bound <= this.maxMagnitude && bound <= total) || !Number.isFinite(total))
      throw new HeError('CORRUPT', 'ciphertext: invalid bounds');
    if (bound > cap) throw new HeError('MAGNITUDE_EXCEEDED', `ciphertext declares values up to ${bound}, beyond the expected ${cap}`);
    const { length, parts } = this.finishLoad(
      r,
      this.ctBytes,
      (c) => c.size === 2 && !c.isNttForm && c.coeffModulusSize === this.dataPrimes,
    );
    return this.wrap(parts, bound, total, length, keyset);
  }

  // ---------------------------------------------------------------- teardown

  protected disposeOwn(): void {
    del(this.encoder);
  }
}
