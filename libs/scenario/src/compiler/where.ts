/**
 * `where` expressions (docs/scenario-format.md, "Metrics"): role analysis for the compiler and the
 * provider-side evaluation over one plaintext row.
 */
import type { Literal, Row, WhereExpr } from '../types.js';

export function splitRef(ref: string): { role: string; column: string } {
  const dot = ref.indexOf('.');
  if (dot <= 0 || dot === ref.length - 1) throw new Error(`reference must be "role.column", got ${JSON.stringify(ref)}`);
  return { role: ref.slice(0, dot), column: ref.slice(dot + 1) };
}

type Leaf = { op: 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le'; ref: string; lit: Literal } | { op: 'in'; ref: string; lits: Literal[] };

function leaf(e: WhereExpr): Leaf | null {
  for (const op of ['eq', 'ne', 'gt', 'ge', 'lt', 'le'] as const) {
    if (op in e) {
      const [ref, lit] = (e as Record<typeof op, [string, Literal]>)[op];
      return { op, ref, lit };
    }
  }
  if ('in' in e) return { op: 'in', ref: e.in[0], lits: e.in[1] };
  return null;
}

/** Every ref named in the expression. */
export function whereRefs(e: WhereExpr): string[] {
  const l = leaf(e);
  if (l) return [l.ref];
  if ('and' in e) return e.and.flatMap(whereRefs);
  if ('or' in e) return e.or.flatMap(whereRefs);
  if ('not' in e) return whereRefs(e.not);
  throw new Error('unknown where operator');
}

export function whereRoles(e: WhereExpr): string[] {
  return [...new Set(whereRefs(e).map((r) => splitRef(r).role))];
}

/**
 * Splits a where into per-role parts whose conjunction is the whole: a top-level `and` is split
 * term by term; any other term must name a single role (an `or` across roles is not a product of
 * per-role indicators, so it cannot be computed by each provider alone). Returns null if impossible.
 */
export function splitByRole(e: WhereExpr): Map<string, WhereExpr> | null {
  const terms = 'and' in e ? e.and.flatMap((t) => ('and' in t ? t.and : [t])) : [e];
  const parts = new Map<string, WhereExpr[]>();
  for (const t of terms) {
    const roles = whereRoles(t);
    if (roles.length !== 1) return null;
    const list = parts.get(roles[0]) ?? [];
    list.push(t);
    parts.set(roles[0], list);
  }
  const out = new Map<string, WhereExpr>();
  for (const [role, list] of parts) out.set(role, list.length === 1 ? list[0] : { and: list });
  return out;
}

/** Rewrites every ref `from.col` to `to.col` (a metric over a list of roles, written with one role's refs). */
export function renameRole(e: WhereExpr, from: string, to: string): WhereExpr {
  const re = (ref: string): string => {
    const { role, column } = splitRef(ref);
    return role === from ? `${to}.${column}` : ref;
  };
  const l = leaf(e);
  if (l) {
    if (l.op === 'in') return { in: [re(l.ref), l.lits] };
    return { [l.op]: [re(l.ref), l.lit] } as WhereExpr;
  }
  if ('and' in e) return { and: e.and.map((t) => renameRole(t, from, to)) };
  if ('or' in e) return { or: e.or.map((t) => renameRole(t, from, to)) };
  if ('not' in e) return { not: renameRole(e.not, from, to) };
  throw new Error('unknown where operator');
}

function compare(v: number | string, lit: Literal): number {
  if (typeof v === 'number' && typeof lit === 'number') return v < lit ? -1 : v > lit ? 1 : 0;
  const a = String(v);
  const b = String(lit);
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Evaluates a where expression on a row of one role (`row` holds that role's columns, numbers
 * already clamped to their bounds). Refs of other roles must not occur (the compiler split them).
 */
export function evalWhere(e: WhereExpr, row: Row): boolean {
  const l = leaf(e);
  if (l) {
    const v = row[splitRef(l.ref).column];
    if (v === undefined) throw new Error(`where names column ${JSON.stringify(l.ref)} that the row lacks`);
    switch (l.op) {
      case 'eq':
        return compare(v, l.lit) === 0;
      case 'ne':
        return compare(v, l.lit) !== 0;
      case 'gt':
        return compare(v, l.lit) > 0;
      case 'ge':
        return compare(v, l.lit) >= 0;
      case 'lt':
        return compare(v, l.lit) < 0;
      case 'le':
        return compare(v, l.lit) <= 0;
      case 'in':
        return l.lits.some((x) => compare(v, x) === 0);
    }
  }
  if ('and' in e) return e.and.every((t) => evalWhere(t, row));
  if ('or' in e) return e.or.some((t) => evalWhere(t, row));
  if ('not' in e) return !evalWhere(e.not, row);
  throw new Error('unknown where operator');
}

/**
 * Replaces `$params.x` literals (public `number`/`category` parameters, or an `in` list given
 * as a parameter) by their values, so providers filter with plain literals.
 */
export function bindWhereParams(e: WhereExpr, params: Record<string, unknown>): WhereExpr {
  const value = (lit: unknown): unknown => {
    if (typeof lit !== 'string' || !lit.startsWith('$params.')) return lit;
    const name = lit.slice('$params.'.length);
    if (!Object.hasOwn(params, name)) throw new Error(`where uses parameter ${lit}, which has no value`);
    return params[name];
  };
  const lit = (v: unknown): Literal => {
    const x = value(v);
    if (typeof x !== 'number' && typeof x !== 'string') throw new Error('a where literal must be a number or a string');
    return x;
  };
  const l = leaf(e);
  if (l) {
    if (l.op === 'in') {
      const list = value(l.lits);
      if (!Array.isArray(list)) throw new Error('an in list must be a list');
      return { in: [l.ref, list.map(lit)] };
    }
    return { [l.op]: [l.ref, lit(l.lit)] } as WhereExpr;
  }
  if ('and' in e) return { and: e.and.map((t) => bindWhereParams(t, params)) };
  if ('or' in e) return { or: e.or.map((t) => bindWhereParams(t, params)) };
  if ('not' in e) return { not: bindWhereParams(e.not, params) };
  throw new Error('unknown where operator');
}
