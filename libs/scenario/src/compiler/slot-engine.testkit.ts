/**
 * A plaintext model of the CKKS slot operations (test support only): same rotate-and-sum,
 * level accounting (multiplications must see equal levels) and a small additive error per
 * operation, so layout and level bugs show up in fast tests without node-seal.
 */
import type { TestEngine } from './testkit.js';
import { SLOT_CAP } from './magnitude.js';

export interface SlotCt { v: Float64Array; level: number; freed: boolean }

export class SlotEngine implements TestEngine<SlotCt, null, null> {
  live = 0;
  /** largest |slot value| any ciphertext held (the plan must keep it <= SLOT_CAP: CKKS would wrap above 2^25) */
  peak = 0;
  /**
   * `err`: width of the uniform error every operation adds to every slot; `errSum`: the same for a
   * rotate-and-sum (on `#he-core` a fresh encryption or product leaves ~1e-8 at most, a rotate-and-sum
   * over 1024 slots ~2e-7: key switching per rotation).
   */
  constructor(readonly slots: number, private readonly maxLevel: number, private readonly err = 1e-9, private readonly rng: () => number = Math.random, private readonly errSum = err) {}
  private make(v: Float64Array, level: number, err = this.err): SlotCt {
    if (level > this.maxLevel) throw new Error(`level ${level} exceeds the modulus chain (${this.maxLevel})`);
    for (const x of v) if (Math.abs(x) > this.peak) this.peak = Math.abs(x);
    if (this.peak > SLOT_CAP * (1 + 1e-9)) throw new Error(`a slot holds ${this.peak.toExponential(3)}, above the plan's headroom ${SLOT_CAP}`);
    for (let i = 0; i < v.length; i++) v[i] += (this.rng() - 0.5) * err;
    this.live++;
    return { v, level, freed: false };
  }
  private check(...cts: SlotCt[]): void {
    for (const c of cts) if (c.freed) throw new Error('use after free');
  }
  private same(a: SlotCt, b: SlotCt): void {
    this.check(a, b);
    if (a.level !== b.level) throw new Error(`level mismatch ${a.level} vs ${b.level}`);
  }
  encrypt(_pk: null, values: Float64Array): SlotCt {
    if (values.length > this.slots) throw new Error('too many values');
    const v = new Float64Array(this.slots);
    v.set(values);
    return this.make(v, 0);
  }
  decrypt(_sk: null, ct: SlotCt): Float64Array { this.check(ct); return Float64Array.from(ct.v); }
  add(a: SlotCt, b: SlotCt): SlotCt { this.same(a, b); return this.make(a.v.map((x, i) => x + b.v[i]), a.level); }
  sub(a: SlotCt, b: SlotCt): SlotCt { this.same(a, b); return this.make(a.v.map((x, i) => x - b.v[i]), a.level); }
  addPlain(a: SlotCt, p: Float64Array): SlotCt { this.check(a); return this.make(a.v.map((x, i) => x + (p[i] ?? 0)), a.level); }
  multiplyPlain(a: SlotCt, p: Float64Array): SlotCt { this.check(a); return this.make(a.v.map((x, i) => x * (p[i] ?? 0)), a.level + 1); }
  multiply(a: SlotCt, b: SlotCt): SlotCt { this.same(a, b); return this.make(a.v.map((x, i) => x * b.v[i]), a.level + 1); }
  sumSlots(a: SlotCt, width: number): SlotCt {
    this.check(a);
    let v = Float64Array.from(a.v);
    for (let s = 1; s < width; s *= 2) {
      const r = v.map((_, i) => v[(i + s) % this.slots]);
      v = v.map((x, i) => x + r[i]);
    }
    return this.make(v, a.level, this.errSum);
  }
  free(ct: SlotCt): void {
    if (ct.freed) throw new Error('double free');
    ct.freed = true;
    this.live--;
  }
}
