/**
 * Levels and CKKS scales of circuit nodes, predicted with the rules `#he-core`'s HeEngine applies
 * (compiler/README.md, "Levels and scales"), so a plan's depth covers every level the engine spends.
 */
import type { CircuitOp } from './plan-types.js';

/**
 * The CKKS scale of a ciphertext, symbolically: `#he-core` encrypts at s = 2^scaleBits, multiplyPlain keeps
 * the scale exactly, and a ct × ct product at level L has scale s_a·s_b/q_L, where q_L (the prime its rescale
 * drops) is close to but not 2^40. So a scale is s^k / Π q_L over the levels of the products that formed it:
 * written "k/L1,L2,…" (levels sorted).
 */
export type Scale = string;
export const FRESH_SCALE: Scale = '1/';

/** What the compiler tracks of a node: its level, its scale, and whether it is per chunk. */
export interface NodeShape {
  level: number;
  scale: Scale;
  chunked: boolean;
}

function productScale(a: Scale, b: Scale, level: number): Scale {
  const parse = (x: Scale): [number, number[]] => {
    const [k, ls] = x.split('/');
    return [Number(k), ls ? ls.split(',').map(Number) : []];
  };
  const [ka, la] = parse(a);
  const [kb, lb] = parse(b);
  return `${ka + kb}/${[...la, ...lb, level].sort((x, y) => x - y).join(',')}`;
}

/**
 * Level and scale of a + b as `#he-core`'s HeEngine aligns them: equal scales are mod-switched to the
 * deeper level (free); unequal scales at different levels rescale the shallower operand onto the
 * deeper one's scale (free); unequal scales at the same level cost one more level (b's scale).
 */
function alignedLevel(a: { level: number; scale: Scale }, b: { level: number; scale: Scale }): { level: number; scale: Scale } {
  const L = Math.max(a.level, b.level);
  if (a.scale === b.scale) return { level: L, scale: a.scale };
  if (a.level !== b.level) return { level: L, scale: (a.level > b.level ? a : b).scale };
  return { level: L + 1, scale: b.scale };
}

/** The shape of the node `op` forms from its operands' shapes (`get`). */
export function shapeOf(op: CircuitOp, get: (id: string) => NodeShape): NodeShape {
  switch (op.op) {
    case 'input':
      return { level: 0, scale: FRESH_SCALE, chunked: true };
    case 'private':
      return { level: 0, scale: FRESH_SCALE, chunked: false };
    case 'reduce':
      return { level: get(op.a).level, scale: get(op.a).scale, chunked: false };
    case 'add': {
      // the engine folds left, aligning each pair (alignedLevel)
      let acc = { level: get(op.args[0]).level, scale: get(op.args[0]).scale };
      for (const a of op.args.slice(1)) acc = alignedLevel(acc, get(a));
      return { ...acc, chunked: op.args.some((a) => get(a).chunked) };
    }
    case 'sub':
      return { ...alignedLevel(get(op.a), get(op.b)), chunked: get(op.a).chunked || get(op.b).chunked };
    case 'mul': {
      const L = Math.max(get(op.a).level, get(op.b).level);
      return { level: L + 1, scale: productScale(get(op.a).scale, get(op.b).scale, L), chunked: get(op.a).chunked || get(op.b).chunked };
    }
    case 'mulPlain':
    case 'mask':
      return { level: get(op.a).level + 1, scale: get(op.a).scale, chunked: get(op.a).chunked };
    case 'addPlain':
    case 'noise':
    case 'sumSlots':
      return { level: get(op.a).level, scale: get(op.a).scale, chunked: get(op.a).chunked };
  }
}
