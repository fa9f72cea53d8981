/**
 * HeEngine: CKKS (Cheon-Kim-Kim-Song, ASIACRYPT 2017) over SEAL 4.1 via node-seal, with the scale and
 * level bookkeeping done here rather than by callers.
 *
 * Vectors of any length are packed `slots` (= N/2) values per ciphertext ("chunks"); every chunk of a
 * {@link Ct} shares one level and one scale. A chunk may also be a known exact zero (no SEAL object):
 * SEAL refuses to produce "transparent" ciphertexts (e.g. a product with an all-zero mask), and a mask is
 * public, so representing that chunk as zero leaks nothing.
 *
 * Scale management (why results stay within 1e-6 relative):
 * - CKKS rescaling divides the scale by the dropped prime q, which is close to but not exactly 2^40
 *   (SEAL picks NTT-friendly primes q = 1 mod 2N below 2^40; for the presets they are 1.3e-7 .. 3.6e-6
 *   below 2^40, relative).
 * - multiplyPlain encodes its plaintext at scale q_last (the prime the rescale will drop), so
 *   s * q / q = s: the ciphertext scale is unchanged, exactly.
 * - ct x ct gives s_a * s_b / q; the exact double is tracked (SEAL computes the same double).
 * - add/sub need equal scales. Forcing `scale = s` onto a ciphertext whose true scale differs by the
 *   prime's offset would err by up to ~4e-6 relative, beyond the 1e-6 budget. Instead the operand is
 *   multiplied by the constant 1 encoded at the compensating scale c = s_target * q / s_x and rescaled,
 *   which lands on s_target up to the rounding of c to an integer (~1/c = 1e-12 relative). When the
 *   operand is one level above the other, this costs no extra level; when both are at the same level
 *   with different scales, it costs one level (LEVEL_EXHAUSTED if none is left). Two ct x ct products
 *   formed at the same level have the same scale (both divided by the same prime), so e.g.
 *   E[x^2] - E[x]^2 computed as sum(x * (x/n)) - mean*mean needs no alignment.
 *
 * Levels: `level` counts rescales done, 0..maxLevel (the rescale primes of `modulusLayout`). With B base
 * primes and D rescale primes, level l uses data primes p_0..p_(B+D-1-l); the next rescale drops the
 * last of them.
 *
 * Memory: every SEAL object lives in the WebAssembly heap, which JS garbage collection does not see.
 * Each temporary is deleted in a `finally`; Cts are freed by {@link HeEngine.free} or {@link HeEngine.scope}.
 * @module
 */
import { Chunk, PkHandle, SealCt, SealEngine, SkHandle, del, sealCall, type PublicKeyHandle, type SecretKeyHandle } from './engine-base.js';
import { HeError, describeThrown } from './errors.js';
import { modulusLayout, validateParams, type HeParams } from './params.js';
import { checkWidth, planRotation, rotationStepsForWidth } from './rotation.js';
import {
  loadSeal,
  type SealCipherText,
  type SealEncoder,
  type SealLib,
  type SealParmsId,
  type SealPlainText,
  type SealRelinKeys,
} from './seal.js';

export type { PublicKeyHandle, SecretKeyHandle } from './engine-base.js';

/** An encrypted vector of numbers, packed across ceil(length/slots) ciphertexts. Opaque handle owning SEAL objects. */
export interface Ct {
  /** Rescales done (0 = fresh). */
  readonly level: number;
  /** Exact CKKS scale of every chunk. */
  readonly scale: number;
  /** Meaningful slots (values beyond are padding). */
  readonly length: number;
  /** Number of SEAL ciphertexts the vector spans. */
  readonly chunks: number;
  /** Fingerprint of the public keyset it is encrypted under. */
  readonly keyset: string;
}

class CtImpl extends SealCt implements Ct {
  constructor(
    owner: HeEngine,
    parts: Chunk[],
    readonly level: number,
    readonly scale: number,
    length: number,
    keyset: string,
  ) {
    super(owner as unknown as SealEngine<HeParams, SealCt, unknown>, parts, length, keyset);
  }
}

/** Scales computed by two routes (ours, SEAL's) may differ in the last bits; anything further is a bug. */
function sameScale(a: number, b: number): boolean {
  return Math.abs(a - b) <= Math.abs(b) * 1e-12;
}

/** One engine per parameter set per thread; owns the SEAL context, encoder and evaluator. */
export class HeEngine extends SealEngine<HeParams, CtImpl, Ct> {
  readonly slots: number;
  /** Number of rescales the parameters allow. */
  readonly maxLevel: number;
  /**
   * Largest magnitude accepted for any input value: 2^(baseBits - scaleBits - 1) (2^25 for the presets).
   * Below it a value still fits the bottom-level modulus with sign; circuits must keep intermediates
   * below it too.
   */
  readonly maxMagnitude: number;

  private readonly encoder: SealEncoder;
  /** Primes of the bottom-level modulus. */
  private readonly basePrimes: number;
  /** All primes as doubles, index 0 first, last = special prime. */
  private readonly primes: number[];
  /** ParmsId of level l (chain index maxLevel - l). */
  private readonly levelParms: SealParmsId[];
  /** Byte length of an uncompressed 2-component ciphertext at level l (from SEAL itself). */
  private readonly ctBytes: number[];

  private constructor(seal: SealLib, params: HeParams) {
    super(seal, params);
    this.slots = params.polyModulusDegree / 2;
    const layout = modulusLayout(params);
    this.maxLevel = layout.rescalePrimes;
    this.basePrimes = layout.basePrimes;
    this.maxMagnitude = 2 ** (layout.baseBits - params.scaleBits - 1);
    const context = this.context;

    const keyData = context.keyContextData;
    const keyParms = keyData.parms;
    this.primes = Array.from(keyParms.coeffModulus, (q) => Number(q));
    del(keyParms, keyData);

    this.levelParms = [];
    let data = context.firstContextData;
    for (let l = 0; l <= this.maxLevel; l++) {
      if (data.chainIndex !== this.basePrimes + this.maxLevel - 1 - l) throw new HeError('BAD_PARAMS', 'unexpected SEAL modulus chain');
      this.levelParms.push(data.parmsId);
      if (l < this.maxLevel) {
        const next = data.nextContextData;
        data.delete();
        data = next;
      }
    }
    data.delete();

    this.encoder = seal.CKKSEncoder(context);
    if (this.encoder.slotCount !== this.slots) throw new HeError('BAD_PARAMS', 'unexpected slot count');

    this.ctBytes = this.levelParms.map((pid) => {
      const probe = seal.CipherText({ context, parmsId: pid });
      try {
        probe.resize(2);
        return probe.saveArray(seal.ComprModeType.none).length;
      } finally {
        probe.delete();
      }
    });
  }

  /** Validates `params` and builds an engine (loads this thread's SEAL instance on first use). */
  static async create(params: HeParams): Promise<HeEngine> {
    validateParams(params);
    if (params.scheme !== 'ckks')
      throw new HeError('BAD_PARAMS', `HeEngine is the CKKS engine; use BfvEngine for ${String(params.scheme)}`);
    const seal = await loadSeal();
    return new HeEngine(seal, params);
  }

  protected probeKeyPair(pk: PkHandle, sk: SkHandle): boolean {
    const probe = Float64Array.from({ length: 8 }, (_, i) => i + 1);
    const ct = this.encrypt(pk, probe);
    try {
      const back = this.decrypt(sk, ct);
      return probe.every((v, i) => Math.abs(back[i]! - v) < 1e-3);
    } finally {
      this.free(ct);
    }
  }

  // ---------------------------------------------------------------- ciphertext bookkeeping

  private wrap(parts: Chunk[], level: number, scale: number, length: number, keyset: string): CtImpl {
    return this.track(new CtImpl(this, parts, level, scale, length, keyset));
  }

  // ---------------------------------------------------------------- encoding helpers

  /** Prime dropped by the next rescale at `level`. */
  private dropPrime(level: number): number {
    return this.primes[this.basePrimes + this.maxLevel - 1 - level]!;
  }

  /**
   * The largest |value| a ciphertext at `level` can take in an addition: {@link maxMagnitude} at the bottom
   * level, and every rescale prime still in the chain above it adds its size (scaleBits) to the headroom.
   */
  private headroomAt(level: number): number {
    return this.maxMagnitude * 2 ** (this.params.scaleBits * Math.max(0, this.maxLevel - level));
  }

  private checkValues(values: ArrayLike<number>, what: string, lim = this.maxMagnitude): void {
    if (values === null || typeof values !== 'object' || typeof values.length !== 'number') {
      throw new HeError('BAD_ARGUMENT', `${what} must be an array of numbers`);
    }
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new HeError('BAD_ARGUMENT', `${what}[${i}] is not a finite number`);
      if (Math.abs(v) > lim)
        throw new HeError(
          'BAD_ARGUMENT',
          `${what}[${i}] exceeds the magnitude bound 2^${Math.log2(lim)} of ${this.id}${lim === this.maxMagnitude ? '' : ' at this level'}`,
        );
    }
  }

  /**
   * Slot values of chunk `i` of `nChunks` for a plaintext operand: up to `slots` values apply to every
   * chunk alike (a per-slot mask or weight pattern); longer vectors follow the packing (chunk i holds
   * values i*slots ..). Returns null for an all-zero chunk.
   */
  private chunkValues(values: ArrayLike<number>, i: number, nChunks: number): Float64Array | null {
    const out = new Float64Array(this.slots);
    if (values.length <= this.slots) {
      for (let j = 0; j < values.length; j++) out[j] = values[j]!;
    } else {
      if (values.length > nChunks * this.slots) {
        throw new HeError(
          'BAD_ARGUMENT',
          `plaintext operand of ${values.length} values is longer than the ciphertext's ${nChunks * this.slots} slots`,
        );
      }
      const base = i * this.slots;
      const end = Math.min(values.length, base + this.slots);
      for (let j = base; j < end; j++) out[j - base] = values[j]!;
    }
    return out.some((v) => v !== 0) ? out : null;
  }

  /** Encodes `values` at `scale` for ciphertexts at `level` (SEAL encodes at the top level; we drop primes). */
  private encodeAt(values: Float64Array, scale: number, level: number): SealPlainText {
    const pt = this.into(this.seal.PlainText(), 'encoding', (d) => this.encoder.encode(values, scale, d));
    if (level === 0) return pt;
    try {
      return this.into(this.seal.PlainText(), 'plaintext mod-switch', (d) =>
        this.evaluator.plainModSwitchTo(pt, this.levelParms[level]!, d),
      );
    } finally {
      pt.delete();
    }
  }

  // ---------------------------------------------------------------- encrypt / decrypt

  /**
   * Encrypts `values` at scale 2^scaleBits under the public key. Any length: ceil(length/slots)
   * ciphertexts (one, all zero, for an empty vector).
   */
  encrypt(pk: PublicKeyHandle, values: ArrayLike<number>): Ct {
    const h = this.pkImpl(pk);
    this.ensureUsable();
    this.checkValues(values, 'values');
    const n = Math.max(1, Math.ceil(values.length / this.slots));
    const scale = 2 ** this.params.scaleBits;
    const parts: Chunk[] = [];
    try {
      for (let i = 0; i < n; i++) {
        const chunk = new Float64Array(this.slots);
        const base = i * this.slots;
        const end = Math.min(values.length, base + this.slots);
        for (let j = base; j < end; j++) chunk[j - base] = values[j]!;
        parts.push(this.encryptChunk(h, chunk, scale, 0));
      }
    } catch (e) {
      for (const p of parts) del(p);
      throw e;
    }
    return this.wrap(parts, 0, scale, values.length, h.fingerprint);
  }

  private encryptChunk(h: PkHandle, values: Float64Array, scale: number, level: number): SealCipherText {
    const pt = this.encodeAt(values, scale, level);
    try {
      return this.sealOut('encryption', (d) => h.encryptor.encrypt(pt, d));
    } finally {
      pt.delete();
    }
  }

  /** Decrypts every slot of every chunk (chunks x slots values; the first `ct.length` are meaningful). */
  decrypt(sk: SecretKeyHandle, ct: Ct): Float64Array {
    const h = this.skImpl(sk);
    const a = this.ct(ct);
    this.checkKeysetOf(a, h.fingerprint);
    const out = new Float64Array(a.parts.length * this.slots);
    this.decryptParts(h, a.parts, (pt, i) => {
      out.set(sealCall(this, 'decoding', 'BAD_ARGUMENT', () => this.encoder.decode(pt)).subarray(0, this.slots), i * this.slots);
    });
    return out;
  }

  // ---------------------------------------------------------------- level / scale alignment

  /** New chunks of `a` switched down to `level` (no rescale: modulus switching keeps the scale). */
  private partsAtLevel(a: CtImpl, level: number): Chunk[] {
    const out: Chunk[] = [];
    try {
      for (const p of a.parts) {
        if (p === null) out.push(null);
        else if (level === a.level) out.push(p.clone());
        else out.push(this.sealOut('mod-switch', (d) => this.evaluator.cipherModSwitchTo(p, this.levelParms[level]!, d)));
      }
    } catch (e) {
      for (const p of out) del(p);
      throw e;
    }
    return out;
  }

  /**
   * Brings chunks (owned, at `level`, scale `scale`) to level+1 at exactly `target` scale: multiply by the
   * constant 1 encoded at c = target * q / scale, then rescale by q. Consumes `parts`.
   */
  private rescaleOnto(parts: Chunk[], level: number, scale: number, target: number): Chunk[] {
    if (level >= this.maxLevel) {
      for (const p of parts) del(p);
      throw new HeError('LEVEL_EXHAUSTED', `aligning scales needs a rescale, but the ciphertext is at the last level (${level})`);
    }
    const q = this.dropPrime(level);
    const c = (target * q) / scale;
    const out: Chunk[] = [];
    let ones: SealPlainText | undefined;
    try {
      ones = this.encodeAt(new Float64Array(this.slots).fill(1), c, level);
      for (const p of parts) {
        if (p === null) {
          out.push(null);
          continue;
        }
        out.push(this.mulPlainRescale(p, ones, target));
      }
    } catch (e) {
      for (const p of out) del(p);
      throw e;
    } finally {
      del(ones);
      for (const p of parts) del(p);
    }
    return out;
  }

  /** p * pt, rescaled; SEAL's resulting scale is checked against `expected` and pinned to it. */
  private mulPlainRescale(p: SealCipherText, pt: SealPlainText, expected: number): Chunk {
    let prod: Chunk = null;
    try {
      prod = this.sealOutOrZero('multiply-plain', (d) => this.evaluator.multiplyPlain(p, pt, d));
      if (prod === null) return null;
      const product = prod;
      const r = this.sealOut('rescale', (d) => this.evaluator.rescaleToNext(product, d));
      if (!sameScale(r.scale, expected)) {
        r.delete();
        throw new HeError('BAD_ARGUMENT', `internal scale drift: ${r.scale} vs ${expected}`);
      }
      r.setScale(expected);
      return r;
    } catch (e) {
      if (e instanceof HeError) throw e;
      throw new HeError('BAD_ARGUMENT', `SEAL rejected multiply-plain: ${describeThrown(e)}`, { cause: e });
    } finally {
      del(prod);
    }
  }

  /**
   * Owned chunk arrays of `a` and `b` at one common level and one exact common scale (see module doc).
   */
  private align(a: CtImpl, b: CtImpl): { level: number; scale: number; pa: Chunk[]; pb: Chunk[] } {
    const L = Math.max(a.level, b.level);
    if (a.scale === b.scale) {
      const pa = this.partsAtLevel(a, L);
      try {
        return { level: L, scale: a.scale, pa, pb: this.partsAtLevel(b, L) };
      } catch (e) {
        for (const p of pa) del(p);
        throw e;
      }
    }
    if (a.level < L || b.level < L) {
      const [low, high, lowIsA] = a.level < L ? [a, b, true] : [b, a, false];
      const moved = this.rescaleOnto(this.partsAtLevel(low, L - 1), L - 1, low.scale, high.scale);
      let kept: Chunk[];
      try {
        kept = this.partsAtLevel(high, L);
      } catch (e) {
        for (const p of moved) del(p);
        throw e;
      }
      return lowIsA ? { level: L, scale: high.scale, pa: moved, pb: kept } : { level: L, scale: high.scale, pa: kept, pb: moved };
    }
    // Same level, different scales: one extra level.
    if (L >= this.maxLevel)
      throw new HeError('LEVEL_EXHAUSTED', `operands at level ${L} have different scales and no level is left to align them`);
    const pa = this.rescaleOnto(this.partsAtLevel(a, L), L, a.scale, b.scale);
    try {
      return { level: L + 1, scale: b.scale, pa, pb: this.partsAtLevel(b, L + 1) };
    } catch (e) {
      for (const p of pa) del(p);
      throw e;
    }
  }

  // ---------------------------------------------------------------- arithmetic

  /** a + b, slot-wise; aligns levels and scales; chunk counts may differ (missing chunks are zero). */
  add(a: Ct, b: Ct): Ct {
    return this.addSub(a, b, false);
  }

  /** a - b, slot-wise; aligns levels and scales. */
  sub(a: Ct, b: Ct): Ct {
    return this.addSub(a, b, true);
  }

  private addSub(x: Ct, y: Ct, subtract: boolean): Ct {
    const a = this.ct(x, 'a');
    const b = this.ct(y, 'b');
    this.sameKeyset(a, b);
    const { level, scale, pa, pb } = this.align(a, b);
    const n = Math.max(pa.length, pb.length);
    const out: Chunk[] = [];
    try {
      for (let i = 0; i < n; i++) {
        const u = pa[i] ?? null;
        const v = pb[i] ?? null;
        if (v === null) out.push(u ? u.clone() : null);
        else if (u === null) out.push(subtract ? this.sealOut('negate', (d) => this.evaluator.negate(v, d)) : v.clone());
        // An exact cancellation (e.g. x - x) is the zero chunk.
        else out.push(this.sealOutOrZero('add/sub', (d) => (subtract ? this.evaluator.sub(u, v, d) : this.evaluator.add(u, v, d))));
      }
    } catch (e) {
      for (const p of out) del(p);
      throw e;
    } finally {
      for (const p of pa) del(p);
      for (const p of pb) del(p);
    }
    return this.wrap(out, level, scale, Math.max(a.length, b.length), a.keyset);
  }

  /**
   * a + values, slot-wise (values up to `slots` long apply to every chunk; longer ones follow the packing).
   * Encoded at a's own scale and level, so nothing is consumed. A chunk known to be zero is re-encrypted
   * under a's keyset, which must then be loaded in this engine.
   */
  addPlain(x: Ct, values: ArrayLike<number>): Ct {
    const a = this.ct(x);
    this.checkValues(values, 'values', this.headroomAt(a.level));
    const n = values.length <= this.slots ? a.parts.length : Math.max(a.parts.length, Math.ceil(values.length / this.slots));
    const out: Chunk[] = [];
    let shared: SealPlainText | null | undefined;
    try {
      for (let i = 0; i < n; i++) {
        const p = a.parts[i] ?? null;
        const vals = this.chunkValues(values, i, n);
        if (vals === null) {
          out.push(p ? p.clone() : null);
          continue;
        }
        if (p === null) {
          const h = this.pkByFingerprint.get(a.keyset);
          if (!h)
            throw new HeError('BAD_ARGUMENT', 'adding a plaintext to a zero chunk needs the ciphertext keyset loaded (usePublicKeyset)');
          out.push(this.encryptChunk(h, vals, a.scale, a.level));
          continue;
        }
        const broadcast = values.length <= this.slots;
        const pt = broadcast ? (shared ??= this.encodeAt(vals, a.scale, a.level)) : this.encodeAt(vals, a.scale, a.level);
        try {
          out.push(this.sealOut('add-plain', (d) => this.evaluator.addPlain(p, pt, d)));
        } finally {
          if (!broadcast) pt.delete();
        }
      }
    } catch (e) {
      for (const p of out) del(p);
      throw e;
    } finally {
      del(shared);
    }
    return this.wrap(out, a.level, a.scale, Math.max(a.length, values.length <= this.slots ? 0 : values.length), a.keyset);
  }

  /**
   * a * values, slot-wise, then rescale. The plaintext is encoded at the prime the rescale drops, so the
   * scale is exactly unchanged (s * q / q) and one level is consumed. Chunks whose values are all zero
   * become exact zero chunks.
   */
  multiplyPlain(x: Ct, values: ArrayLike<number>): Ct {
    const a = this.ct(x);
    this.checkValues(values, 'values');
    if (a.level >= this.maxLevel)
      throw new HeError('LEVEL_EXHAUSTED', `multiplyPlain needs a rescale; ciphertext is at the last level ${a.level}`);
    const q = this.dropPrime(a.level);
    const broadcast = values.length <= this.slots;
    const out: Chunk[] = [];
    let shared: SealPlainText | undefined;
    try {
      for (let i = 0; i < a.parts.length; i++) {
        const p = a.parts[i]!;
        const vals = this.chunkValues(values, i, a.parts.length);
        if (p === null || vals === null) {
          out.push(null);
          continue;
        }
        const pt = broadcast ? (shared ??= this.encodeAt(vals, q, a.level)) : this.encodeAt(vals, q, a.level);
        try {
          out.push(this.mulPlainRescale(p, pt, a.scale));
        } finally {
          if (!broadcast) pt.delete();
        }
      }
    } catch (e) {
      for (const p of out) del(p);
      throw e;
    } finally {
      del(shared);
    }
    return this.wrap(out, a.level + 1, a.scale, a.length, a.keyset);
  }

  /** a - values (see {@link addPlain} for the layout of `values`). */
  subPlain(a: Ct, values: ArrayLike<number>): Ct {
    this.checkValues(values, 'values');
    return this.addPlain(
      a,
      Array.from(values, (v) => -v),
    );
  }

  /** -a (exact, no level consumed). */
  negate(x: Ct): Ct {
    const a = this.ct(x);
    const out: Chunk[] = [];
    try {
      for (const p of a.parts) out.push(p === null ? null : this.sealOut('negate', (d) => this.evaluator.negate(p, d)));
    } catch (e) {
      for (const p of out) del(p);
      throw e;
    }
    return this.wrap(out, a.level, a.scale, a.length, a.keyset);
  }

  /** a * c for every slot (a constant), via multiplyPlain: scale unchanged, one level consumed. */
  multiplyConst(a: Ct, c: number): Ct {
    return this.multiplyPlain(a, new Float64Array(this.slots).fill(c));
  }

  /**
   * a * b (ciphertext x ciphertext), relinearised (needs the keyset's relinearisation keys) and rescaled:
   * result scale s_a * s_b / q, one level consumed. Chunk counts must match.
   */
  multiply(x: Ct, y: Ct, pk: PublicKeyHandle): Ct {
    const a = this.ct(x, 'a');
    const b = this.ct(y, 'b');
    const h = this.pkImpl(pk);
    this.sameKeyset(a, b);
    this.checkKeysetOf(a, h.fingerprint);
    if (!h.relinKeys) throw new HeError('MISSING_RELIN_KEYS', 'keyset has no relinearisation keys (generate it with relin: true)');
    const relin = h.relinKeys;
    if (a.parts.length !== b.parts.length)
      throw new HeError('BAD_ARGUMENT', `chunk counts differ (${a.parts.length} vs ${b.parts.length})`);
    const L = Math.max(a.level, b.level);
    if (L >= this.maxLevel) throw new HeError('LEVEL_EXHAUSTED', `multiply needs a rescale; operands reach the last level ${L}`);
    const q = this.dropPrime(L);
    const scale = (a.scale * b.scale) / q;
    const pa = this.partsAtLevel(a, L);
    let pb: Chunk[] = [];
    const out: Chunk[] = [];
    try {
      pb = this.partsAtLevel(b, L);
      for (let i = 0; i < pa.length; i++) {
        const u = pa[i]!;
        const v = pb[i]!;
        if (u === null || v === null) {
          out.push(null);
          continue;
        }
        out.push(this.mulRelinRescale(u, v, relin, scale));
      }
    } catch (e) {
      for (const p of out) del(p);
      throw e;
    } finally {
      for (const p of pa) del(p);
      for (const p of pb) del(p);
    }
    return this.wrap(out, L + 1, scale, Math.max(a.length, b.length), a.keyset);
  }

  private mulRelinRescale(u: SealCipherText, v: SealCipherText, relin: SealRelinKeys, expected: number): SealCipherText {
    let m: SealCipherText | undefined;
    let r: SealCipherText | undefined;
    try {
      m = this.sealOut('multiply', (d) => this.evaluator.multiply(u, v, d));
      r = this.sealOut('relinearize', (d) => this.evaluator.relinearize(m!, relin, d));
      const out = this.sealOut('rescale', (d) => this.evaluator.rescaleToNext(r!, d));
      if (!sameScale(out.scale, expected)) {
        out.delete();
        throw new HeError('BAD_ARGUMENT', `internal scale drift: ${out.scale} vs ${expected}`);
      }
      out.setScale(expected);
      return out;
    } finally {
      del(m, r);
    }
  }

  /**
   * Left rotation of every chunk by `steps` slots (slot i receives slot i+steps, cyclically within each
   * ciphertext). Uses the step's own Galois key or composes available ones; otherwise
   * `MISSING_GALOIS_STEP`.
   */
  rotate(x: Ct, steps: number, pk: PublicKeyHandle): Ct {
    const a = this.ct(x);
    const h = this.pkImpl(pk);
    this.checkKeysetOf(a, h.fingerprint);
    if (!Number.isSafeInteger(steps)) throw new HeError('BAD_ARGUMENT', `steps must be an integer, got ${String(steps)}`);
    const plan = this.rotationPlan(steps, h);
    return this.wrap(this.rotateParts(a.parts, plan, this.rotateOne(h)), a.level, a.scale, a.length, a.keyset);
  }

  private rotationPlan(steps: number, h: PkHandle): number[] {
    const plan = planRotation(steps, h.stepSet, this.slots);
    if (plan === null) {
      throw new HeError(
        'MISSING_GALOIS_STEP',
        `no Galois key for rotation by ${steps} (keyset steps: ${h.galoisSteps.join(',') || 'none'})`,
      );
    }
    return plan;
  }

  /** CKKS slot rotation by one available step with `h`'s Galois keys, into `dest`. */
  private rotateOne(h: PkHandle): (c: SealCipherText, step: number, dest: SealCipherText) => unknown {
    return (c, step, dest) => this.evaluator.rotateVector(c, step, h.galoisKeys!, dest);
  }

  /**
   * Rotate-and-sum inside windows of `width` slots (a power of two): log2(width) rounds of
   * x += rotate(x, 2^i). Afterwards slot k*width holds the sum of slots k*width .. k*width+width-1; other
   * slots hold partial sums (callers mask). width = slots sums everything into every slot. Needs
   * rotation steps {@link rotationStepsForWidth}(width). No level is consumed.
   */
  sumSlots(x: Ct, width: number, pk: PublicKeyHandle): Ct {
    const a = this.ct(x);
    const h = this.pkImpl(pk);
    this.checkKeysetOf(a, h.fingerprint);
    checkWidth(width, this.slots);
    const plans = rotationStepsForWidth(width).map((s) => this.rotationPlan(s, h));
    return this.wrap(this.rotateAndAdd(a.parts, plans, this.rotateOne(h)), a.level, a.scale, a.length, a.keyset);
  }

  /**
   * Release hygiene for a ciphertext the consumer will decrypt (compiler README, "Release hygiene"): per
   * chunk i, x + conj(x) + Enc(fill(i)) at x's level and scale. The conjugation (SEAL's Galois element 2N-1,
   * keyset step 0) cancels every slot's imaginary part exactly, the data-dependent part of the approximate
   * arithmetic that a real-valued fill cannot reach, and doubles the real part; the fresh public-key
   * encryption of `fill` (uniform values chosen by the caller at slots the consumer must not read, small
   * flooding noise at the ones it reads) re-randomises the ciphertext and its noise (Li-Micciancio 2021,
   * noise flooding). An absent (exact zero) chunk becomes Enc(fill(i)).
   */
  releaseFill(x: Ct, pk: PublicKeyHandle, fill: (chunk: number) => Float64Array): Ct {
    const a = this.ct(x);
    const h = this.pkImpl(pk);
    this.checkKeysetOf(a, h.fingerprint);
    if (!h.stepSet.has(0) || !h.galoisKeys)
      throw new HeError('MISSING_GALOIS_STEP', 'release hygiene needs the conjugation key (Galois step 0) in the keyset');
    const out: Chunk[] = [];
    try {
      a.parts.forEach((p, i) => {
        const vals = fill(i);
        if (!(vals instanceof Float64Array) || vals.length !== this.slots)
          throw new HeError('BAD_ARGUMENT', `fill(${i}) must be a Float64Array of ${this.slots} values`);
        this.checkValues(vals, 'fill', this.headroomAt(a.level));
        const fresh = this.encryptChunk(h, vals, a.scale, a.level);
        if (p === null) {
          out.push(fresh);
          return;
        }
        let conj: SealCipherText | null = null;
        let real: SealCipherText | null = null;
        try {
          conj = this.sealOut('conjugation', (d) => this.evaluator.complexConjugate(p, h.galoisKeys!, d));
          const c = conj;
          real = this.sealOut('add', (d) => this.evaluator.add(p, c, d));
          const r = real;
          out.push(this.sealOut('add', (d) => this.evaluator.add(r, fresh, d)));
        } finally {
          del(conj, real, fresh);
        }
      });
    } catch (e) {
      for (const p of out) del(p);
      throw e;
    }
    return this.wrap(out, a.level, a.scale, a.length, a.keyset);
  }

  /** Adds all chunks of `a` into one ciphertext (slot j = sum over chunks of slot j); length min(length, slots). */
  sumChunks(x: Ct): Ct {
    const a = this.ct(x);
    return this.wrap([this.addParts(a.parts)], a.level, a.scale, Math.min(a.length, this.slots), a.keyset);
  }

  /**
   * Sum of all `length` values into slot 0 of a one-chunk Ct: sumChunks, then sumSlots over the smallest
   * power-of-two window holding the values (every slot holds the sum when that window is all slots).
   * Summing only the occupied window matters for accuracy, not only speed: each slot carries encryption
   * noise, and a full slot sum adds the noise of every empty slot (measured: ~1e-7 absolute in normalised
   * units over 4,096 slots, against ~2e-9 for one slot), which would dominate the sum of a few values.
   */
  sumAll(a: Ct, pk: PublicKeyHandle): Ct {
    const used = Math.max(1, Math.min(this.ct(a).length, this.slots));
    const width = 2 ** Math.ceil(Math.log2(used));
    return this.scope(() => this.sumSlots(this.sumChunks(a), width, pk));
  }

  // ---------------------------------------------------------------- bytes

  /**
   * Serialises a Ct: magic "HECT" | u8 version | str paramsId | 32-byte keyset fingerprint | u8 level
   * | f64 scale | u32 length | u32 chunks | per chunk: u8 present, [u32 len + SEAL ciphertext (uncompressed:
   * zstd saves ~15% at ~10x the time)] | SHA-256 of all preceding bytes.
   */
  save(x: Ct): Uint8Array {
    const a = this.ct(x);
    return this.finishSave(this.beginSave(a).u8(a.level).f64(a.scale), a);
  }

  /**
   * Parses bytes from {@link save}. Integrity (checksum), framing and every SEAL header are verified
   * before SEAL reads anything; other parameters (or a BFV ciphertext) are `PARAMS_MISMATCH`; anything
   * malformed is `CORRUPT`.
   */
  load(bytes: Uint8Array): Ct {
    const { r, keyset } = this.openLoad(bytes);
    const level = r.u8();
    const scale = r.f64();
    if (level > this.maxLevel) throw new HeError('CORRUPT', `ciphertext: level ${level} beyond ${this.maxLevel}`);
    if (!(scale > 1) || !Number.isFinite(scale)) throw new HeError('CORRUPT', 'ciphertext: invalid scale');
    const primes = this.basePrimes + this.maxLevel - level;
    const { length, parts } = this.finishLoad(
      r,
      this.ctBytes[level]!,
      (c) => c.size === 2 && c.isNttForm && c.coeffModulusSize === primes && c.scale === scale,
    );
    return this.wrap(parts, level, scale, length, keyset);
  }

  // ---------------------------------------------------------------- teardown

  protected disposeOwn(): void {
    for (const p of this.levelParms) p.delete();
    del(this.encoder);
  }
}
