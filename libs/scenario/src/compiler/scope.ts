/**
 * What one compilation reads (compiler/README.md): the validated scenario, the public parameter values, the
 * public row counts and the slot count, with the look-ups every layout shares (column references, a metric's
 * grouping, row bounds, the Laplace epsilon a metric's release gets) and the refusal every step throws
 * (`CompileError`: a path, a code and a message, returned by `compilePlan` as a `PlanError`).
 */
import type { CategoryColumn, ColumnSpec, Metric, NumberColumn, ParamValues, Ref, Scenario } from '../types.js';
import type { CompileContext, Condition } from './plan-types.js';
import type { UnitContribution } from './selection.js';
import { groupKeys } from './layout.js';
import { unitBounding, unitRowBound } from '../privacy-unit.js';
import { splitRef } from './where.js';

/** Row count assumed for a role when the context gives none (sizes the scaling before products). */
export const DEFAULT_ROW_BOUND = 1 << 20;

export class CompileError extends Error {
  constructor(
    readonly path: string,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const isParam = (v: unknown): v is string => typeof v === 'string' && v.startsWith('$params.');
export const paramName = (v: string): string => v.slice('$params.'.length);

/** The aggregations over rows (BLOCKED/TOTALS or ALIGNED layout); the others combine metrics or are row-level. */
export type RowMetric = Extract<Metric, { agg: 'count' | 'sum' | 'mean' | 'variance' | 'stddev' | 'histogram' | 'sumProduct' }>;

/** A metric's global grouping: its `by` columns (each in one role), the group keys (null: ungrouped) and their count G. */
export interface Grouping {
  refs: { role: string; column: string; values: string[] }[];
  keys: string[] | null;
  G: number;
}

/**
 * The consumer's aligned keys (`align.keys`, a public id-list parameter), after checking that every `align.on`
 * names an id column; null without `align.keys` (the PSI intersection then orders the keys).
 */
export function alignKeysOf(s: Scenario, params: ParamValues): string[] | null {
  if (!s.align) return null;
  for (const [role, col] of Object.entries(s.align.on)) {
    const spec = s.inputs[role]?.columns[col];
    if (!spec || spec.type !== 'id')
      throw new CompileError(`/align/on/${role}`, 'align-column', `align.on.${role} must name an id column of role ${role}`);
  }
  if (s.align.keys === undefined) return null;
  const v = params[paramName(s.align.keys)];
  if (!Array.isArray(v) || !v.every((k) => typeof k === 'string')) {
    throw new CompileError('/align/keys', 'param-missing', `align.keys needs the id-list parameter ${s.align.keys}`);
  }
  if (new Set(v).size !== v.length) throw new CompileError('/align/keys', 'duplicate-keys', 'align.keys lists a key twice');
  return v as string[];
}

/**
 * Under `release.noise`: the metrics whose values the consumer reads, each noised and charged: the released
 * ones, and the operands of a noised ratio (a ratio is post-processing of its two noisy operands).
 */
function noisedMetrics(s: Scenario): Set<string> {
  const noised = new Set<string>();
  if (!s.release?.noise) return noised;
  const byName = new Map(s.metrics.map((m) => [m.name, m]));
  const todo = s.metrics.filter((m) => m.release !== false).map((m) => m.name);
  while (todo.length) {
    const name = todo.pop() as string;
    if (noised.has(name)) continue;
    noised.add(name);
    const m = byName.get(name);
    if (m?.agg === 'ratio') todo.push(...m.of.filter((o) => byName.has(o)));
  }
  return noised;
}

export class Scope {
  /** metrics a correlation squares (their gain is sized so the squares fit, see totals.ts) */
  readonly squared = new Set<string>();
  /** see `noisedMetrics` */
  readonly noised: Set<string>;

  constructor(
    readonly s: Scenario,
    readonly params: ParamValues,
    readonly ctx: CompileContext,
    readonly slots: number,
    readonly alignKeys: string[] | null,
  ) {
    for (const m of s.metrics) if (m.agg === 'correlation') for (const o of m.of) this.squared.add(o);
    this.noised = noisedMetrics(s);
  }

  metricDoc(name: string, path: string): Metric {
    const m = this.s.metrics.find((x) => x.name === name);
    if (!m) throw new CompileError(path, 'unknown-metric', `no metric named ${JSON.stringify(name)}`);
    return m;
  }

  column(ref: Ref, path: string): { role: string; column: string; spec: ColumnSpec } {
    let parts: { role: string; column: string };
    try {
      parts = splitRef(ref);
    } catch {
      throw new CompileError(path, 'bad-ref', `${JSON.stringify(ref)} is not a role.column reference`);
    }
    const spec = this.s.inputs[parts.role]?.columns[parts.column];
    if (!spec) throw new CompileError(path, 'unknown-ref', `${ref} names no declared column`);
    return { ...parts, spec };
  }

  /** A number column and its bound B = max(|min|, |max|) (1 for [0, 0]): a row's |value| <= B. */
  numeric(ref: Ref, path: string): { role: string; column: string; spec: NumberColumn; bound: number } {
    const c = this.column(ref, path);
    if (c.spec.type !== 'number' && c.spec.type !== 'integer') throw new CompileError(path, 'not-numeric', `${ref} is not a number column`);
    const bound = Math.max(Math.abs(c.spec.min), Math.abs(c.spec.max)) || 1;
    return { ...c, spec: c.spec, bound };
  }

  category(ref: Ref, path: string): { role: string; column: string; spec: CategoryColumn } {
    const c = this.column(ref, path);
    if (c.spec.type !== 'category') throw new CompileError(path, 'not-category', `by ${ref} is not a category column`);
    return { ...c, spec: c.spec };
  }

  /** The rows of a role the gains are sized for: the public row count, else `DEFAULT_ROW_BOUND`. */
  rows(role: string): number {
    const n = this.ctx.rowCounts?.[role];
    return n !== undefined && n > 0 ? n : DEFAULT_ROW_BOUND;
  }

  /** Upper bound on the aligned rows a product over `roles` sums: the key count, and each role's rows. */
  alignedCount(roles: string[]): number {
    const keys = this.alignKeys?.length ?? this.ctx.alignedKeyCount ?? Infinity;
    return Math.max(1, Math.min(keys, ...roles.map((r) => this.rows(r))));
  }

  isAligned(role: string): boolean {
    return this.s.align?.on[role] !== undefined;
  }

  /** Global grouping of a metric from its `by` refs. */
  grouping(by: Ref | Ref[] | undefined, path: string): Grouping {
    const refs = by === undefined ? [] : Array.isArray(by) ? by : [by];
    const cols = refs.map((r, i) => {
      const c = this.category(r, `${path}/by${Array.isArray(by) ? `/${i}` : ''}`);
      return { role: c.role, column: c.column, values: c.spec.values };
    });
    const G = cols.reduce((n, c) => n * c.values.length, 1);
    if (G > this.slots) throw new CompileError(`${path}/by`, 'slot-capacity', `${G} groups exceed the ${this.slots} slots of a ciphertext`);
    return { refs: cols, keys: cols.length ? groupKeys({ columns: cols }) : null, G };
  }

  /**
   * The Laplace epsilon of one release of metric `m` (null: not noised). The charge is made when the metric's
   * decoding is built (metrics.ts), once per release. A ratio adds no noise of its own: its operands are noised
   * and charged, and the consumer divides them (post-processing keeps ε-DP, Dwork & Roth 2014, Prop. 2.1).
   */
  noiseEpsilon(m: Metric, path: string): number | null {
    const noise = this.s.release?.noise;
    if (!noise || !this.noised.has(m.name)) return null;
    if (!(noise.epsilon > 0)) throw new CompileError('/release/noise/epsilon', 'bad-epsilon', 'noise epsilon must be > 0');
    if (['weightedSum', 'dot', 'correlation'].includes(m.agg)) {
      throw new CompileError(
        path,
        'noise-unsupported',
        `Laplace noise is not defined for agg ${m.agg} (its sensitivity is unbounded by the column bounds)`,
      );
    }
    if (m.agg === 'ratio') return null;
    return noise.epsilon;
  }

  /** How one privacy unit moves a stacked condition's counts (selection.ts `UnitContribution`); none without a unit. */
  unitOf(c: Condition): UnitContribution | undefined {
    const unit = this.s.release?.privacyUnit;
    if (!unit || c.combine !== 'sum') return undefined;
    const roles = [...new Set(c.parts.map((p) => p.role))];
    return {
      l1: roles.reduce((n, r) => n + unitRowBound(this.s, r), 0),
      linf: roles.reduce((n, r) => n + (unitBounding(this.s, r) ? unit.maxRowsPerGroup : 1), 0),
    };
  }
}
