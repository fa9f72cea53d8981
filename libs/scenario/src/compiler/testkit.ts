/**
 * Test support (not part of the public API): runs a plan end to end through any engine with
 * the `CircuitEngine` operations plus encrypt/decrypt, generates random rows for a scenario,
 * and checks a result against the plaintext reference within docs/scenario-format.md's accuracy table.
 */
import type { Agg, MetricValue, ParamValues, ResultDocument, Row, Scenario } from '../types.js';
import type { CircuitEngine, EvaluationMeta } from './circuit.js';
import { evaluateCircuit } from './circuit.js';
import { seededRandom } from './sampler.js';
import { compilePlan } from './compile.js';
import { decodeResult } from './decode.js';
import { encodeRole } from './encode.js';
import type { CompileContext, Plan } from './plan-types.js';
import { builtinScenario, defaultParams, generateRoleRows } from '../catalog/index.js';
import { evaluateReference } from '../reference/index.js';
import { compareResult, noisyCompareOptions, withInternalMetrics, type AccuracyReport } from '../accuracy.js';

export interface TestEngine<Ct, Pk, Sk> extends CircuitEngine<Ct, Pk> {
  encrypt(pk: Pk, values: Float64Array): Ct;
  decrypt(sk: Sk, ct: Ct): Float64Array;
}

/** Deterministic PRNG (mulberry32) so failures reproduce from the seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random rows for every role; ids of aligned roles overlap (drawn from a shared pool). */
export function randomRows(s: Scenario, rowsPerRole: Record<string, number>, rng: () => number): Record<string, Row[]> {
  const out: Record<string, Row[]> = {};
  for (const [role, input] of Object.entries(s.inputs)) {
    const n = rowsPerRole[role] ?? 50;
    const pool = Array.from({ length: Math.ceil(n * 1.3) }, (_, i) => `k${i}`);
    // shuffle so each role holds a different subset of the pool
    for (let i = pool.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [pool[i], pool[j]] = [pool[j], pool[i]];
    }
    out[role] = Array.from({ length: n }, (_, i) => {
      const row: Row = {};
      for (const [col, spec] of Object.entries(input.columns)) {
        if (spec.type === 'id') row[col] = pool[i];
        else if (spec.type === 'category') row[col] = spec.values[Math.floor(rng() * spec.values.length)];
        else {
          // 10% beyond each bound, to exercise clamping
          const span = spec.max - spec.min;
          const x = spec.min - 0.1 * span + rng() * 1.2 * span;
          row[col] = spec.type === 'integer' ? Math.round(x) : x;
        }
      }
      return row;
    });
  }
  return out;
}

/**
 * Rows with realistic magnitudes: each number is `frac` of its column bound B = max(|min|, |max|)
 * times a factor in [0.5, 1.5) (values far below their bounds, where a normalised encoding loses
 * precision); with `atBound`, every number sits at its max and every category at its first value
 * (one group holds every row: the worst case the plan's gains must fit). Ids as in `randomRows`.
 */
export function scaledRows(
  s: Scenario,
  rowsPerRole: Record<string, number>,
  rng: () => number,
  o: { frac?: number; atBound?: boolean } = {},
): Record<string, Row[]> {
  const out: Record<string, Row[]> = {};
  for (const [role, input] of Object.entries(s.inputs)) {
    const n = rowsPerRole[role] ?? 50;
    const pool = Array.from({ length: Math.ceil(n * 1.05) }, (_, i) => `k${i}`);
    for (let i = pool.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [pool[i], pool[j]] = [pool[j], pool[i]];
    }
    out[role] = Array.from({ length: n }, (_, i) => {
      const row: Row = {};
      for (const [col, spec] of Object.entries(input.columns)) {
        if (spec.type === 'id') row[col] = pool[i];
        // skewed group sizes (shares ~0.5, 0.21, 0.16, 0.13 for four values), as districts differ in size
        else if (spec.type === 'category') row[col] = o.atBound ? spec.values[0] : spec.values[Math.floor(rng() ** 2 * spec.values.length)];
        else if (o.atBound) row[col] = spec.max;
        else {
          const x = (o.frac ?? 0.01) * Math.max(Math.abs(spec.min), Math.abs(spec.max)) * (0.5 + rng());
          row[col] = spec.type === 'integer' ? Math.round(x) : x;
        }
      }
      return row;
    });
  }
  return out;
}

/** Largest normalised error |got − want| / max(1, |want|) over every number of every metric, with its path. */
export function worstError(got: Record<string, MetricValue>, want: Record<string, MetricValue>): { path: string; error: number } {
  let worst = { path: '', error: 0 };
  const walk = (path: string, g: unknown, w: unknown): void => {
    if (typeof w === 'number' && typeof g === 'number') {
      const e = Math.abs(g - w) / Math.max(1, Math.abs(w));
      if (e > worst.error) worst = { path, error: e };
    } else if (w && g && typeof w === 'object' && typeof g === 'object') {
      for (const k of Object.keys(w)) walk(`${path}.${k}`, (g as Record<string, unknown>)[k], (w as Record<string, unknown>)[k]);
    }
  };
  for (const k of Object.keys(want)) walk(k, got[k], want[k]);
  return worst;
}

export interface RunOptions<Pk, Sk> {
  pk: Pk;
  sk: Sk;
  ctx?: CompileContext;
  /** aligned key order when alignment is by intersection */
  keys?: string[];
  privateValues?: Record<string, number | number[]>;
  noiseRng?: () => number;
}

export interface RunOutcome {
  plan: Plan;
  result: ResultDocument;
  ciphertexts: number;
  /** what the consumer decrypted, per output id (before the SDK's decoding) */
  decrypted: Record<string, Float64Array>;
  /** the broker's evaluation metadata */
  meta: EvaluationMeta;
}

/** Compile → encode (each role) → encrypt → evaluate → decrypt → decode. */
export function runPlan<Ct, Pk, Sk>(
  engine: TestEngine<Ct, Pk, Sk>,
  s: Scenario,
  params: ParamValues,
  rows: Record<string, Row[]>,
  o: RunOptions<Pk, Sk>,
): RunOutcome {
  const compiled = compilePlan(s, params, o.ctx ?? {});
  if (!compiled.ok) throw new Error(`compile failed: ${JSON.stringify(compiled.errors)}`);
  const plan = JSON.parse(JSON.stringify(compiled.plan)) as Plan; // the plan travels as JSON
  const inputs: Record<string, Record<string, Ct[]>> = {};
  const groupCounts: Record<string, Record<string, number[]>> = {};
  const meta: Record<string, number> = {};
  const missing: Record<string, number> = {};
  let ciphertexts = 0;
  const toFree: Ct[] = [];
  try {
    for (const role of Object.keys(plan.roles)) {
      const enc = encodeRole(plan, role, rows[role] ?? [], o.keys ? { keys: o.keys } : {});
      inputs[role] = {};
      for (const f of enc.features) {
        inputs[role][f.id] = f.chunks.map((c) => engine.encrypt(o.pk, c));
        toFree.push(...inputs[role][f.id]);
        ciphertexts += f.chunks.length;
      }
      groupCounts[role] = enc.groupCounts;
      meta[role] = enc.rows;
      if (enc.missingKeys) missing[role] = enc.missingKeys;
    }
    const privateParams: Record<string, Ct> = {};
    for (const p of plan.privateInputs) {
      const v = o.privateValues?.[p.param];
      if (v === undefined) throw new Error(`test needs private value ${p.param}`);
      // what the consumer's SDK must check: the multiplier is sized for |value| <= maxAbs
      if (p.maxAbs !== undefined && (Array.isArray(v) ? v : [v]).some((x) => Math.abs(x) > (p.maxAbs as number))) {
        throw new Error(`private value ${p.param} exceeds the plan's bound ${p.maxAbs}`);
      }
      const vec = new Float64Array(plan.slots);
      if (p.layout === 'replicated') vec.fill((p.index === null ? (v as number) : (v as number[])[p.index]) * p.multiplier);
      else
        (p.slots ?? []).forEach((slot, i) => {
          vec[slot] = (v as number[])[i] * p.multiplier;
        });
      privateParams[p.name] = engine.encrypt(o.pk, vec);
      toFree.push(privateParams[p.name]);
    }
    const ev = evaluateCircuit(engine, o.pk, plan, inputs, {
      privateParams,
      groupCounts,
      random: seededRandom(o.noiseRng ? o.noiseRng() : 'testkit'),
    });
    const decrypted: Record<string, Float64Array> = {};
    for (const [id, ct] of Object.entries(ev.outputs)) {
      decrypted[id] = engine.decrypt(o.sk, ct);
      engine.free(ct);
    }
    const result = decodeResult(plan, decrypted, ev.meta, {
      job: 'test',
      version: 1,
      rows: meta,
      ...(Object.keys(missing).length ? { missingKeys: missing } : {}),
    });
    return { plan, result, ciphertexts, decrypted, meta: ev.meta };
  } finally {
    for (const ct of toFree) engine.free(ct);
  }
}

/** Tolerance of docs/scenario-format.md's accuracy table for one value. */
export function withinAccuracy(agg: Agg, got: number, want: number, operandScale = 0): boolean {
  const d = Math.abs(got - want);
  switch (agg) {
    case 'count':
    case 'histogram':
      return got === want;
    case 'sum':
    case 'mean':
    case 'sumProduct':
    case 'weightedSum':
      return d <= 1e-6 * Math.max(1, Math.abs(want));
    case 'difference':
      return d <= 1e-6 * Math.max(1, Math.abs(want), operandScale);
    default:
      return d <= 1e-4 * Math.max(1, Math.abs(want));
  }
}

/** Every mismatch between an HE result and the reference's metrics (empty when they agree). */
export function compareMetrics(
  s: Scenario,
  got: Record<string, MetricValue>,
  want: Record<string, MetricValue>,
  operandScale: Record<string, number> = {},
): string[] {
  const bad: string[] = [];
  const agg = new Map(s.metrics.map((m) => [m.name, m.agg]));
  const cmp = (path: string, a: Agg, g: unknown, w: unknown): void => {
    if (w === null || g === null || w === undefined || g === undefined) {
      if (g !== w) bad.push(`${path}: got ${JSON.stringify(g)}, want ${JSON.stringify(w)}`);
      return;
    }
    if (Array.isArray(w)) {
      if (!Array.isArray(g) || g.length !== w.length) {
        bad.push(`${path}: shape`);
        return;
      }
      w.forEach((x, i) => cmp(`${path}[${i}]`, a, g[i], x));
      return;
    }
    if (typeof w === 'object') {
      if (typeof g !== 'object' || Array.isArray(g)) {
        bad.push(`${path}: shape`);
        return;
      }
      const keys = new Set([...Object.keys(w), ...Object.keys(g)]);
      for (const k of keys) cmp(`${path}.${k}`, a, (g as Record<string, unknown>)[k], (w as Record<string, unknown>)[k]);
      return;
    }
    if (typeof g !== 'number' || typeof w !== 'number' || !withinAccuracy(a, g, w, operandScale[path.split(/[.[]/)[0]] ?? 0)) {
      bad.push(`${path}: got ${JSON.stringify(g)}, want ${JSON.stringify(w)}`);
    }
  };
  for (const name of new Set([...Object.keys(want), ...Object.keys(got)])) {
    const a = agg.get(name);
    if (!a) {
      bad.push(`${name}: unknown metric`);
      continue;
    }
    cmp(name, a, got[name], want[name]);
  }
  return bad;
}

/**
 * The private-weight score of `alignedWide` (realistic.fixture.ts) is a ct × ct product sized for
 * |w| <= PRIVATE_PARAM_BOUND over |z| <= 10^6: its absolute error is a documented limit of the
 * bottom-level headroom (README, "Limits"), ~2e-6 on real CKKS, so it is held to `abs` = 1e-5 absolute
 * (or 1e-6 relative; `rel` is 1e-4 with weights at the bound itself) instead of the table's "absolute
 * 1e-6 near zero". The slot model injects twice the measured CKKS error uniformly on every operation:
 * its factors' errors (±1e-8 each, times the other factor, ÷ the score's gain 2^-6) reach ~1.5e-5, so
 * it passes `abs` = 2e-5.
 */
export function privateScoreWithinLimit(got: Record<string, MetricValue>, want: Record<string, MetricValue>, rel = 1e-6, abs = 1e-5): void {
  const g = got.score as Record<string, number> | undefined;
  const w = want.score as Record<string, number> | undefined;
  if (!w) return;
  if (!g) throw new Error('score is missing');
  for (const [k, v] of Object.entries(w)) {
    const err = Math.abs(g[k] - v);
    if (!(err <= Math.max(abs, rel * Math.abs(v)))) throw new Error(`score.${k}: got ${g[k]}, want ${v}`);
  }
}

/** A built-in scenario with its seeded rows and default parameters, split into public and private. */
export interface CatalogCase {
  s: Scenario;
  rowsPer: Record<string, number>;
  rows: Record<string, Row[]>;
  /** public parameter values (compiled into the plan) */
  pub: ParamValues;
  /** private values (the consumer encrypts them) */
  priv: Record<string, number | number[]>;
  /** the PSI intersection order, when the scenario aligns without consumer keys */
  keys?: string[];
}

export function catalogCase(id: string, rowsPerRole: number, seed: number): CatalogCase {
  const s = builtinScenario(id);
  const rowsPer = Object.fromEntries(Object.keys(s.inputs).map((r) => [r, rowsPerRole]));
  const all = defaultParams(s.id, rowsPer);
  const pub: ParamValues = {};
  const priv: Record<string, number | number[]> = {};
  for (const [k, v] of Object.entries(all)) {
    if (s.params?.[k]?.private) priv[k] = v as number | number[];
    else pub[k] = v;
  }
  const rows: Record<string, Row[]> = {};
  for (const r of Object.keys(s.inputs)) rows[r] = generateRoleRows(s.id, r, { rows: rowsPer[r], seed });
  let keys: string[] | undefined;
  if (s.align && !s.align.keys) {
    const sets = Object.entries(s.align.on).map(([role, col]) => new Set(rows[role].map((r) => String(r[col]))));
    keys = [...sets[0]].filter((k) => sets.every((x) => x.has(k))).sort();
  }
  return { s, rowsPer, rows, pub, priv, ...(keys ? { keys } : {}) };
}

export interface CatalogJudgement {
  /** accuracy.ts `compareResult` against the reference (internal metrics included as operands) */
  report: AccuracyReport;
  /**
   * got and the reference's exact rule; under noise they may differ near the selection's threshold
   * (`noisySuppression`; the report accepts only those differences)
   */
  suppressed: { got: Record<string, string[]>; want: Record<string, string[]> };
  noisySuppression: boolean;
  /** per agg, the largest |got − want| / max(1, |want|) over its released numbers (noisy metrics excluded) */
  worstByAgg: Record<string, { error: number; at: string }>;
}

/** Judges a decoded result of a catalog case against the plaintext reference (docs/scenario-format.md accuracy table). */
export function judgeCatalog(c: CatalogCase, plan: Plan, result: ResultDocument): CatalogJudgement {
  const all = { ...c.pub, ...c.priv };
  const want = evaluateReference(c.s, all, c.rows);
  const wantAll = evaluateReference(withInternalMetrics(c.s), all, c.rows, { groupRows: true });
  const report = compareResult(
    c.s,
    result.metrics,
    wantAll.metrics,
    c.s.release?.noise ? noisyCompareOptions(plan, wantAll.meta.groupRows) : {},
  );
  const worstByAgg: Record<string, { error: number; at: string }> = {};
  if (!c.s.release?.noise) {
    for (const m of c.s.metrics) {
      if (m.release === false) continue;
      const w = worstError({ [m.name]: result.metrics[m.name] }, { [m.name]: want.metrics[m.name] });
      const cur = worstByAgg[m.agg];
      if (!cur || w.error > cur.error) worstByAgg[m.agg] = { error: w.error, at: `${c.s.id}:${w.path || m.name}` };
    }
  }
  const noisySuppression = plan.conditions.some((x) => x.selection !== undefined);
  return { report, suppressed: { got: result.meta.suppressed, want: want.meta.suppressed }, noisySuppression, worstByAgg };
}
