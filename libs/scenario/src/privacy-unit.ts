/**
 * Contribution bounding for a scenario's privacy unit (`release.privacyUnit`, docs/scenario-format.md,
 * "Privacy unit"), shared by the provider's encoding (compiler/encode.ts), the plan compiler's Laplace
 * sensitivities (compiler/totals.ts) and the plaintext reference (reference/evaluate.ts), so the three agree
 * row for row.
 *
 * Construction: Wilson, Zhang, Lam, Desfontaines, Simmons-Marengo, Gipson, "Differentially Private SQL with
 * Bounded User Contribution" (PoPETs 2020): before aggregating, each user's rows are cut to at most a fixed
 * number of partitions (groups) and a fixed number of rows per partition, the `max_partitions_contributed` (L0)
 * and `max_contributions_per_partition` (L∞) of Google's differential-privacy library. A unit then changes at
 * most L0 = maxGroups groups by at most L∞ = maxRowsPerGroup rows each: the vector of group counts has L1
 * sensitivity L0·L∞ (a sum of values bounded by B: L0·L∞·B). Laplace noise is calibrated to L1, so every group
 * gets scale L0·L∞·B/ε; L∞·B/ε per group would be ε-DP only if a unit reached a single group (parallel
 * composition over disjoint groups holds for rows, not for units that span groups).
 *
 * Here the partitions of a role are the cells of the category columns its stacked metrics group by (all of
 * them at once, so one cut serves every metric of the scenario; a value outside a column's list is a cell of
 * its own), and a unit's rows are cut per role, before any `where`. Which rows are kept: the first ones in the
 * provider's input order (the first `maxGroups` distinct cells a unit's rows reach, and in each the first
 * `maxRowsPerGroup` rows). Wilson et al. sample uniformly instead; any choice that depends on a unit's own rows
 * only is 1-stable (adding or removing a unit changes no other unit's kept rows), which is all the
 * sensitivity argument needs, and the input order makes the reference reproduce the provider exactly.
 *
 * An aligned role is not cut: its rows are already one per aligned key, and validation requires its unit to
 * be its `align.on` column, so a unit contributes one row to it.
 */
import type { Row, Scenario } from './types.js';
import { byRefs, metricKind, metricRoles } from './validate/model.js';
import { parseRef } from './validate/names.js';

/** What a provider applies to a role's rows (`ProviderWork.unit` in the plan). */
export interface UnitBounding {
  /** the role's id column holding the unit */
  column: string;
  maxGroups: number;
  maxRowsPerGroup: number;
  /** the partition: the category columns (with their lists) the role's stacked metrics group by, sorted by name */
  groupBy: { column: string; values: string[] }[];
}

/** The bounding of a role's rows, or null (no privacy unit, or an aligned role, which is one row per unit already). */
export function unitBounding(s: Scenario, role: string): UnitBounding | null {
  const unit = s.release?.privacyUnit;
  if (!unit || !Object.hasOwn(unit.on, role) || s.align?.on[role] !== undefined) return null;
  const columns = new Map<string, string[]>();
  for (const m of s.metrics) {
    const kind = metricKind(m);
    if (kind !== 'stacked') continue;
    const roles = metricRoles(m);
    if (!roles.includes(role)) continue;
    // a multi-role metric is written with one role's refs; each listed role groups by its own same-named column
    for (const ref of byRefs(m)) {
      const p = parseRef(ref);
      if (!p || !roles.includes(p.role)) continue;
      const spec = s.inputs[role]?.columns[p.column];
      if (spec?.type === 'category') columns.set(p.column, spec.values);
    }
  }
  const groupBy = [...columns.keys()].sort().map((column) => ({ column, values: [...(columns.get(column) ?? [])] }));
  return { column: unit.on[role], maxGroups: unit.maxGroups, maxRowsPerGroup: unit.maxRowsPerGroup, groupBy };
}

/**
 * The most rows one unit contributes to `role` after bounding: 1 without a privacy unit (the row is the unit)
 * and for an aligned role (one row per key), else maxRowsPerGroup · min(maxGroups, cells), cells = Π (|values|+1)
 * over the partition (the +1: a value outside the list is a cell too). A role without any `by` column is one
 * cell: maxRowsPerGroup.
 */
export function unitRowBound(s: Scenario, role: string): number {
  const b = unitBounding(s, role);
  if (!b) return 1;
  const cells = b.groupBy.reduce((n, c) => n * (c.values.length + 1), 1);
  return b.maxRowsPerGroup * Math.min(b.maxGroups, cells);
}

/**
 * Cuts each unit's rows to the bounds, keeping the first rows in input order (see the file comment). Returns the
 * kept rows in their input order and how many were dropped (only that total leaves the provider, never a count
 * per unit). Row values are read as strings, so a number id 42 and "42" are one unit.
 */
export function boundContributions(rows: readonly Row[], b: UnitBounding): { kept: Row[]; dropped: number } {
  if (!Number.isSafeInteger(b.maxGroups) || b.maxGroups < 1 || !Number.isSafeInteger(b.maxRowsPerGroup) || b.maxRowsPerGroup < 1)
    throw new RangeError('boundContributions: maxGroups and maxRowsPerGroup must be whole numbers >= 1');
  /** per unit: cell → rows kept in it */
  const seen = new Map<string, Map<string, number>>();
  const kept: Row[] = [];
  let dropped = 0;
  for (const [i, row] of rows.entries()) {
    const id = row[b.column];
    // never echo the value: it is a provider's plaintext
    if (id === undefined || id === null) throw new RangeError(`boundContributions: row ${i} has no unit column ${b.column}`);
    const unit = String(id);
    const cell = b.groupBy.map((c) => c.values.indexOf(String(row[c.column]))).join(',');
    let cells = seen.get(unit);
    if (!cells) seen.set(unit, (cells = new Map()));
    const n = cells.get(cell);
    if (n === undefined ? cells.size >= b.maxGroups : n >= b.maxRowsPerGroup) {
      dropped++;
      continue;
    }
    cells.set(cell, (n ?? 0) + 1);
    kept.push(row);
  }
  return { kept, dropped };
}

/** Whether two boundings are the same cut (field by field: a plan stored as JSON may come back with its keys reordered). */
export function sameBounding(a: UnitBounding | null | undefined, b: UnitBounding | null | undefined): boolean {
  if (!a || !b) return !a && !b;
  return (
    a.column === b.column &&
    a.maxGroups === b.maxGroups &&
    a.maxRowsPerGroup === b.maxRowsPerGroup &&
    Array.isArray(a.groupBy) &&
    Array.isArray(b.groupBy) &&
    a.groupBy.length === b.groupBy.length &&
    a.groupBy.every(
      (c, i) =>
        c.column === b.groupBy[i].column &&
        Array.isArray(c.values) &&
        c.values.length === b.groupBy[i].values.length &&
        c.values.every((v, j) => v === b.groupBy[i].values[j]),
    )
  );
}
