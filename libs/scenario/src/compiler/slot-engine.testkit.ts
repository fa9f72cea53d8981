/**
 * A plaintext model of the CKKS slot operations (test support only): same rotate-and-sum, the level
 * and scale rules of `#he-core`'s HeEngine and a small additive error per operation, so layout,
 * level and scale bugs show up in fast tests without node-seal.
 *
 * Scales follow HeEngine exactly (libs/he-core/src/engine.ts, module doc): a fresh encryption has
 * scale 2^40; multiplyPlain keeps the scale; ct × ct at level L gives s_a·s_b/q_L, where q_L, the prime
 * the rescale drops, is close to but not exactly 2^40 (modelled by distinct primes per level); add/sub
 * align operands: equal scales are mod-switched to the higher level (free), unequal scales at different
 * levels rescale the lower operand onto the higher one's scale (free), unequal scales at the same
 * level cost one extra level, and none may exceed the modulus chain (LEVEL_EXHAUSTED on HeEngine).
 */
import type { Plan } from './plan-types.js';
import type { TestEngine } from './testkit.js';
import { SLOT_CAP } from './magnitude.js';

export interface SlotCt {
  v: Float64Array;
  level: number;
  scale: number;
  freed: boolean;
}

/** Stand-in for the rescale prime dropped at `level`: distinct per level and != 2^40, as SEAL's NTT primes. */
const primeAt = (level: number): number => 2 ** 40 - 2 ** 15 * (2 * level + 1) + 1;

export class SlotEngine implements TestEngine<SlotCt, null, null> {
  live = 0;
  /** largest |slot value| any ciphertext held (the plan must keep it <= SLOT_CAP: CKKS would wrap above 2^25) */
  peak = 0;
  /** deepest level any ciphertext reached */
  deepest = 0;
  /**
   * `maxLevel`: rescales the parameters allow (HeEngine.maxLevel: the 40-bit primes of the chain, see
   * {@link SlotEngine.forPlan}); `err`: width of the uniform error every operation adds to every slot;
   * `errSum`: the same for a rotate-and-sum (on `#he-core` a fresh encryption or product leaves ~1e-8
   * at most, a rotate-and-sum over 1024 slots ~2e-7: key switching per rotation).
   */
  constructor(
    readonly slots: number,
    private readonly maxLevel: number,
    private readonly err = 1e-9,
    private readonly rng: () => number = Math.random,
    private readonly errSum = err,
  ) {}

  /** An engine with the plan's slot count and modulus chain (rescale primes = the primes of size scaleBits after the base). */
  static forPlan(plan: Plan, err = 1e-9, rng: () => number = Math.random, errSum = err): SlotEngine {
    const data = plan.params.coeffModulusBits.slice(0, -1);
    let r = 0;
    while (r < data.length - 1 && data[data.length - 1 - r] === plan.params.scaleBits) r++;
    return new SlotEngine(plan.slots, r, err, rng, errSum);
  }

  private make(v: Float64Array, level: number, scale: number, err = this.err): SlotCt {
    if (level > this.maxLevel) throw new Error(`level ${level} exceeds the modulus chain (${this.maxLevel})`);
    this.deepest = Math.max(this.deepest, level);
    for (const x of v) if (Math.abs(x) > this.peak) this.peak = Math.abs(x);
    // SLOT_CAP at the bottom level; each 40-bit prime above it adds 2^40 (blinded quotient operands use one)
    const cap = SLOT_CAP * 2 ** (40 * Math.max(0, this.maxLevel - level));
    let top = 0;
    for (const x of v) if (Math.abs(x) > top) top = Math.abs(x);
    if (top > cap * (1 + 1e-9)) throw new Error(`a slot holds ${top.toExponential(3)}, above the plan's headroom ${cap} at level ${level}`);
    for (let i = 0; i < v.length; i++) v[i] += (this.rng() - 0.5) * err;
    this.live++;
    return { v, level, scale, freed: false };
  }
  private check(...cts: SlotCt[]): void {
    for (const c of cts) if (c.freed) throw new Error('use after free');
  }
  /** HeEngine.align: the level and scale of a + b. */
  private align(a: SlotCt, b: SlotCt): { level: number; scale: number } {
    this.check(a, b);
    const L = Math.max(a.level, b.level);
    if (a.scale === b.scale) return { level: L, scale: a.scale };
    if (a.level !== b.level) return { level: L, scale: (a.level > b.level ? a : b).scale };
    if (L >= this.maxLevel)
      throw new Error(`LEVEL_EXHAUSTED: operands at level ${L} have different scales and no level is left to align them`);
    return { level: L + 1, scale: b.scale };
  }
  encrypt(_pk: null, values: Float64Array): SlotCt {
    if (values.length > this.slots) throw new Error('too many values');
    const v = new Float64Array(this.slots);
    v.set(values);
    return this.make(v, 0, 2 ** 40);
  }
  decrypt(_sk: null, ct: SlotCt): Float64Array {
    this.check(ct);
    return Float64Array.from(ct.v);
  }
  add(a: SlotCt, b: SlotCt): SlotCt {
    const { level, scale } = this.align(a, b);
    return this.make(
      a.v.map((x, i) => x + b.v[i]),
      level,
      scale,
    );
  }
  sub(a: SlotCt, b: SlotCt): SlotCt {
    const { level, scale } = this.align(a, b);
    return this.make(
      a.v.map((x, i) => x - b.v[i]),
      level,
      scale,
    );
  }
  addPlain(a: SlotCt, p: Float64Array): SlotCt {
    this.check(a);
    return this.make(
      a.v.map((x, i) => x + (p[i] ?? 0)),
      a.level,
      a.scale,
    );
  }
  multiplyPlain(a: SlotCt, p: Float64Array): SlotCt {
    this.check(a);
    return this.make(
      a.v.map((x, i) => x * (p[i] ?? 0)),
      a.level + 1,
      a.scale,
    );
  }
  multiply(a: SlotCt, b: SlotCt): SlotCt {
    this.check(a, b);
    const L = Math.max(a.level, b.level);
    return this.make(
      a.v.map((x, i) => x * b.v[i]),
      L + 1,
      (a.scale * b.scale) / primeAt(L),
    );
  }
  sumSlots(a: SlotCt, width: number): SlotCt {
    this.check(a);
    let v = Float64Array.from(a.v);
    for (let s = 1; s < width; s *= 2) {
      const r = v.map((_, i) => v[(i + s) % this.slots]);
      v = v.map((x, i) => x + r[i]);
    }
    return this.make(v, a.level, a.scale, this.errSum);
  }
  /** HeEngine.releaseFill: x + conj(x) (real slots: 2x) + fill, at x's level and scale; no headroom check (the fill is not data). */
  releaseFill(a: SlotCt, _pk: null, fill: (chunk: number) => Float64Array): SlotCt {
    this.check(a);
    const f = fill(0);
    const v = a.v.map((x, i) => 2 * x + f[i]! + (this.rng() - 0.5) * this.err);
    this.live++;
    return { v, level: a.level, scale: a.scale, freed: false };
  }
  free(ct: SlotCt): void {
    if (ct.freed) throw new Error('double free');
    ct.freed = true;
    this.live--;
  }
}
