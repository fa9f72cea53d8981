/**
 * Plaintext rows as the reference sees them: only the scenario's columns, numbers clamped
 * to the column's [min, max] (docs/scenario-format.md, "Inputs"), ids as strings; and the
 * alignment of roles on id columns (docs/scenario-format.md, `align`).
 * Error messages name role, row index and column, never a value.
 */
import type { ParamValues, Row, Scenario } from '../types.js';
import { paramName } from '../validate/index.js';

export function clamp(x: number, min: number, max: number): number {
  return x < min ? min : x > max ? max : x;
}

/** Checks and normalises one role's rows; throws TypeError on a malformed row. */
export function normaliseRows(s: Scenario, role: string, rows: unknown): Row[] {
  if (!Array.isArray(rows)) throw new TypeError(`evaluateReference: rows of role "${role}" must be an array`);
  const columns = Object.entries(s.inputs[role].columns);
  return rows.map((row: unknown, i) => {
    if (typeof row !== 'object' || row === null || Array.isArray(row)) {
      throw new TypeError(`evaluateReference: role "${role}" row ${i} is not an object`);
    }
    const src = row as Record<string, unknown>;
    const out: Row = {};
    for (const [col, spec] of columns) {
      const where = `evaluateReference: role "${role}" row ${i} column "${col}"`;
      if (!Object.hasOwn(src, col)) throw new TypeError(`${where} is missing`);
      const v = src[col];
      if (spec.type === 'number' || spec.type === 'integer') {
        if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`${where} is not a finite number`);
        if (spec.type === 'integer' && !Number.isInteger(v)) throw new TypeError(`${where} is not an integer`);
        out[col] = clamp(v, spec.min, spec.max);
      } else if (spec.type === 'category') {
        if (typeof v !== 'string') throw new TypeError(`${where} is not a string`);
        out[col] = v;
      } else {
        if (typeof v !== 'string' && !(typeof v === 'number' && Number.isFinite(v))) throw new TypeError(`${where} is not an id`);
        out[col] = String(v);
      }
    }
    return out;
  });
}

export interface Alignment {
  /** Aligned keys in result order: the consumer's list, or the sorted intersection. */
  keys: string[];
  /** Per aligned role: aligned key → that role's row. */
  index: Map<string, Map<string, Row>>;
  /** With consumer keys: per role, how many keys it lacks. */
  missingKeys?: Record<string, number>;
}

function indexRole(rows: Row[], role: string, idColumn: string): Map<string, Row> {
  const index = new Map<string, Row>();
  rows.forEach((row, i) => {
    const id = row[idColumn] as string;
    if (index.has(id)) {
      throw new RangeError(
        `evaluateReference: role "${role}" row ${i}: id column "${idColumn}" repeats an id; align needs at most one row per id`,
      );
    }
    index.set(id, row);
  });
  return index;
}

/**
 * `align` with `keys`: the consumer's keys, in its order; a key a role lacks counts as 0
 * and is counted in `missingKeys`. Without `keys`: the ids present in every aligned role
 * (the PSI result), sorted by UTF-16 code units so the order is deterministic.
 */
export function alignRows(s: Scenario, params: ParamValues, rows: Record<string, Row[]>): Alignment | null {
  if (!s.align) return null;
  const index = new Map<string, Map<string, Row>>();
  for (const [role, col] of Object.entries(s.align.on)) index.set(role, indexRole(rows[role], role, col));
  if (s.align.keys !== undefined) {
    const keys = params[paramName(s.align.keys)] as string[];
    const keySet = new Set(keys);
    const missingKeys: Record<string, number> = {};
    for (const [role, idx] of index) missingKeys[role] = keys.filter((k) => !idx.has(k)).length;
    for (const idx of index.values()) for (const k of [...idx.keys()]) if (!keySet.has(k)) idx.delete(k);
    return { keys: [...keys], index, missingKeys };
  }
  const [first, ...rest] = [...index.values()];
  const keys = [...first.keys()].filter((k) => rest.every((idx) => idx.has(k))).sort();
  const keep = new Set(keys);
  for (const idx of index.values()) for (const k of [...idx.keys()]) if (!keep.has(k)) idx.delete(k);
  return { keys, index };
}
