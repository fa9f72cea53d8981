/**
 * Grouped encrypted values and their magnitude bookkeeping, shared by every layout (compiler/README.md,
 * "Magnitudes and gains"): a `GVal` carries, with its node, the factor that turns slots into real units (1 / the
 * gain), the bounds that keep every slot under SLOT_CAP (magnitude.ts) and the L1 sensitivity its Laplace noise is
 * scaled by. `maskVal` rescales a value in a mask and `release` turns one into an output the consumer reads:
 * fitted under SLOT_CAP with its noise tail, masked to its leader slots (suppression, blinding), then noised.
 */
import type { MetricDecoding, NodeId, Read } from './plan-types.js';
import { noiseGrid } from './sampler.js';
import { BLIND_BITS, SLOT_CAP, laplaceTail } from './magnitude.js';
import type { PlanBuilder } from './builder.js';

/** A grouped value on a ciphertext: group g's value at slot leaders[g], times `factor`. */
export interface GVal {
  node: NodeId;
  groups: string[] | null;
  leaders: number[];
  /** zeros outside the leader slots, with its conditions already applied */
  clean: boolean;
  /** real value = slot value × factor (1 / the gain) */
  factor: number;
  round: boolean;
  conditions: string[];
  /** upper bound of |slot value| anywhere in the ciphertext (leaders, and partial sums of aligned metrics), <= SLOT_CAP */
  bound: number;
  /** upper bound of the sum over groups of |slot value at the leader| */
  l1: number;
  /** L1 sensitivity of one group's real value to one row (for Laplace noise) */
  sens: number;
  /** a total over groups (dot): a condition suppressing any group withholds the whole value */
  anyGroup?: boolean;
}

/** A compiled metric: its groups, its value when it is one encrypted value per group, and how the consumer decodes it. */
export interface CMetric {
  groups: string[] | null;
  gval?: GVal;
  /** `blind`: the id of the quotient whose operands this decoding's reads are blinded for (see `release`) */
  decode: (blind?: string) => MetricDecoding;
  /**
   * A condition (kind `empty`) whose groups have no contributing rows, for a ratio's denominator
   * whose empty groups would otherwise decode as CKKS noise instead of 0 (sum, sumProduct); created
   * on first use.
   */
  empty?: () => string;
}

/** A decoding per blinding id (or none), each built once: the same operand blinded for two quotients is two outputs. */
export function memoDecode(read: (blind?: string) => MetricDecoding): (blind?: string) => MetricDecoding {
  const memo = new Map<string, MetricDecoding>();
  return (blind) => {
    const key = blind ?? '';
    let d = memo.get(key);
    if (!d) memo.set(key, (d = read(blind)));
    return d;
  };
}

/** `g` multiplied by `scale` at its leader slots (zeros elsewhere, `conditions` applied; × r_g when blinded). */
export function maskVal(b: PlanBuilder, g: GVal, scale: number, conditions: string[], blind?: string): GVal {
  const entries = g.leaders.map((slot, group) => ({ group, slot, scale }));
  const node = b.node({ op: 'mask', a: g.node, entries, conditions, ...(blind ? { blind } : {}) });
  const grow = blind ? 2 ** BLIND_BITS : 1;
  return {
    ...g,
    node,
    clean: true,
    factor: g.factor / scale,
    bound: g.bound * Math.abs(scale) * grow,
    l1: g.l1 * Math.abs(scale) * grow,
    conditions,
  };
}

/**
 * Release a grouped value: mask to the leader slots (suppression), then noise; returns the consumer's read.
 * `blind` (the operands of a quotient): the mask also multiplies group g by the quotient's secret factor
 * r_g in [1, 2^BLIND_BITS), and so does the noise; the output then sits one level above the bottom of the
 * modulus chain (the plan's depth accounts for it, see compile.ts), where the headroom is 2^40 times larger.
 */
export function release(b: PlanBuilder, g: GVal, epsilon: number | null, blind?: string): Read {
  // Laplace samples are capped at LAPLACE_TAIL scales (circuit.ts): value + noise must fit SLOT_CAP.
  // Row metrics size their gains for it; a noisy difference may need its mask to scale down.
  const tail = laplaceTail(g.sens, epsilon) / g.factor;
  const fit = Math.min(1, SLOT_CAP / (g.bound + tail));
  const masked = g.clean && fit === 1 && !blind ? g : maskVal(b, g, fit, g.conditions, blind);
  let node = masked.node;
  if (epsilon !== null) {
    const scale = masked.sens / epsilon / masked.factor;
    // a rounded value's noise is a whole number of counts; a real value's lives on a power-of-two grid
    node = b.node({
      op: 'noise',
      a: node,
      slots: masked.leaders,
      scale,
      grid: g.round ? 1 / masked.factor : noiseGrid(scale),
      ...(blind ? { blind } : {}),
    });
  }
  return {
    output: b.output(node, masked.conditions, g.anyGroup === true),
    slots: masked.leaders,
    factor: masked.factor,
    ...(blind ? { blinded: true } : {}),
  };
}

/** A value whose decoding reads it released (with `epsilon`'s noise, blinded for the quotient `blind`). */
export function valueDecoding(b: PlanBuilder, g: GVal, epsilon: number | null, round: boolean): (blind?: string) => MetricDecoding {
  return (bl) => ({ kind: 'value', read: release(b, g, epsilon, bl), round });
}

/** What a layout gives a mean or a variance: the sum of x^power over the metric's rows and their count, at ε `eps`. */
export interface RowSums {
  sum(power: 1 | 2, eps: number | null): GVal;
  count(eps: number | null): GVal;
}

/**
 * A mean as a quotient (several roles, aligned rows, or noise): Σx and n, ε/2 each, released blinded by one
 * secret r_g per group for the same quotient (its own `mean:<name>`, or a ratio's): the consumer gets Σx·r and
 * n·r, so their quotient, not the operands.
 */
export function meanQuotient(b: PlanBuilder, rows: RowSums, eps: number | null, name: string): (blind?: string) => MetricDecoding {
  const e = eps === null ? null : eps / 2;
  const s = rows.sum(1, e);
  const n = rows.count(e);
  return (bl) => {
    const id = bl ?? `mean:${name}`;
    return { kind: 'quotient', num: release(b, s, e, id), den: release(b, n, e, id) };
  };
}

/** A variance or standard deviation from Σx, Σx² and n, ε/3 each, blinded like `meanQuotient`'s operands. */
export function momentsQuotient(
  b: PlanBuilder,
  rows: RowSums,
  eps: number | null,
  name: string,
  sqrt: boolean,
): (blind?: string) => MetricDecoding {
  const e = eps === null ? null : eps / 3;
  const s1 = rows.sum(1, e);
  const s2 = rows.sum(2, e);
  const n = rows.count(e);
  return (bl) => {
    const id = bl ?? `moments:${name}`;
    return {
      kind: 'moments',
      m1: release(b, s1, e, id),
      m2: release(b, s2, e, id),
      count: release(b, n, e, id),
      factor2: 1,
      sqrt,
    };
  };
}
