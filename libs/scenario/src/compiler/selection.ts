/**
 * Small-group suppression: which groups of a `minGroupSize` condition the broker releases.
 *
 * Without noise (`release.noise` absent) the rule is exact: a group is cut when its combined count of
 * contributing rows is below `minGroupSize`. That is a k-anonymity style control, not a differential
 * privacy claim: one row more or less flips a group at exactly k rows, and the list of cut groups is
 * published (result meta, ledger).
 *
 * Under noise the decision is noisy-threshold partition selection with pre-thresholding, as Google's
 * differential-privacy library does it (cc/algorithms/partition-selection.h, `LaplacePartitionSelection`:
 * keep a partition iff count + Laplace(Δ/ε) exceeds 1 − (Δ/ε)·ln(2δ); common_docs/pre_thresholding.md: with a
 * pre-threshold k, partitions under k are never kept and the rule applies to count − (k − 1)). Here:
 *
 *   released(g)  iff  n_g >= k  and  n_g + Z_g >= τ,   τ = k + t,  Z_g ~ discrete Laplace of scale b = Δ/ε_sel,
 *
 * t the smallest integer >= 1 with P(Z >= t) <= δ_sel (for the discrete Laplace P(Z >= t) = q^t/(1+q),
 * q = e^(−1/b), so t = ⌈b·ln(1/(δ(1+q)))⌉ ≈ b·ln(1/(2δ)), Google's continuous threshold shifted by k − 1).
 * Z is drawn exactly and untruncated by the Canonne–Kamath–Steinke sampler (sampler.ts).
 *
 * Privacy (one condition): one row changes one group's combined count by at most Δ (below), so the
 * noisy comparison n + Z >= τ is ε_sel-DP for every group that stays at or above k; the only other
 * neighbours are k − 1 (never released) against k (released with probability P(Z >= t) <= δ_sel). The
 * released/suppressed pattern is therefore (ε_sel, δ_sel)-DP, and a group under k rows is never released
 * (the provider's `minGroupSize` holds without exception). Conditions with the same counts (every metric of
 * one grouping and where) share one decision and one charge (`selectionCharge`).
 *
 * Sensitivity Δ: `combine: 'sum'` (stacked rows of one or several roles): a row is in one role and one group,
 * Δ = 1. `combine: 'min'` (aligned rows, the broker's upper bound Σ_terms min_parts): a row (or an aligned key's
 * rows in every role) moves each term's min by at most 1, and a role may be named in every term, so
 * Δ = number of terms.
 */
import type { Condition } from './plan-types.js';
import { type RandomSource, discreteLaplace, rationalOf } from './sampler.js';

/** δ of one noisy selection (the probability that a group of exactly `minGroupSize` rows is released). */
export const SELECTION_DELTA = 1e-9;

/** A condition's noisy selection, as the compiler writes it into the plan (`Condition.selection`). */
export interface Selection {
  /** ε charged for this selection (once per distinct set of counts, see `selectionCharge`) */
  epsilon: number;
  delta: number;
  /** Δ: how much one row moves a group's combined count */
  sensitivity: number;
  /** discrete Laplace scale b = Δ/ε (in rows) */
  scale: number;
  /** τ: released iff count >= minGroupSize and count + Z >= τ */
  threshold: number;
}

/** Smallest integer t >= 1 with P(Z >= t) = q^t/(1+q) <= delta, Z discrete Laplace of scale b. */
export function selectionOffset(scale: number, delta: number): number {
  if (!(scale > 0) || !Number.isFinite(scale)) throw new RangeError('selection scale must be finite and > 0');
  if (!(delta > 0 && delta < 0.5)) throw new RangeError('selection delta must be in (0, 0.5)');
  const q = Math.exp(-1 / scale);
  let t = Math.max(1, Math.ceil(scale * Math.log(1 / (delta * (1 + q)))));
  // guard the floating-point estimate both ways (tail(t) is decreasing in t)
  const tail = (n: number): number => Math.exp(-n / scale) / (1 + q);
  while (tail(t) > delta) t++;
  while (t > 1 && tail(t - 1) <= delta) t--;
  return t;
}

/**
 * How much one privacy unit (`release.privacyUnit`) moves a condition's counts: `l1` rows over all its groups
 * together (Σ over the condition's roles of maxRowsPerGroup·min(maxGroups, cells), privacy-unit.ts
 * `unitRowBound`) and `linf` rows in any one group (maxRowsPerGroup per role).
 */
export interface UnitContribution {
  l1: number;
  linf: number;
}

/**
 * The selection of a `minGroupSize` condition at ε per selection and δ (compile.ts `chargeSelections`, under `release.noise`).
 *
 * With a privacy unit (stacked rows, `combine: 'sum'`), a unit moves up to L0 groups' counts by up to L∞ rows
 * each: the scale is L1/ε (L1 = `unit.l1`, the vector of noisy comparisons is then ε-DP, as the metrics' noise
 * is), and τ = k + (L∞ − 1) + t, so that a group the pre-threshold lets through in one neighbour only (count
 * at most k − 1 + L∞) is released with probability at most δ; with up to L0 such groups the pattern is
 * (ε, L0·δ)-DP per unit (Wilson et al. 2020 bound contributions the same way before partition selection).
 */
export function selectionFor(
  c: Pick<Condition, 'minGroupSize' | 'combine' | 'terms'>,
  epsilon: number,
  delta = SELECTION_DELTA,
  unit?: UnitContribution,
): Selection {
  if (!(epsilon > 0) || !Number.isFinite(epsilon)) throw new RangeError('selection epsilon must be finite and > 0');
  const byUnit = c.combine === 'sum' && unit !== undefined;
  if (byUnit && !(Number.isSafeInteger(unit.l1) && Number.isSafeInteger(unit.linf) && unit.linf >= 1 && unit.l1 >= unit.linf))
    throw new RangeError('selection unit bounds must be whole numbers with l1 >= linf >= 1');
  const sensitivity = byUnit ? unit.l1 : c.combine === 'sum' ? 1 : (c.terms?.length ?? 1);
  const scale = sensitivity / epsilon;
  const gate = byUnit ? unit.linf - 1 : 0;
  return { epsilon, delta, sensitivity, scale, threshold: c.minGroupSize + gate + selectionOffset(scale, delta) };
}

/** Conditions deciding on the same counts share one noisy decision (and one ε). */
export function selectionKey(c: Condition): string {
  return JSON.stringify([c.minGroupSize, c.groups, c.combine, c.terms ?? null, c.parts]);
}

/** Total (ε, δ) of a plan's noisy selections: each distinct set of counts once. */
export function selectionCharge(conditions: readonly Condition[]): { epsilon: number; delta: number } {
  const seen = new Map<string, { epsilon: number; delta: number }>();
  for (const c of conditions) if (c.selection) seen.set(selectionKey(c), c.selection);
  let epsilon = 0;
  let delta = 0;
  for (const s of seen.values()) {
    epsilon += s.epsilon;
    delta += s.delta;
  }
  return { epsilon, delta };
}

/** Per group of a condition, its combined count from the providers' reported counts (sum, or the min bound). */
export function combinedCounts(c: Condition, counts: Record<string, Record<string, number[]>>): number[] {
  const out: number[] = [];
  for (let g = 0; g < c.groups; g++) {
    const per = c.parts.map((p) => {
      const arr = counts[p.role]?.[p.count];
      if (!arr) throw new Error(`group counts of role ${p.role} (${p.count}) are missing`);
      const v = arr[p.groupMap[g]];
      if (!Number.isInteger(v) || v < 0) throw new Error(`group counts of role ${p.role} (${p.count}) are malformed`);
      return v;
    });
    // aligned rows: the joint count is at most the min over each product's factors (README, release controls)
    const terms = c.terms ?? [per.map((_, i) => i)];
    out.push(c.combine === 'sum' ? per.reduce((a, b) => a + b, 0) : terms.reduce((n, t) => n + Math.min(...t.map((i) => per[i])), 0));
  }
  return out;
}

/** Exact rule: groups whose combined count is below `minGroupSize` (not a DP claim). */
export function exactSuppressed(minGroupSize: number, combined: readonly number[]): number[] {
  return combined.flatMap((n, g) => (n < minGroupSize ? [g] : []));
}

/**
 * Noisy rule (module comment): suppressed groups of one selection, one exact discrete Laplace draw per group
 * from `random` (the circuit's CSPRNG; `seededRandom` in tests).
 */
export function noisySuppressed(
  minGroupSize: number,
  s: Pick<Selection, 'scale' | 'threshold'>,
  combined: readonly number[],
  random: RandomSource,
): number[] {
  const scale = rationalOf(s.scale);
  const out: number[] = [];
  combined.forEach((n, g) => {
    // a draw for every group, suppressed or not: the number of draws never depends on the counts
    const z = Number(discreteLaplace(random, scale));
    if (n < minGroupSize || n + z < s.threshold) out.push(g);
  });
  return out;
}
