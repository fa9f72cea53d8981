/**
 * Provider-side encoding (runs at the provider, in plaintext): clamps, bounds each privacy unit's
 * rows (privacy-unit.ts), filters, groups and lays out the rows as the plan's features say. The result is what the provider encrypts.
 */
import type { Row } from '../types.js';
import type { FeatureSpec, FeatureValue, Plan, ProviderWork } from './plan-types.js';
import { groupCount, groupIndexOf } from './layout.js';
import { evalWhere } from './where.js';
import { boundContributions } from '../privacy-unit.js';

export interface EncodedRole {
  /** per feature, the plaintext chunks (each `plan.slots` long) to encrypt, in order: one for a TOTALS feature */
  features: { id: string; chunks: Float64Array[] }[];
  /** per count spec, contributing rows per local group (release metadata for the broker) */
  groupCounts: Record<string, number[]>;
  /** rows used (for an aligned role: rows whose key is aligned) */
  rows: number;
  /** aligned keys this role has no row for (they count as zeros) */
  missingKeys: number;
  /** rows skipped because a `by` value is outside its category list */
  skippedRows: number;
  /** rows dropped by the privacy unit's contribution bounds (`ProviderWork.unit`), in total: never a count per unit */
  boundedRows: number;
}

/**
 * Clamped copies of the rows, reading only the plan's columns; with `inPlace` the rows themselves are clamped
 * (a caller that owns them, such as the connector: 10^6 copies cost more in garbage collection than the encoding).
 */
function clampRows(work: ProviderWork, rows: Row[], inPlace: boolean): Row[] {
  return rows.map((row, i) => {
    const out: Row = inPlace ? row : {};
    for (const c of work.columns) {
      const v = row[c];
      if (v === undefined || v === null) throw new Error(`row ${i}: column ${c} is missing`);
      const b = work.bounds[c];
      if (b) {
        const x = typeof v === 'number' ? v : Number(v);
        // never echo the value itself: it is a provider's plaintext
        if (!Number.isFinite(x)) throw new Error(`row ${i}: column ${c} is not a finite number`);
        out[c] = Math.min(b.max, Math.max(b.min, x));
      } else {
        out[c] = typeof v === 'number' ? v : String(v);
      }
    }
    return out;
  });
}

function num(row: Row, column: string): number {
  const v = row[column];
  if (typeof v !== 'number') throw new Error(`column ${column} is not numeric in the plan`);
  return v;
}

function valueOf(v: FeatureValue, row: Row): number {
  switch (v.kind) {
    case 'one':
      return v.scale ?? 1;
    case 'columns':
      return v.factors.reduce((p, f) => p * num(row, f.column) ** f.power, v.scale);
    case 'bin': {
      const x = num(row, v.column);
      return x >= v.lo && (x < v.hi || (v.closed && x === v.hi)) ? (v.scale ?? 1) : 0;
    }
    case 'linear':
      return v.terms.reduce((s, t) => s + t.weight * num(row, t.column), 0) * v.scale;
  }
}

function matchesGroup(f: FeatureSpec, row: Row): boolean {
  return (f.groupIs ?? []).every((c) => String(row[c.column]) === c.value);
}

/**
 * Encodes one role's rows for a plan. `opts.keys` is the aligned key order (the consumer's list,
 * already in `plan.align.keys`, or the PSI intersection order) for an aligned role. `opts.inPlace`: the rows
 * are the caller's to change (their plan columns are clamped in place instead of copied).
 */
export function encodeRole(plan: Plan, role: string, rows: Row[], opts: { keys?: string[]; inPlace?: boolean } = {}): EncodedRole {
  const work = plan.roles[role];
  if (!work) throw new Error(`the plan has no work for role ${JSON.stringify(role)}`);
  if (!Array.isArray(rows)) throw new Error('rows must be an array');
  const slots = plan.slots;
  if (work.maxRows !== undefined && rows.length > work.maxRows) {
    // the gains assume at most maxRows rows: more could push a sum past the slot headroom and wrap
    throw new Error(
      `role ${role} has ${rows.length} rows but the plan was sized for at most ${work.maxRows}: recompile with the current row count`,
    );
  }
  let used = clampRows(work, rows, opts.inPlace === true);
  let boundedRows = 0;
  if (work.unit) {
    if (work.alignOn !== undefined) throw new Error(`role ${role} is aligned: its privacy unit is its aligned key, not a bound`);
    // contribution bounding before anything is encoded or counted: the kept rows are the role's rows from here on
    const b = boundContributions(used, work.unit);
    used = b.kept;
    boundedRows = b.dropped;
  }
  let missingKeys = 0;
  let aligned: (Row | null)[] = [];
  if (work.alignOn !== undefined) {
    const keys = opts.keys ?? plan.align?.keys ?? null;
    if (!keys) throw new Error(`role ${role} is aligned: encodeRole needs opts.keys (the PSI intersection order)`);
    const byKey = new Map<string, Row>();
    // a duplicated id keeps its first row: one slot per aligned key
    for (const r of used) {
      const k = String(r[work.alignOn]);
      if (!byKey.has(k)) byKey.set(k, r);
    }
    aligned = keys.map((k) => byKey.get(k) ?? null);
    missingKeys = aligned.filter((r) => r === null).length;
    used = aligned.filter((r): r is Row => r !== null);
  }

  const groupCounts: Record<string, number[]> = {};
  for (const c of work.counts) {
    const counts = new Array<number>(groupCount(c.grouping)).fill(0);
    for (const r of used) {
      const g = groupIndexOf(c.grouping, r);
      if (g >= 0 && (!c.where || evalWhere(c.where, r))) counts[g]++;
    }
    groupCounts[c.id] = counts;
  }

  // TOTALS features: summed per group here, at the provider, which sees these rows anyway (README, "Layouts");
  // the broker receives one ciphertext per feature whatever the row count. Each row's group index (-1: a value
  // outside its category list) is computed once per grouping, shared by the features that group alike.
  const byGrouping = new Map<string, Int32Array>();
  let skippedRows = 0;
  const groupIndex = (grouping: FeatureSpec['grouping']): Int32Array => {
    const key = JSON.stringify(grouping);
    let idx = byGrouping.get(key);
    if (!idx) {
      idx = new Int32Array(used.length);
      let inGroups = 0;
      for (let i = 0; i < used.length; i++) {
        idx[i] = groupIndexOf(grouping, used[i]);
        if (idx[i] >= 0) inGroups++;
      }
      skippedRows = Math.max(skippedRows, used.length - inGroups);
      byGrouping.set(key, idx);
    }
    return idx;
  };
  const alignedChunks = Math.max(1, Math.ceil(aligned.length / slots));

  const features = work.features.map((f) => {
    if (f.layout === 'totals') {
      const idx = groupIndex(f.grouping);
      const G = groupCount(f.grouping);
      if (G * f.width > slots) throw new Error(`feature ${f.id}: ${G} groups of width ${f.width} do not fit ${slots} slots`);
      const sum = new Float64Array(G);
      const carry = new Float64Array(G);
      const n = new Float64Array(G);
      for (let i = 0; i < used.length; i++) {
        const g = idx[i];
        if (g < 0) continue;
        const r = used[i];
        if (f.where && !evalWhere(f.where, r)) continue;
        n[g]++;
        // Neumaier's compensated sum: a group of 10^6 rows keeps the double's precision, below CKKS's own error
        const v = valueOf(f.value, r);
        const t = sum[g] + v;
        carry[g] += Math.abs(sum[g]) >= Math.abs(v) ? sum[g] - t + v : v - t + sum[g];
        sum[g] = t;
      }
      const chunk = new Float64Array(slots);
      for (let g = 0; g < G; g++) {
        const total = sum[g] + carry[g];
        // a single-role mean divides by the group's contributing rows (0 rows: 0, the broker nulls the group)
        chunk[g * f.width] = f.perGroupMean ? (n[g] > 0 ? total / n[g] : 0) : total;
      }
      return { id: f.id, chunks: [chunk] };
    }
    const chunks = Array.from({ length: alignedChunks }, () => new Float64Array(slots));
    aligned.forEach((r, i) => {
      if (r === null || !matchesGroup(f, r) || (f.where && !evalWhere(f.where, r))) return;
      chunks[Math.floor(i / slots)][i % slots] = valueOf(f.value, r);
    });
    return { id: f.id, chunks };
  });
  return { features, groupCounts, rows: used.length, missingKeys, skippedRows, boundedRows };
}
