/**
 * The plaintext reference evaluator of the scenario format (docs/scenario-format.md), written
 * without any HE code: the answer the encrypted path must reproduce (within the format's
 * accuracy table), and the dry run on mock data. Deliberately naive: one pass over the
 * rows per metric, every value kept, two-pass variance.
 *
 * Semantics decided here (and in `model.ts` for ref scoping):
 * - numbers are clamped to their column's [min, max] before anything else, `where`
 *   included; a histogram bins the clamped value (bins [e0,e1), ..., [e_{m-1}, e_m];
 *   values outside [e0, e_m] are not counted);
 * - a row whose `by` category value is not in the column's list belongs to no group;
 * - with `align`, every metric reads aligned rows only; a `where`/`by` ref into another
 *   role reads that role's row with the same key, and when that row is missing the row
 *   does not contribute (a missing key counts as 0);
 * - groups: all of them, in cross-product order of the category lists (first `by`
 *   outermost), keys `"a|b"`; an empty group's mean/variance/stddev is null (not listed
 *   as suppressed unless minGroupSize suppressed it);
 * - suppression (`minGroupSize`, from `opts` else `release`): a group whose contributing
 *   rows (rows passing `where`, summed over the metric's roles; for a sumProduct over two
 *   roles, the rows present at each key, both roles counted) are fewer is null and listed
 *   in `meta.suppressed`; an ungrouped metric is one group, listed as `"*"`;
 * - derived metrics: a ratio/difference group is null if either operand's is (listed as
 *   suppressed when an operand's group was suppressed), and null when dividing by 0;
 *   dot and correlation are null when any group of either operand is null (listed as
 *   `"*"` when one was suppressed); a correlation with zero variance is null;
 * - weightedSum: Σ wᵢ·xᵢ + bias per aligned key, a missing row's values counting as 0;
 *   row-level outputs are never suppressed;
 * - `release: false` metrics are computed (others may use them) but not output, and not
 *   listed in `meta.suppressed`. Noise is not applied here;
 * - `release.privacyUnit`: each role's rows are first cut to the unit's bounds, keeping each
 *   unit's first rows in input order (privacy-unit.ts, the provider's own cut), before any
 *   `where`; an aligned role is not cut (one row per key).
 */
import type { CombineMetric, Metric, MetricValue, ParamValues, Row, Scenario, WhereExpr } from '../types.js';
import {
  asList,
  byRefs,
  describeMetric,
  GROUP_SEPARATOR,
  isParamRef,
  paramName,
  parseRef,
  validateParams,
  whereOf,
  whereRefs,
  type MetricShape,
} from '../validate/index.js';
import { alignRows, normaliseRows, type Alignment } from './rows.js';
import { boundContributions, unitBounding } from '../privacy-unit.js';

export interface ReferenceOptions {
  /** Overrides `release.minGroupSize` (e.g. the strictest of the scenario and the datasets' policies). */
  minGroupSize?: number;
  /**
   * Also report `meta.groupRows`: per released metric and group, the contributing-row counts its suppression
   * depends on (accuracy.ts compares noisy suppression against them, `CompareOptions.selection`).
   */
  groupRows?: boolean;
}

export interface ReferenceMeta {
  /** Input rows per role (after the privacy unit's bounds, when the scenario has one). */
  rows: Record<string, number>;
  /** With `release.privacyUnit`: per bounded role, the rows its contribution bounds dropped. */
  boundedRows?: Record<string, number>;
  suppressed: Record<string, string[]>;
  /** With `align.keys`: per aligned role, the number of consumer keys it lacks. */
  missingKeys?: Record<string, number>;
  /** With `align`: the number of aligned keys. */
  alignedKeys?: number;
  /**
   * With `opts.groupRows`: per released metric and group key (`"*"` when ungrouped), the contributing rows of the
   * group (a derived metric: its operands' counts) that `minGroupSize` compares.
   */
  groupRows?: Record<string, Record<string, number[]>>;
}

export interface ReferenceResult {
  metrics: Record<string, MetricValue>;
  meta: ReferenceMeta;
}

/** Key of the single group of an ungrouped metric (also how it is listed when suppressed). */
export const UNGROUPED = '*';

type Cell = number | null | number[];

interface Evaluated {
  grouped: boolean;
  /** Group keys in order (`[UNGROUPED]` when ungrouped). */
  groups: string[];
  values: Map<string, Cell>;
  suppressed: Set<string>;
  /** contributing rows per group that its suppression depends on (a derived metric: its operands') */
  counts?: Map<string, number[]>;
  /** weightedSum: values keyed by aligned key. */
  rowLevel?: boolean;
}

/** A unit of evaluation: a row of one of the metric's roles, or (joined metrics) an aligned key. */
interface Unit {
  role?: string;
  row?: Row;
  key?: string;
}

interface Env {
  s: Scenario;
  params: ParamValues;
  rows: Record<string, Row[]>;
  alignment: Alignment | null;
  minGroupSize: number;
  done: Map<string, Evaluated>;
}

/** Own-property assignment, safe for any key (a category value could be "__proto__"). */
function setOwn<T>(o: Record<string, T>, k: string, v: T): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

export function evaluateReference(
  scenario: Scenario,
  params: ParamValues,
  rowsByRole: Record<string, Row[]>,
  opts: ReferenceOptions = {},
): ReferenceResult {
  const checked = validateParams(scenario, params);
  if (!checked.ok) {
    throw new RangeError(`evaluateReference: bad parameters: ${checked.errors.map((e) => `${e.path} ${e.code}`).join('; ')}`);
  }
  const minGroupSize = opts.minGroupSize ?? scenario.release?.minGroupSize ?? 0;
  if (!Number.isInteger(minGroupSize) || minGroupSize < 0)
    throw new RangeError('evaluateReference: minGroupSize must be a non-negative integer');
  const rows: Record<string, Row[]> = {};
  const meta: ReferenceMeta = { rows: {}, suppressed: {} };
  for (const role of Object.keys(scenario.inputs)) {
    if (!Object.hasOwn(rowsByRole, role)) throw new TypeError(`evaluateReference: no rows for role "${role}"`);
    rows[role] = normaliseRows(scenario, role, rowsByRole[role]);
    // the privacy unit's contribution bounds, exactly as the provider applies them (privacy-unit.ts)
    const unit = unitBounding(scenario, role);
    if (unit) {
      const b = boundContributions(rows[role], unit);
      rows[role] = b.kept;
      (meta.boundedRows ??= {})[role] = b.dropped;
    }
    meta.rows[role] = rows[role].length;
  }
  const alignment = alignRows(scenario, checked.values, rows);
  if (alignment) {
    meta.alignedKeys = alignment.keys.length;
    if (alignment.missingKeys) meta.missingKeys = alignment.missingKeys;
  }
  const env: Env = { s: scenario, params: checked.values, rows, alignment, minGroupSize, done: new Map() };
  const metrics: Record<string, MetricValue> = {};
  for (const m of scenario.metrics) {
    const ev = evaluate(env, m.name);
    if (m.release === false) continue;
    setOwn(metrics, m.name, output(ev));
    if (opts.groupRows) {
      const per: Record<string, number[]> = {};
      for (const [g, n] of ev.counts ?? []) setOwn(per, g, n);
      setOwn((meta.groupRows ??= {}), m.name, per);
    }
    if (ev.suppressed.size > 0)
      setOwn(
        meta.suppressed,
        m.name,
        ev.groups.filter((g) => ev.suppressed.has(g)),
      );
  }
  return { metrics, meta };
}

function output(ev: Evaluated): MetricValue {
  if (!ev.grouped && !ev.rowLevel) return ev.values.get(UNGROUPED) ?? null;
  const o: Record<string, number | null | number[]> = {};
  for (const g of ev.groups) setOwn(o, g, ev.values.get(g) ?? null);
  return o;
}

function evaluate(env: Env, name: string): Evaluated {
  const cached = env.done.get(name);
  if (cached) return cached;
  const shape = describeMetric(env.s, name);
  const m = shape.metric;
  let ev: Evaluated;
  if (m.agg === 'weightedSum') ev = weightedSum(env, m);
  else if (shape.kind === 'derived') ev = derived(env, m, shape);
  else ev = aggregate(env, m, shape);
  env.done.set(name, ev);
  return ev;
}

// ---------------------------------------------------------------- row-reading metrics

/** Units of a stacked metric (rows of each role) or a joined one (aligned keys). */
function unitsOf(env: Env, shape: MetricShape): Unit[] {
  const a = env.alignment;
  if (shape.kind === 'joined') return (a as Alignment).keys.map((key) => ({ key }));
  const units: Unit[] = [];
  for (const role of shape.roles) {
    if (a) {
      const idx = a.index.get(role) as Map<string, Row>;
      for (const key of a.keys) {
        const row = idx.get(key);
        if (row) units.push({ role, row, key });
      }
    } else for (const row of env.rows[role]) units.push({ role, row });
  }
  return units;
}

/** Value of `ref` for a unit; undefined when it lives in an aligned role lacking the key. */
function read(env: Env, shape: MetricShape, unit: Unit, ref: string): number | string | undefined {
  const { role, column } = parseRef(ref) as { role: string; column: string };
  if (shape.kind === 'stacked' && shape.roles.includes(role)) return (unit.row as Row)[column];
  const row = env.alignment?.index.get(role)?.get(unit.key as string);
  return row ? row[column] : undefined;
}

function literal(env: Env, v: unknown): unknown {
  return isParamRef(v) ? env.params[paramName(v)] : v;
}

function test(env: Env, e: WhereExpr, get: (ref: string) => number | string): boolean {
  if ('and' in e) return e.and.every((x) => test(env, x, get));
  if ('or' in e) return e.or.some((x) => test(env, x, get));
  if ('not' in e) return !test(env, e.not, get);
  if ('in' in e) {
    const list = literal(env, e.in[1]) as (number | string)[];
    return list.includes(get(e.in[0]));
  }
  const [op, [ref, lit]] = Object.entries(e)[0] as [string, [string, unknown]];
  const x = get(ref);
  const y = literal(env, lit) as number | string;
  switch (op) {
    case 'eq':
      return x === y;
    case 'ne':
      return x !== y;
    case 'gt':
      return x > y;
    case 'ge':
      return x >= y;
    case 'lt':
      return x < y;
    case 'le':
      return x <= y;
    default:
      throw new RangeError(`evaluateReference: unknown operator ${op}`);
  }
}

interface Acc {
  /** Contributing rows (for suppression). */
  n: number;
  /** Values of sum/mean/variance/stddev/histogram/sumProduct (one per unit). */
  xs: number[];
}

function aggregate(env: Env, m: Metric, shape: MetricShape): Evaluated {
  const grouped = shape.dims.length > 0;
  const groups = grouped ? shape.groups : [UNGROUPED];
  const acc = new Map<string, Acc>(groups.map((g) => [g, { n: 0, xs: [] }]));
  const where = whereOf(m);
  const refs = [...(where ? whereRefs(where) : []), ...byRefs(m)];
  const ofRefs = m.agg === 'count' ? [] : asList<string>(m.of as string | string[]);
  for (const unit of unitsOf(env, shape)) {
    const got = new Map<string, number | string>();
    let complete = true;
    for (const ref of refs) {
      const v = read(env, shape, unit, ref);
      if (v === undefined) complete = false;
      else got.set(ref, v);
    }
    if (!complete) continue; // a where/by row missing at this key: counts as 0
    if (where && !test(env, where, (ref) => got.get(ref) as number | string)) continue;
    let key = UNGROUPED;
    if (grouped) {
      const parts = shape.dims.map((d) => got.get(d.ref) as string);
      if (parts.some((p, i) => !shape.dims[i].values.includes(p))) continue;
      key = parts.join(GROUP_SEPARATOR);
    }
    const a = acc.get(key) as Acc;
    if (m.agg === 'count') {
      a.n += 1;
    } else if (shape.kind === 'joined') {
      // sumProduct over two aligned roles: a missing row's value counts as 0.
      const [x, y] = ofRefs.map((ref) => read(env, shape, unit, ref));
      a.n += (x === undefined ? 0 : 1) + (y === undefined ? 0 : 1);
      a.xs.push(((x as number | undefined) ?? 0) * ((y as number | undefined) ?? 0));
    } else if (m.agg === 'sumProduct') {
      const [x, y] = ofRefs.map((ref) => read(env, shape, unit, ref) as number);
      a.n += 1;
      a.xs.push(x * y);
    } else {
      const ref = ofRefs.find((r) => parseRef(r)?.role === unit.role) as string;
      a.n += 1;
      a.xs.push(read(env, shape, unit, ref) as number);
    }
  }
  const values = new Map<string, Cell>();
  const suppressed = new Set<string>();
  const counts = new Map<string, number[]>();
  for (const g of groups) {
    const a = acc.get(g) as Acc;
    counts.set(g, [a.n]);
    if (a.n < env.minGroupSize) {
      values.set(g, null);
      suppressed.add(g);
    } else values.set(g, statistic(m, a));
  }
  return { grouped, groups, values, suppressed, counts };
}

function sum(xs: number[]): number {
  let t = 0;
  for (const x of xs) t += x;
  return t;
}

function statistic(m: Metric, a: Acc): Cell {
  const { n, xs } = a;
  switch (m.agg) {
    case 'count':
      return n;
    case 'sum':
    case 'sumProduct':
      return sum(xs);
    case 'mean':
      return xs.length === 0 ? null : sum(xs) / xs.length;
    case 'variance':
    case 'stddev': {
      if (xs.length === 0) return null;
      const mean = sum(xs) / xs.length;
      const v = sum(xs.map((x) => (x - mean) ** 2)) / xs.length; // population variance
      return m.agg === 'variance' ? v : Math.sqrt(v);
    }
    case 'histogram': {
      const e = m.bins;
      const counts = new Array<number>(e.length - 1).fill(0);
      for (const x of xs) {
        for (let i = 0; i < counts.length; i++) {
          const last = i === counts.length - 1;
          if (x >= e[i] && (x < e[i + 1] || (last && x === e[i + 1]))) {
            counts[i] += 1;
            break;
          }
        }
      }
      return counts;
    }
    default:
      throw new RangeError(`evaluateReference: ${m.agg} is not a row aggregate`);
  }
}

function weightedSum(env: Env, m: Extract<Metric, { agg: 'weightedSum' }>): Evaluated {
  const a = env.alignment as Alignment;
  const weights = (typeof m.weights === 'string' ? env.params[paramName(m.weights)] : m.weights) as number[];
  const bias = m.bias === undefined ? 0 : ((typeof m.bias === 'string' ? env.params[paramName(m.bias)] : m.bias) as number);
  const values = new Map<string, Cell>();
  for (const key of a.keys) {
    let score = bias;
    m.of.forEach((ref, i) => {
      const { role, column } = parseRef(ref) as { role: string; column: string };
      const row = a.index.get(role)?.get(key);
      score += weights[i] * (row ? (row[column] as number) : 0);
    });
    values.set(key, score);
  }
  return { grouped: false, rowLevel: true, groups: [...a.keys], values, suppressed: new Set() };
}

// ---------------------------------------------------------------- derived metrics

function derived(env: Env, m: Metric, shape: MetricShape): Evaluated {
  const [nameA, second] = (m as CombineMetric).of;
  const A = evaluate(env, nameA);
  const paramList = isParamRef(second) ? (env.params[paramName(second)] as number[]) : null;
  const B = paramList ? null : evaluate(env, second);
  const bAt = (g: string, i: number): Cell => (paramList ? paramList[i] : ((B as Evaluated).values.get(g) ?? null));
  const opSuppressed = (g: string) => A.suppressed.has(g) || (B?.suppressed.has(g) ?? false);
  const opCounts = (g: string): number[] => [...(A.counts?.get(g) ?? []), ...(B?.counts?.get(g) ?? [])];
  const values = new Map<string, Cell>();
  const suppressed = new Set<string>();
  const counts = new Map<string, number[]>();

  if (m.agg === 'ratio' || m.agg === 'difference') {
    const grouped = shape.dims.length > 0;
    A.groups.forEach((g, i) => {
      const a = A.values.get(g) as number | null;
      const b = bAt(g, i) as number | null;
      if (a === null || b === null) {
        values.set(g, null);
        if (opSuppressed(g)) suppressed.add(g);
      } else if (m.agg === 'ratio') values.set(g, b === 0 ? null : a / b);
      else values.set(g, a - b);
      counts.set(g, opCounts(g));
    });
    return { grouped, groups: A.groups, values, suppressed, counts };
  }

  // dot and correlation: over all groups of both operands, in group order.
  const as: number[] = [];
  const bs: number[] = [];
  let anyNull = false;
  A.groups.forEach((g, i) => {
    const a = A.values.get(g) as number | null;
    const b = bAt(g, i) as number | null;
    if (a === null || b === null) anyNull = true;
    else {
      as.push(a);
      bs.push(b);
    }
    if (opSuppressed(g)) suppressed.add(UNGROUPED);
    counts.set(UNGROUPED, [...(counts.get(UNGROUPED) ?? []), ...opCounts(g)]);
  });
  let result: number | null = null;
  if (!anyNull) result = m.agg === 'dot' ? sum(as.map((a, i) => a * bs[i])) : pearson(as, bs);
  values.set(UNGROUPED, result);
  return { grouped: false, groups: [UNGROUPED], values, suppressed, counts };
}

/** Pearson's r of paired series; null with fewer than two pairs or a constant series. */
export function pearson(xs: number[], ys: number[]): number | null {
  const n = xs.length;
  if (n < 2) return null;
  const mx = sum(xs) / n;
  const my = sum(ys) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
    syy += (ys[i] - my) ** 2;
  }
  return sxx === 0 || syy === 0 ? null : sxy / Math.sqrt(sxx * syy);
}
