/**
 * State and small checks shared by the scenario validator's passes. Everything here reads
 * untrusted input: no check assumes a type it has not tested.
 */
import type { Agg, ColumnSpec, NumberColumn, ParamSpec } from '../types.js';
import { isObject, IssueList, show, type PathSegment } from './issues.js';
import { isName, isParamRef, paramName, parseRef } from './names.js';

export type Path = readonly PathSegment[];

/** A role's columns: `null` for a column whose spec was malformed (already reported). */
export type ColumnTable = Map<string, ColumnSpec | null>;

export interface MetricEntry {
  index: number;
  raw: Record<string, unknown>;
  agg: Agg | null;
}

export interface Ctx {
  issues: IssueList;
  /** Declared roles; `null` for a role whose declaration was malformed (refs into it are not re-reported). */
  roles: Map<string, ColumnTable | null>;
  /** Declared params; `null` for a malformed one. */
  params: Map<string, ParamSpec | null>;
  /** `align.on` entries naming declared roles, or null without `align`. */
  align: Map<string, string> | null;
  rowLevel: boolean;
  metrics: Map<string, MetricEntry>;
  /** Grouping of each metric as its category lists in `by` order (`[]` ungrouped, null unknown). */
  signatures: Map<string, string[][] | null>;
}

export const AGGS: readonly Agg[] = [
  'count',
  'sum',
  'mean',
  'variance',
  'stddev',
  'histogram',
  'sumProduct',
  'weightedSum',
  'correlation',
  'dot',
  'ratio',
  'difference',
];

export function has(obj: Record<string, unknown>, key: string): boolean {
  return Object.hasOwn(obj, key);
}

/** Levenshtein distance, capped: used only to suggest a fix for a typo. */
function distance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}

/** `; did you mean "x"?` when one candidate is within two edits, else ''. */
export function suggest(word: string, candidates: Iterable<string>): string {
  if (word.length > 64) return '';
  let best: string | undefined;
  let bestD = 3;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best === undefined ? '' : `; did you mean ${JSON.stringify(best)}?`;
}

/** Reports every own key of `obj` outside `allowed` (typos are refused, never ignored). */
export function checkFields(ctx: Ctx, obj: Record<string, unknown>, allowed: readonly string[], path: Path, what: string): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) {
      ctx.issues.add([...path, k], 'unknown_field', `${what} has no field ${show(k)}${suggest(k, allowed)}`);
    }
  }
}

/** Optional free text of at most `max` characters. */
export function checkText(ctx: Ctx, obj: Record<string, unknown>, key: string, path: Path, max: number, required = false): void {
  if (!has(obj, key)) {
    if (required) ctx.issues.add(path, 'required', `${key} is required`);
    return;
  }
  const v = obj[key];
  const p = [...path, key];
  if (typeof v !== 'string') ctx.issues.add(p, 'type', `${key} must be a string, not ${show(v)}`);
  else if (required && v.trim() === '') ctx.issues.add(p, 'empty', `${key} must not be empty`);
  else if (v.length > max) ctx.issues.add(p, 'too_long', `${key} is longer than ${max} characters`);
}

export function checkBoolean(ctx: Ctx, obj: Record<string, unknown>, key: string, path: Path): void {
  if (has(obj, key) && typeof obj[key] !== 'boolean') {
    ctx.issues.add([...path, key], 'type', `${key} must be true or false, not ${show(obj[key])}`);
  }
}

/** A checked name (role, column, param, metric); reports and returns false otherwise. */
export function checkName(ctx: Ctx, name: string, path: Path, what: string): boolean {
  if (isName(name)) return true;
  ctx.issues.add(
    path,
    'bad_name',
    `${what} name ${show(name)} must be an identifier of at most 64 characters (letters, digits, _ and -, not starting with a digit or -; no dots)`,
  );
  return false;
}

export interface ResolvedRef {
  ref: string;
  role: string;
  column: string;
  /** null when the column is declared but its spec is malformed (already reported). */
  spec: ColumnSpec | null;
}

/** Resolves a `role.column` ref, reporting a bad form or a missing role/column. */
export function resolveRef(ctx: Ctx, v: unknown, path: Path): ResolvedRef | undefined {
  if (typeof v !== 'string') {
    ctx.issues.add(path, 'type', `expected a "role.column" reference, not ${show(v)}`);
    return undefined;
  }
  const p = parseRef(v);
  if (!p) {
    ctx.issues.add(path, 'bad_ref', `${show(v)} is not a "role.column" reference`);
    return undefined;
  }
  if (!ctx.roles.has(p.role)) {
    ctx.issues.add(
      path,
      'unknown_role',
      `${show(v)} names role ${show(p.role)}, which is not in inputs${suggest(p.role, ctx.roles.keys())}`,
    );
    return undefined;
  }
  const table = ctx.roles.get(p.role);
  if (table === null || table === undefined) return undefined; // malformed role: reported at its declaration
  if (!table.has(p.column)) {
    ctx.issues.add(
      path,
      'unknown_column',
      `${show(v)}: role ${show(p.role)} has no column ${show(p.column)}${suggest(p.column, table.keys())}`,
    );
    return undefined;
  }
  return { ref: v, role: p.role, column: p.column, spec: table.get(p.column) ?? null };
}

export interface ResolvedParam {
  name: string;
  spec: ParamSpec | null;
}

/** Resolves `$params.name`, reporting an undeclared parameter. */
export function resolveParam(ctx: Ctx, v: string, path: Path): ResolvedParam | undefined {
  const name = paramName(v);
  if (!ctx.params.has(name)) {
    ctx.issues.add(
      path,
      'unknown_param',
      `${show(v)}: no parameter ${show(name)} is declared in params${suggest(name, ctx.params.keys())}`,
    );
    return undefined;
  }
  return { name, spec: ctx.params.get(name) ?? null };
}

export function isNumeric(spec: ColumnSpec): spec is NumberColumn {
  return spec.type === 'number' || spec.type === 'integer';
}

export { isObject, isParamRef };
