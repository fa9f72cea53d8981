/** Slot layout arithmetic shared by the compiler, the provider encoding and the decoding. */
import type { LocalGrouping } from './plan-types.js';
import type { Row } from '../types.js';

/** Largest power of two <= n (n >= 1). */
export function floorPow2(n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new Error(`floorPow2 needs an integer >= 1, got ${n}`);
  return 2 ** Math.floor(Math.log2(n));
}

/** Block width for G groups in `slots` slots: W = largest power of two <= slots / G. */
export function blockWidth(slots: number, groups: number): number {
  if (groups > slots) throw new Error(`${groups} groups do not fit in ${slots} slots`);
  return floorPow2(Math.floor(slots / groups));
}

/** Rotation steps rotate-and-sum needs for windows of `width` slots: 1, 2, 4, …, width/2. */
export function stepsForWidth(width: number): number[] {
  const out: number[] = [];
  for (let s = 1; s < width; s *= 2) out.push(s);
  return out;
}

/** Number of groups of a grouping (1 when ungrouped). */
export function groupCount(g: LocalGrouping): number {
  return g.columns.reduce((n, c) => n * c.values.length, 1);
}

/** Group keys in order: the cross product, first column most significant, joined with "|". */
export function groupKeys(g: LocalGrouping): string[] {
  let keys = [''];
  for (const [i, c] of g.columns.entries()) {
    keys = keys.flatMap((k) => c.values.map((v) => (i === 0 ? v : `${k}|${v}`)));
  }
  return keys;
}

/** Index of a row's group, or -1 when a value is outside a category list. */
export function groupIndexOf(g: LocalGrouping, row: Row): number {
  let idx = 0;
  for (const c of g.columns) {
    const v = row[c.column];
    const i = c.values.indexOf(String(v));
    if (i < 0) return -1;
    idx = idx * c.values.length + i;
  }
  return idx;
}

/** Component values (one per column) of group index `g`. */
export function groupComponents(g: LocalGrouping, index: number): string[] {
  const out: string[] = [];
  let rest = index;
  for (let i = g.columns.length - 1; i >= 0; i--) {
    const n = g.columns[i].values.length;
    out.unshift(g.columns[i].values[rest % n]);
    rest = Math.floor(rest / n);
  }
  return out;
}
