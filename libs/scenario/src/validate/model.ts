/**
 * Shared reading of a *validated* scenario: which roles a metric reads, how it is grouped,
 * the group keys in order. Used by the plaintext reference and available to the plan
 * compiler so both agree on group order (docs/scenario-format.md, "Result").
 */
import type { CategoryColumn, ColumnSpec, Metric, Ref, Scenario, WhereExpr } from '../types.js';
import { GROUP_SEPARATOR, parseRef } from './names.js';

/**
 * - `stacked`: count/sum/mean/variance/stddev/histogram, and sumProduct within one role:
 *   the rows of every listed role together; a where/by ref into a listed role reads each
 *   row's own same-named column, a ref into another (aligned) role reads that role's row
 *   with the same aligned key.
 * - `joined`: sumProduct over two roles: one unit per aligned key, every ref reads the
 *   named role's row with that key.
 * - `rowLevel`: weightedSum: one output per aligned key.
 * - `derived`: correlation/dot/ratio/difference over other metrics.
 */
export type MetricKind = 'stacked' | 'joined' | 'rowLevel' | 'derived';

export interface GroupDim {
  ref: Ref;
  role: string;
  column: string;
  values: readonly string[];
}

export interface MetricShape {
  metric: Metric;
  kind: MetricKind;
  /** Roles whose rows the metric reads directly (empty for derived metrics). */
  roles: string[];
  /** Grouping dimensions in `by` order (for ratio/difference: the operands'; dot/correlation: none). */
  dims: GroupDim[];
  /** Group keys in result order (`"a|b"`, first dimension outermost); empty when ungrouped. */
  groups: string[];
}

export function asList<T>(v: T | T[] | undefined): T[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/** Roles a non-derived metric reads, in document order, without repeats. */
export function metricRoles(m: Metric): string[] {
  let roles: string[];
  switch (m.agg) {
    case 'count':
      roles = asList(m.role);
      break;
    case 'correlation':
    case 'dot':
    case 'ratio':
    case 'difference':
      return [];
    default:
      roles = asList<string>(m.of).map((r) => parseRef(r)?.role ?? '');
  }
  return [...new Set(roles)];
}

export function metricKind(m: Metric): MetricKind {
  switch (m.agg) {
    case 'correlation':
    case 'dot':
    case 'ratio':
    case 'difference':
      return 'derived';
    case 'weightedSum':
      return 'rowLevel';
    case 'sumProduct':
      return metricRoles(m).length > 1 ? 'joined' : 'stacked';
    default:
      return 'stacked';
  }
}

export function byRefs(m: Metric): Ref[] {
  return 'by' in m ? asList(m.by) : [];
}

export function whereOf(m: Metric): WhereExpr | undefined {
  return 'where' in m ? m.where : undefined;
}

/** Every `role.column` a where expression reads, in order of appearance. */
export function whereRefs(e: WhereExpr): Ref[] {
  if ('and' in e) return e.and.flatMap(whereRefs);
  if ('or' in e) return e.or.flatMap(whereRefs);
  if ('not' in e) return whereRefs(e.not);
  const pair = Object.values(e)[0] as [Ref, unknown];
  return [pair[0]];
}

/** Cartesian product of category lists, first list outermost; `[]` dims → no groups. */
export function groupKeys(dims: readonly (readonly string[])[]): string[] {
  if (dims.length === 0) return [];
  let keys: string[] = [''];
  dims.forEach((values, i) => {
    const next: string[] = [];
    for (const k of keys) for (const v of values) next.push(i === 0 ? v : k + GROUP_SEPARATOR + v);
    keys = next;
  });
  return keys;
}

export function columnOf(s: Scenario, ref: Ref): ColumnSpec | undefined {
  const p = parseRef(ref);
  if (!p) return undefined;
  const role = Object.hasOwn(s.inputs, p.role) ? s.inputs[p.role] : undefined;
  return role && Object.hasOwn(role.columns, p.column) ? role.columns[p.column] : undefined;
}

export function findMetric(s: Scenario, name: string): Metric | undefined {
  return s.metrics.find((m) => m.name === name);
}

/** Shape of metric `name` of a validated scenario (throws RangeError for an unknown name). */
export function describeMetric(s: Scenario, name: string, seen: ReadonlySet<string> = new Set()): MetricShape {
  const m = findMetric(s, name);
  if (!m) throw new RangeError(`describeMetric: no metric named ${JSON.stringify(name)}`);
  if (seen.has(name)) throw new RangeError(`describeMetric: metric ${JSON.stringify(name)} refers to itself`);
  const kind = metricKind(m);
  let dims: GroupDim[];
  if (kind === 'derived') {
    dims =
      m.agg === 'ratio' || m.agg === 'difference' ? describeMetric(s, (m.of as [string, string])[0], new Set([...seen, name])).dims : [];
  } else {
    dims = byRefs(m).map((ref) => {
      const p = parseRef(ref);
      const col = columnOf(s, ref);
      if (!p || !col || col.type !== 'category') throw new RangeError(`describeMetric: bad by ref ${JSON.stringify(ref)}`);
      return { ref, role: p.role, column: p.column, values: (col as CategoryColumn).values };
    });
  }
  return { metric: m, kind, roles: metricRoles(m), dims, groups: groupKeys(dims.map((d) => d.values)) };
}
