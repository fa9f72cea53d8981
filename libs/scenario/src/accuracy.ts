/**
 * Checks a decrypted result against the plaintext reference with the accuracy table of
 * docs/scenario-format.md ("Accuracy (without noise)"), and metrics released with Laplace noise
 * against a bound derived from the noise scale.
 *
 * Tolerances (d = |actual − expected|):
 * - `count`, `histogram`: exact (d = 0);
 * - `sum`, `mean`, `sumProduct`, `weightedSum`: d ≤ 1e-6 · max(1, |expected|): relative 1e-6,
 *   absolute 1e-6 near zero;
 * - `difference`: d ≤ 1e-6 · max(1, |A|, |B|), A and B the operands' reference values for the
 *   same group ("within 1e-6 of the larger operand"); when an operand's value is not in
 *   `expected` (pass internal metrics too, see `evaluateReference` on `withInternalMetrics`),
 *   |expected| stands in for it, which is stricter;
 * - `variance`, `stddev`, `correlation`, `ratio`, `dot`: d ≤ 1e-4 · max(1, |expected|);
 * - a suppressed group (or any null) must be null on both sides.
 *
 * Laplace noise (`release.noise`): a metric listed in `opts.noise` with scale b = sensitivity/ε
 * (in the metric's own units) is accepted when d ≤ 40·b (+ 0.5 when the value is rounded to a
 * whole count). For one Laplace draw P(|X| > 40·b) = e^-40 ≈ 4e-18, so a correct result fails
 * this check with negligible probability, while a value off by much more than its noise (a wrong
 * group, a lost row block scaled by the factor, noise at the wrong scale) still fails.
 * A mean decoded as noisy sum / noisy count (scales b₁, b₂) with true sum S and count C is off by
 * at most (E₁ + |S/C|·E₂) / (C − E₂), E₁ = 40·b₁, E₂ = 40·b₂ + 0.5 (the count is rounded); it needs
 * C, read from `expected[name + GROUP_SIZE_SUFFIX]` (see `withInternalMetrics`). When C ≤ E₂ the
 * noisy count may round to 0 or below, so there is no bound: any value, or null, is accepted.
 *
 * Small-group suppression under noise (compiler/selection.ts): the broker releases a group iff its count n is at
 * least minGroupSize and n + Z >= τ, Z discrete Laplace of scale b, while the reference applies the exact rule
 * n >= minGroupSize. With `opts.selection`, a group null on one side and a value on the other is accepted when one
 * of the counts its suppression depends on (`ReferenceMeta.groupRows`) is within 40 scales of a threshold of the
 * plan, |n − τ| <= 40·b (`selectionBands`): further from every threshold, the noisy decision agrees with
 * "n >= τ" except with probability e^-40, so a wrongly cut or wrongly released group still fails.
 * A ratio of two noisy operands gets the same quotient bound, C being the denominator operand's reference
 * value (`expected[of[1]]`, an internal metric included by `withInternalMetrics`).
 * Suppression decided on a noisy joint count (aligned roles under noise, `noisyNullMetrics`): a group null on
 * one side only is accepted for the metrics listed in `opts.noisyNulls` (the SDK nulls a group whose noisy
 * joint count is under minGroupSize, the reference one whose exact count is); a value on both sides is
 * still held to its noise bound.
 */
import type { Agg, Metric, MetricValue, Scenario } from './types.js';
import type { Plan, Read } from './compiler/plan-types.js';
import { decodingReads } from './compiler/reads.js';

export interface AccuracyProblem {
  metric: string;
  /** group key (`"a|b"`), histogram bin (`"[3]"`, `"shinan[3]"`) or aligned key; absent when ungrouped */
  group?: string;
  expected: unknown;
  actual: unknown;
  message: string;
}

export interface AccuracyReport {
  ok: boolean;
  /** max over every compared number of |actual − expected| / max(1, |expected|) (noisy metrics included) */
  largestError: number;
  problems: AccuracyProblem[];
}

/** Laplace scales of a mean decoded as a quotient of a noisy sum and a noisy count. */
export interface QuotientNoise {
  num: number;
  den: number;
}

export interface CompareOptions {
  /** Laplace scale b = sensitivity/ε per noisy metric, in the metric's units (see `laplaceScales`). */
  noise?: Record<string, number | QuotientNoise>;
  /** Noisy small-group suppression: the plan's thresholds (`selectionBands`) and the reference's `meta.groupRows`. */
  selection?: { bands: SelectionBand[]; groupRows: Record<string, Record<string, number[]>> };
  /** metrics whose groups are nulled by a noisy joint count (see `noisyNullMetrics`): a one-sided null is accepted */
  noisyNulls?: string[];
}

/** A noisy selection's threshold τ and discrete Laplace scale b (rows). */
export interface SelectionBand {
  threshold: number;
  scale: number;
}

/** The thresholds of a plan's noisy small-group selections (compiler/selection.ts); empty without noise. */
export function selectionBands(plan: Plan): SelectionBand[] {
  const seen = new Map<string, SelectionBand>();
  for (const c of plan.conditions)
    if (c.selection)
      seen.set(`${c.selection.threshold}/${c.selection.scale}`, { threshold: c.selection.threshold, scale: c.selection.scale });
  return [...seen.values()];
}

/** The reference group a leaf label belongs to: `"a|b"`, `"a|b[3]"` → `"a|b"`; `""`, `"[3]"` → `"*"`. */
function groupOfLabel(label: string): string {
  const g = label.replace(/\[\d+\]$/, '');
  return g === '' ? '*' : g;
}

/** Name suffix of the group-size (contributing rows) metric `withInternalMetrics` adds per mean. */
export const GROUP_SIZE_SUFFIX = '#rows';

/** How many Laplace scales an error may reach: P(|Laplace(b)| > 40·b) = e^-40. */
export const NOISE_SCALES_ACCEPTED = 40;

const EXACT = new Set<Agg>(['count', 'histogram']);
const TIGHT = new Set<Agg>(['sum', 'mean', 'sumProduct', 'weightedSum']);
const LOOSE = new Set<Agg>(['variance', 'stddev', 'correlation', 'ratio', 'dot']);

type Leaf = number | null;

/** Flattens a metric value into (group label, leaf) pairs; null for a shape it cannot read. */
function leaves(v: unknown): Map<string, Leaf> | null {
  const out = new Map<string, Leaf>();
  const arr = (prefix: string, a: unknown[]): boolean => {
    for (const [i, x] of a.entries()) {
      if (x !== null && typeof x !== 'number') return false;
      out.set(`${prefix}[${i}]`, x);
    }
    return true;
  };
  if (v === null || typeof v === 'number') {
    out.set('', v);
    return out;
  }
  if (Array.isArray(v)) return arr('', v) ? out : null;
  if (typeof v !== 'object') return null;
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (x === null || typeof x === 'number') out.set(k, x);
    else if (Array.isArray(x)) {
      // a grouped histogram's suppressed group: null stands for the whole array
      if (!arr(k, x)) return null;
    } else return null;
  }
  return out;
}

/** A histogram group suppressed as a whole reads `null` where the other side has bins; compare it bin-wise as nulls. */
function expandNullGroups(a: Map<string, Leaf>, b: Map<string, Leaf>): void {
  for (const [k, x] of [...a]) {
    if (x !== null || k.endsWith(']')) continue;
    const bins = [...b.keys()].filter((bk) => bk.startsWith(`${k}[`) && /^\[\d+\]$/.test(bk.slice(k.length)));
    if (bins.length === 0) continue;
    a.delete(k);
    for (const bk of bins) a.set(bk, null);
  }
}

function checkNumber(fn: string, what: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
    throw new RangeError(`${fn}: ${what} must be a finite number >= 0, got ${String(v)}`);
  return v;
}

function operandLeaf(expected: Record<string, MetricValue>, name: string, group: string): number | null {
  if (!Object.hasOwn(expected, name)) return null;
  const l = leaves(expected[name]);
  const x = l?.get(group);
  return typeof x === 'number' ? x : null;
}

/**
 * Tolerance of a mean = (S + e₁) / round(C + e₂) with |e₁| ≤ E₁, |e₂| ≤ E₂: Infinity when there is
 * no bound (C unknown, or C ≤ E₂ so the noisy count may reach 0), which accepts anything.
 */
function quotientTolerance(b: QuotientNoise, mean: number | null, count: number | null): number {
  const e1 = NOISE_SCALES_ACCEPTED * b.num;
  const e2 = NOISE_SCALES_ACCEPTED * b.den + 0.5;
  if (count === null || count <= e2) return Infinity;
  return (e1 + Math.abs(mean ?? 0) * e2) / (count - e2);
}

/**
 * Compares the released metrics of `actual` (a result document's `metrics`) with `expected`
 * (the reference's `metrics`; it may also hold internal metrics, used as difference operands).
 * Every released metric of the scenario must be present in `actual`, with the same groups, and
 * nothing else may be: an internal (`release: false`) metric in a result is a problem too.
 */
export function compareResult(
  scenario: Scenario,
  actual: Record<string, MetricValue>,
  expected: Record<string, MetricValue>,
  opts: CompareOptions = {},
): AccuracyReport {
  const fn = 'compareResult';
  if (!scenario || !Array.isArray(scenario.metrics)) throw new TypeError(`${fn}: scenario must be a validated scenario document`);
  if (!actual || typeof actual !== 'object') throw new TypeError(`${fn}: actual must be an object of metric values`);
  if (!expected || typeof expected !== 'object') throw new TypeError(`${fn}: expected must be an object of metric values`);
  const noise = opts.noise ?? {};
  const noisyNulls = new Set(opts.noisyNulls ?? []);
  for (const [name, b] of Object.entries(noise)) {
    if (typeof b === 'number') checkNumber(fn, `noise scale of ${name}`, b);
    else if (b && typeof b === 'object') {
      checkNumber(fn, `noise scale of ${name}.num`, b.num);
      checkNumber(fn, `noise scale of ${name}.den`, b.den);
    } else throw new RangeError(`${fn}: noise scale of ${name} must be a number or {num, den}`);
  }
  for (const [i, b] of (opts.selection?.bands ?? []).entries()) {
    checkNumber(fn, `selection band ${i} threshold`, b.threshold);
    checkNumber(fn, `selection band ${i} scale`, b.scale);
  }

  const problems: AccuracyProblem[] = [];
  let largestError = 0;
  const released = scenario.metrics.filter((m) => m.release !== false);
  const byName = new Map<string, Metric>(scenario.metrics.map((m) => [m.name, m]));

  for (const name of Object.keys(actual)) {
    const m = byName.get(name);
    if (!m) problems.push({ metric: name, expected: undefined, actual: actual[name], message: 'not a metric of the scenario' });
    else if (m.release === false)
      problems.push({
        metric: name,
        expected: undefined,
        actual: actual[name],
        message: 'internal metric (release: false) appears in the result',
      });
  }

  for (const m of released) {
    if (!Object.hasOwn(expected, m.name)) throw new RangeError(`${fn}: expected has no value for released metric ${m.name}`);
    if (!Object.hasOwn(actual, m.name)) {
      problems.push({ metric: m.name, expected: expected[m.name], actual: undefined, message: 'missing from the result' });
      continue;
    }
    const want = leaves(expected[m.name]);
    const got = leaves(actual[m.name]);
    if (!want) throw new RangeError(`${fn}: expected value of ${m.name} has an unreadable shape`);
    if (!got) {
      problems.push({ metric: m.name, expected: expected[m.name], actual: actual[m.name], message: 'unreadable value shape' });
      continue;
    }
    expandNullGroups(want, got);
    expandNullGroups(got, want);
    const b = Object.hasOwn(noise, m.name) ? noise[m.name] : undefined;
    if (b === undefined && scenario.release?.noise) {
      problems.push({
        metric: m.name,
        expected: expected[m.name],
        actual: actual[m.name],
        message: 'the scenario adds noise but no noise scale was given for this metric',
      });
      continue;
    }
    for (const group of new Set([...want.keys(), ...got.keys()])) {
      const w = want.get(group);
      const g = got.get(group);
      const at = group === '' ? {} : { group };
      if (w === undefined || g === undefined) {
        problems.push({
          metric: m.name,
          ...at,
          expected: w,
          actual: g,
          message: w === undefined ? 'group not in the reference' : 'group missing from the result',
        });
        continue;
      }
      const q =
        b !== undefined && typeof b !== 'number'
          ? quotientTolerance(
              b,
              w,
              operandLeaf(expected, m.agg === 'ratio' ? (m as { of: [string, string] }).of[1] : m.name + GROUP_SIZE_SUFFIX, group),
            )
          : undefined;
      // a mean's noisy count near 0: any value or null (see above)
      if (q === Infinity && w !== null) continue;
      if (w === null || g === null) {
        const near = (n: number): boolean =>
          (opts.selection?.bands ?? []).some((b) => Math.abs(n - b.threshold) <= NOISE_SCALES_ACCEPTED * b.scale);
        // noisy suppression near its threshold may differ from the exact rule (module comment)
        if (w !== g && (opts.selection?.groupRows[m.name]?.[groupOfLabel(group)] ?? []).some(near)) continue;
        if (w !== g && !noisyNulls.has(m.name))
          problems.push({
            metric: m.name,
            ...at,
            expected: w,
            actual: g,
            message: w === null ? 'expected null (suppressed or undefined), got a value' : 'expected a value, got null',
          });
        continue;
      }
      if (!Number.isFinite(g)) {
        problems.push({ metric: m.name, ...at, expected: w, actual: g, message: 'not a finite number' });
        continue;
      }
      const d = Math.abs(g - w);
      largestError = Math.max(largestError, d / Math.max(1, Math.abs(w)));
      let tol: number;
      let rule: string;
      if (q !== undefined) {
        tol = q;
        rule = `the Laplace bound of a noisy quotient (b = ${JSON.stringify(b)})`;
      } else if (typeof b === 'number') {
        tol = NOISE_SCALES_ACCEPTED * b + (EXACT.has(m.agg) ? 0.5 : 0);
        rule = `Laplace noise bound ${NOISE_SCALES_ACCEPTED}·b (b = ${b})`;
      } else if (EXACT.has(m.agg)) {
        tol = 0;
        rule = 'exact';
      } else if (TIGHT.has(m.agg)) {
        tol = 1e-6 * Math.max(1, Math.abs(w));
        rule = 'relative 1e-6';
      } else if (m.agg === 'difference') {
        const [a, c] = (m as { of: [string, string] }).of;
        const opA = operandLeaf(expected, a, group) ?? Math.abs(w);
        const opB = operandLeaf(expected, c, group) ?? Math.abs(w);
        tol = 1e-6 * Math.max(1, Math.abs(opA), Math.abs(opB));
        rule = '1e-6 of the larger operand';
      } else if (LOOSE.has(m.agg)) {
        tol = 1e-4 * Math.max(1, Math.abs(w));
        rule = 'relative 1e-4';
      } else {
        throw new RangeError(`${fn}: no accuracy rule for agg ${m.agg}`);
      }
      if (!(d <= tol))
        problems.push({
          metric: m.name,
          ...at,
          expected: w,
          actual: g,
          message: `error ${d.toPrecision(3)} exceeds ${rule} (tolerance ${tol.toPrecision(3)})`,
        });
    }
  }
  return { ok: problems.length === 0, largestError, problems };
}

/**
 * The reference must also evaluate internal metrics (difference operands); this copy of the
 * document releases every metric, which changes no value (`release` only selects outputs).
 */
export function withInternalMetrics(scenario: Scenario): Scenario {
  const metrics = scenario.metrics.map((m) => ({ ...m, release: true })) as Metric[];
  for (const m of scenario.metrics) {
    if (m.agg !== 'mean') continue;
    // the contributing rows of each group: the denominator of the mean
    const refs = Array.isArray(m.of) ? m.of : [m.of];
    const roles = refs.map((r) => r.slice(0, r.indexOf('.')));
    metrics.push({
      name: m.name + GROUP_SIZE_SUFFIX,
      agg: 'count',
      role: roles.length === 1 ? roles[0]! : roles,
      ...(m.where ? { where: m.where } : {}),
      ...(m.by ? { by: m.by } : {}),
      release: true,
    });
  }
  return { ...scenario, metrics };
}

/**
 * Laplace scale b (in the metric's units) of every released metric the plan adds noise to:
 * a `noise` node's slot scale times the read's factor (compiler/gval.ts `release`: scale = sens/ε/factor).
 * Only plain values and histograms are read straight from one noisy output; noise under a
 * quotient, moments or correlation would need error propagation, which is refused here.
 */
export function laplaceScales(plan: Plan): Record<string, number | QuotientNoise> {
  const nodes = new Map(plan.circuit.nodes.map((n) => [n.id, n]));
  const outputs = new Map(plan.outputs.map((o) => [o.id, o]));
  const scaleOf = (r: Read): number | null => {
    const o = outputs.get(r.output);
    if (!o) throw new RangeError(`laplaceScales: read of unknown output ${r.output}`);
    const n = nodes.get(o.node);
    // the consumer receives the output doubled (release hygiene, circuit.ts): the read's factor halves it back
    return n && n.op === 'noise' ? 2 * n.scale * Math.abs(r.factor) : null;
  };
  const out: Record<string, number | QuotientNoise> = {};
  for (const name of plan.decoding.released) {
    const d = plan.decoding.metrics[name];
    if (!d) throw new RangeError(`laplaceScales: no decoding for released metric ${name}`);
    let scales: (number | null)[];
    switch (d.kind) {
      case 'value':
        scales = [scaleOf(d.read)];
        break;
      case 'histogram':
        scales = d.bins.map(scaleOf);
        break;
      case 'quotient':
        scales = [d.num, d.den].map(scaleOf);
        break;
      case 'moments':
        scales = [d.m1, d.m2, ...(d.count ? [d.count] : [])].map(scaleOf);
        break;
      case 'correlation':
        scales = [d.sa, d.sb, d.saa, d.sbb, d.sab].map(scaleOf);
        break;
      case 'ratio': {
        // a ratio of two noisy plain values: the quotient bound, with the operands' scales
        const ops = [d.a, d.b].map((x) => plan.decoding.metrics[x]);
        scales = ops.map((o) => (o?.kind === 'value' ? scaleOf(o.read) : null));
        if (scales.every((x) => x === null)) continue;
        if (scales.some((x) => x === null))
          throw new RangeError(`laplaceScales: ratio ${name} divides operands that are not both noisy plain values`);
        out[name] = { num: scales[0] as number, den: scales[1] as number };
        continue;
      }
      default:
        scales = [];
    }
    if (scales.every((s) => s === null)) continue;
    if (d.kind === 'quotient') {
      out[name] = { num: scales[0] ?? 0, den: scales[1] ?? 0 };
      continue;
    }
    if (d.kind !== 'value' && d.kind !== 'histogram') {
      throw new RangeError(`laplaceScales: metric ${name} has noise under a ${d.kind} decoding; no error bound is defined for it`);
    }
    if (scales.some((s) => s === null)) throw new RangeError(`laplaceScales: metric ${name} has noise on some reads only`);
    out[name] = Math.max(...(scales as number[]));
  }
  return out;
}

/**
 * Compare options for a result released under `release.noise`: the metrics' Laplace scales and, when the plan
 * suppresses small groups by noisy selection, its thresholds with the reference's `meta.groupRows` (evaluate the
 * reference with `{ groupRows: true }`), and the metrics nulled by a noisy joint count (`noisyNullMetrics`).
 */
export function noisyCompareOptions(plan: Plan, groupRows: Record<string, Record<string, number[]>> | undefined): CompareOptions {
  const bands = selectionBands(plan);
  if (bands.length > 0 && !groupRows)
    throw new RangeError('noisyCompareOptions: the plan selects groups noisily: pass the reference meta.groupRows');
  const noisyNulls = noisyNullMetrics(plan);
  return {
    noise: laplaceScales(plan),
    ...(bands.length > 0 && groupRows ? { selection: { bands, groupRows } } : {}),
    ...(noisyNulls.length > 0 ? { noisyNulls } : {}),
  };
}

/**
 * Released metrics whose groups the consumer's SDK nulls by a noisy joint count (aligned roles under
 * `release.noise`: a condition whose `jointCount` is read from a noise node), directly or through a ratio's
 * operands. Their nulls differ from the reference's (exact counts) near the threshold: see `compareResult`.
 */
export function noisyNullMetrics(plan: Plan): string[] {
  const nodes = new Map(plan.circuit.nodes.map((n) => [n.id, n]));
  const outputs = new Map(plan.outputs.map((o) => [o.id, o]));
  const noisyConds = new Set(
    plan.conditions.filter((c) => c.jointCount && nodes.get(outputs.get(c.jointCount.output)?.node ?? '')?.op === 'noise').map((c) => c.id),
  );
  const touches = (name: string, seen: Set<string>): boolean => {
    if (seen.has(name)) return false;
    seen.add(name);
    const d = plan.decoding.metrics[name];
    if (!d) return false;
    if (d.kind === 'ratio') return [d.a, d.b].some((x) => touches(x, seen)) || (d.emptyDen ?? []).some((c) => noisyConds.has(c));
    return decodingReads(d).some(({ read }) => (outputs.get(read.output)?.conditions ?? []).some((c) => noisyConds.has(c)));
  };
  return plan.decoding.released.filter((name) => touches(name, new Set()));
}
